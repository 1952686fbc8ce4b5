from pathlib import Path

from django.conf import settings
from django.core.management import BaseCommand, CommandError

from cso.services.catalog import CatalogError, catalog_load


class Command(BaseCommand):
    help = (
        "Load the CSO catalog file (packages, programs, deliverables, entitlements, expansion "
        "packs, severities). Safe to run again: an unchanged file changes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "path", nargs="?", help="Catalog file to load (default: settings.CATALOG_FILE)."
        )

    def handle(self, *args, path=None, verbosity=1, **options):
        path = Path(path or settings.CATALOG_FILE)
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
