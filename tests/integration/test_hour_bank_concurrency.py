"""Several processes log time into the same contract quarter at once.

The subscription's row lock serializes them, so the stored split of every entry is exactly
what logging the same entries one after another gives.
"""

import os
import subprocess
import sys
from decimal import Decimal

import pytest
from django.conf import settings
from django.db import connection

from cso.budget import budget_split
from cso.models import TimeEntry
from cso.services.splits import _as_entry, subscription_budget

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

PROCESSES = 4
ENTRIES_EACH = 20


def _database_url() -> str:
    db = connection.settings_dict
    host, port = db.get("HOST") or "127.0.0.1", db.get("PORT") or 5432
    return f"postgres://{db['USER']}@{host}:{port}/{db['NAME']}"


def test_parallel_writers_get_exactly_the_serial_split(premier, csm, tmp_path):
    start_file = tmp_path / "go"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "DATABASE_URL": _database_url(),
        "PORTAL_VAR_DIR": str(tmp_path),
        "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
    }
    env.pop("REDIS_URL", None)
    processes = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.integration.concurrent_logger",
                str(premier.pk),
                str(csm.pk),
                str(seed),
                str(ENTRIES_EACH),
                str(start_file),
            ],
            cwd=settings.BASE_DIR,
            env=env,
            stderr=subprocess.PIPE,
            text=True,
        )
        for seed in range(PROCESSES)
    ]
    start_file.write_text("go")
    for process in processes:
        assert process.wait(timeout=120) == 0, process.stderr.read()

    # Given every entry as stored, when the budget is applied serially in the documented order,
    # then each entry's stored split is what serial logging gives.
    rows = list(
        TimeEntry.objects.filter(subscription=premier).values(
            "pk",
            "worked_on",
            "logged_at",
            "hours",
            "entitlement_id",
            "expansion_scope_id",
            "adjusts_id",
            "included_hours",
            "overage_hours",
        )
    )
    assert len(rows) == PROCESSES * ENTRIES_EACH
    budget, kinds = subscription_budget(premier)
    serial = {
        split.entry_id: (split.included, split.overage)
        for split in budget_split(budget, [_as_entry(row, kinds) for row in rows])
    }
    stored = {row["pk"]: (row["included_hours"], row["overage_hours"]) for row in rows}
    assert stored == serial
    total = sum((row["hours"] for row in rows), Decimal(0))
    included = sum((row["included_hours"] for row in rows), Decimal(0))
    assert total > premier.quarterly_hours  # the quarter overflowed while they raced
    assert included == premier.quarterly_hours
