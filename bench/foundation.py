"""Foundation benchmarks: catalog loading, contract signing, contract periods, the contract API.

Usage (PostgreSQL, a scratch database that is dropped and recreated):
    .venv/bin/python bench/foundation.py
(DATABASE_URL defaults to postgres://postgres@127.0.0.1:5432/portal_bench)

Prints one table; each row compares two ways or two sizes side by side in the same run.
"""

import os
import statistics
import sys
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/portal_bench")
os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "testserver")
os.environ.setdefault("DJANGO_DEBUG", "false")
os.environ.setdefault("DJANGO_SECURE_SSL_REDIRECT", "false")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402

from accounts.models import LineOfBusiness, Organization, User  # noqa: E402
from cso.quarters import contract_quarters, default_term_end, quarter_containing  # noqa: E402
from cso.services.contracts import SubscriptionSpec, contract_create  # noqa: E402


def timed(function, repeat: int) -> list[float]:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        samples.append(time.perf_counter() - start)
    return samples


def median_ms(samples: list[float]) -> str:
    return f"{statistics.median(samples) * 1000:.2f} ms"


def median_us(samples: list[float]) -> str:
    return f"{statistics.median(samples) * 1_000_000:.1f} µs"


def reset_database() -> None:
    from psycopg import connect

    name = settings.DATABASES["default"]["NAME"]
    with connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    call_command("migrate", verbosity=0)


def sign_contracts(count: int, start_index: int) -> None:
    for index in range(start_index, start_index + count):
        organization = Organization.objects.create(name=f"Bench {index}", slug=f"bench-{index}")
        line = LineOfBusiness.objects.create(organization=organization, name="Retail")
        contract_create(
            organization=organization,
            term_start=date(2026, 1, 1) + timedelta(days=index % 300),
            overage_rate=Decimal("150"),
            subscriptions=[SubscriptionSpec("expert", [line])],
        )


def api_list(client: Client, pages: int) -> tuple[list[float], int]:
    queries = []

    def count(execute, sql, params, many, context):
        queries.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        response = client.get("/api/v1/contracts/")
    assert response.status_code == 200, response.status_code
    samples = timed(lambda: client.get("/api/v1/contracts/"), pages)
    return samples, len(queries)


def main() -> None:
    reset_database()
    rows = []

    first = timed(lambda: call_command("load_catalog", verbosity=0), 1)
    again = timed(lambda: call_command("load_catalog", verbosity=0), 5)
    rows.append(
        ("load_catalog: first load vs unchanged reload", median_ms(first), median_ms(again))
    )

    signing = timed(lambda: sign_contracts(1, start_index=len(rows) * 1000), 1)
    samples = []
    for index in range(50):
        samples += timed(lambda index=index: sign_contracts(1, start_index=10_000 + index), 1)
    rows.append(
        (
            "contract_create (Expert, 36 entitlements): first vs median of 50",
            median_ms(signing),
            median_ms(samples),
        )
    )

    term_start = date(2026, 1, 31)
    term_end = default_term_end(term_start, 24)
    days = [term_start + timedelta(days=n) for n in range(0, 730, 7)]

    def by_scan():
        for day in days:
            next(q for q in contract_quarters(term_start, term_end) if day in q)

    def by_arithmetic():
        for day in days:
            quarter_containing(term_start, term_end, day)

    scan, direct = timed(by_scan, 50), timed(by_arithmetic, 50)
    per_day = len(days)
    rows.append(
        (
            "quarter of a day (2-year term): scan all quarters vs direct",
            median_us([s / per_day for s in scan]),
            median_us([s / per_day for s in direct]),
        )
    )

    csm = User.objects.create_user("bench-csm@example.com", "bench-pass-123", role="csm")
    client = Client()
    client.force_login(csm)
    small, small_queries = api_list(client, 20)
    sign_contracts(500, start_index=20_000)
    large, large_queries = api_list(client, 20)
    rows.append(
        (
            "GET /api/v1/contracts/ (page of 50): 51 vs 551 contracts",
            f"{median_ms(small)}, {small_queries} queries",
            f"{median_ms(large)}, {large_queries} queries",
        )
    )

    width = max(len(row[0]) for row in rows)
    print(f"{'measure'.ljust(width)} | {'A':>24} | {'B':>24}")
    print(f"{'-' * width}-|-{'-' * 24}-|-{'-' * 24}")
    for label, a, b in rows:
        print(f"{label.ljust(width)} | {a:>24} | {b:>24}")


if __name__ == "__main__":
    main()
