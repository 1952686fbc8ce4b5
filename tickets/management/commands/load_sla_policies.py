from pathlib import Path

from django.core.management import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from tickets.policy_parse import PolicyError
from tickets.services.clocks import policy_tickets_recalculate
from tickets.services.policies import policies_load, policy_files


class Command(BaseCommand):
    help = (
        "Load the SLA policy files (default: every file in settings.SLA_POLICY_DIR). Safe to run "
        "again: an unchanged file changes nothing; a changed one recalculates its open tickets "
        "and logs each change."
    )

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="*", help="Policy files to load.")

    def handle(self, *args, paths=(), verbosity=1, **options):
        files = [Path(path) for path in paths] or policy_files()
        now = timezone.now()
        # One transaction: a changed policy and its tickets' new clocks land together, so a
        # failure part way leaves the old version, and running the command again redoes both.
        with transaction.atomic():
            try:
                result = policies_load(paths=files, now=now)
            except PolicyError as error:
                for problem in error.problems:
                    self.stderr.write(f"  {problem}")
                raise CommandError(
                    f"No policy was loaded: fix the {len(error.problems)} problem(s) above."
                ) from error
            recalculated = {
                policy.code: policy_tickets_recalculate(
                    policy=policy, now=now, reason=f"SLA policy {policy.code} v{policy.version}"
                )
                for policy in result.policies
                if policy.code in result.updated
            }
        if verbosity >= 1:
            for code, count in recalculated.items():
                self.stdout.write(f"{code}: recalculated {count} open ticket(s).")
        if verbosity >= 1:
            self.stdout.write(
                f"SLA policies: created {len(result.created)}, updated {len(result.updated)}, "
                f"unchanged {len(result.unchanged)}."
            )
