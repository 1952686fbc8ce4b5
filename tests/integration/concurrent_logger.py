"""Run by the concurrency test in separate processes: log entries into one subscription at once.

Usage: python -m tests.integration.concurrent_logger <subscription id> <csm id> <seed> <count>
<start file>. Waits for the start file so every process begins together.
"""

import os
import random
import sys
import time
from datetime import date, timedelta
from decimal import Decimal


def main() -> None:
    subscription_id, csm_id, seed, count = (int(arg) for arg in sys.argv[1:5])
    start_file = sys.argv[5]
    import django

    django.setup()
    from accounts.models import User
    from cso.models import PackageSubscription, Program
    from cso.services.time_entries import EntryFields, time_entry_log
    from tests.conftest import NOW

    subscription = PackageSubscription.objects.select_related("contract").get(pk=subscription_id)
    csm = User.objects.get(pk=csm_id)
    program = Program.objects.get(code="operational_consulting")
    rng = random.Random(seed)
    while not os.path.exists(start_file):
        time.sleep(0.01)
    for _ in range(count):
        time_entry_log(
            subscription=subscription,
            fields=EntryFields(
                worked_on=date(2026, 10, 1) + timedelta(days=rng.randrange(54)),
                hours=Decimal(rng.randrange(4, 49)) / 4,
                program=program,
                description=f"process {seed}",
            ),
            logged_by=csm,
            now=NOW,
        )


if __name__ == "__main__":
    main()
