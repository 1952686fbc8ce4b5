from pathlib import Path

from django.conf import settings
from django.core.management import BaseCommand, CommandError

from cso.services.catalog import CatalogError, catalog_load, catalog_loaded_before


class Command(BaseCommand):
    help = (
        "Load the CSO catalog file (packages, programs, deliverables, entitlements, expansion "
        "packs, severities). Safe to run again: an unchanged file changes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "path", nargs="?", help="Catalog file to load (default: settings.CATALOG_FILE)."
        )
        parser.add_argument(
            "--if-changed",
            action="store_true",
            help=(
                "Skip the load when this exact file has been loaded before, so edits made in "
                "the admin since then are kept (used by run_portal on every start)."
            ),
        )

    def handle(self, *args, path=None, verbosity=1, if_changed=False, **options):
        path = Path(path or settings.CATALOG_FILE)
        if if_changed and catalog_loaded_before(path=path):
            if verbosity >= 1:
                self.stdout.write(f"Catalog {path} was loaded before; keeping the portal's copy.")
            return
        try:
            result = catalog_load(path=path)
        except CatalogError as error:
            for problem in error.problems:
                self.stderr.write(f"  {problem}")
            raise CommandError(
                f"{path} was not loaded: fix the {len(error.problems)} problem(s) above. "
                "Nothing was changed."
            ) from error
        if verbosity >= 1:
            rows = ", ".join(f"{count} {kind}" for kind, count in result.rows.items())
            self.stdout.write(f"Catalog {result.version} from {path}: {rows}.")
            if result.changed:
                self.stdout.write(
                    self.style.SUCCESS(
                        f"Created {result.created}, updated {result.updated}, "
                        f"removed {result.removed}, unchanged {result.unchanged}."
                    )
                )
            else:
                self.stdout.write("No changes: the portal already has this catalog.")
        if verbosity >= 2:
            for change in result.changes:
                self.stdout.write(f"  {change}")
