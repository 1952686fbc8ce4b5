"""A large, realistic hour bank on PostgreSQL for the hour bank benchmarks.

Usage:
    .venv/bin/python bench/hours_dataset.py            # 2,000 customers, 5,000 subscriptions,
                                                       # 1,000,000 time entries
    .venv/bin/python bench/hours_dataset.py --entries 50000 --customers 100 --subscriptions 250
    .venv/bin/python bench/hours_dataset.py --reuse    # keep the data if it is already there
(DATABASE_URL defaults to postgres://postgres@127.0.0.1:5432/portal_bench; the database is
dropped and rebuilt unless --reuse finds the same sizes there.)

The data stands on AS_OF (2026-11-23), the day the test suite stands on. Customers have one to
three lines of business and assigned CSMs; they signed 24-month contracts starting in 2025 for
packages weighted to the smaller ones, with an overage rate that some changed part-way. Each
subscription's time is logged in quarter hours on working days from its term start up to the day
before AS_OF. A per-customer intensity (with a per-quarter swing) decides how much of the
package's hours is used: most subscriptions stay within them, some run into overage. Some time
goes to the hour allowances of Tables 3 and 4, some to at-additional-cost work, some to approved
expansion scopes; finance has closed the quarters that ended more than a month ago, a few of the
closed quarters' entries are corrected by adjusting entries, and there is approved and
declined T&E.

Customers, contracts and signed terms go through the ORM in bulk (the terms copied as
`subscription_terms_copy` copies them); time entries go in through COPY, each subscription's
split computed first with `cso.budget.budget_split` on the budget `subscription_budget` reads,
so the stored split is exactly what the services would store. A sample of subscriptions is
checked at the end with `subscription_splits_refresh`, which must find nothing to change.
"""

import argparse
import os
import random
import sys
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import _django  # sets Django up
from _hours_entries import (
    AS_OF,
    AS_OF_NOON,
    PROGRAMS,
    SEED,
    entries_load,
    entry_counts,
    plans_build,
    quarter_hours,
)
from django.contrib.auth.hashers import make_password
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django.db.models import Count, Q

from accounts.models import LineOfBusiness, Membership, Organization, User
from cso.models import (
    Contract,
    ExpansionScope,
    ExpansionUse,
    OverageRate,
    Package,
    PackageSubscription,
    Program,
    QuarterClosing,
    SubscriptionEntitlement,
    SubscriptionExpansionPack,
    TimeEntry,
    TravelExpense,
)
from cso.quarters import contract_quarters, default_term_end, quarter_containing
from cso.services.contracts import subscription_signed_fields
from cso.services.splits import subscription_splits_refresh

__all__ = ["AS_OF", "AS_OF_NOON", "SEED", "ensure"]

TERM_MONTHS = 24
CLOSING_LAG = timedelta(days=30)  # finance closes a quarter about a month after it ends
PACKAGE_WEIGHTS = {
    "foundations": 35,
    "fundamentals": 30,
    "premier": 20,
    "expert": 10,
    "strategic": 5,
}
LINES = ["Retail", "Wholesale", "Online", "Care", "Sales", "Billing", "Travel", "Insurance"]
PREFIXES = "Acme Blue Contoso Fabrikam Globex Initech Northwind Umbrella Vandelay Wayne".split()
NOUNS = "Bank Airways Telecom Energy Foods Health Motors Retail Media Logistics".split()
ZONES = ["UTC", "Europe/Berlin", "Europe/London", "America/New_York", "America/Chicago"]
# --- customers, contracts and signed terms (ORM, in bulk) -------------------------------------


def _people(customers: int) -> tuple[list[User], list[User], list[User]]:
    password = make_password("bench-pass-123")
    csms = User.objects.bulk_create(
        User(
            email=f"csm{n:02d}@vendor.example", role=User.Role.CSM, is_staff=True, password=password
        )
        for n in range(max(4, customers // 50))
    )
    finance = User.objects.bulk_create(
        User(
            email=f"finance{n}@vendor.example",
            role=User.Role.FINANCE,
            is_staff=True,
            password=password,
        )
        for n in range(2)
    )
    admins = User.objects.bulk_create(
        (
            User(email=f"admin@customer-{n:05d}.example", password=password)
            for n in range(customers)
        ),
        batch_size=2000,
    )
    return csms, finance, admins


def _customers(rng: random.Random, count: int, csms: list[User], admins: list[User]):
    organizations = Organization.objects.bulk_create(
        (
            Organization(
                name=f"{PREFIXES[n % 10]} {NOUNS[n // 10 % 10]} {n:05d}",
                slug=f"customer-{n:05d}",
                time_zone=rng.choice(ZONES),
            )
            for n in range(count)
        ),
        batch_size=2000,
    )
    assigned = Organization.csms.through
    assigned.objects.bulk_create(
        (
            assigned(organization_id=organization.pk, user_id=csm.pk)
            for organization in organizations
            for csm in rng.sample(csms, 1 if rng.random() < 0.85 else 2)
        ),
        batch_size=5000,
    )
    Membership.objects.bulk_create(
        (
            Membership(user=admin, organization=organization, role=Membership.Role.ADMIN)
            for admin, organization in zip(admins, organizations, strict=True)
        ),
        batch_size=2000,
    )
    lines = LineOfBusiness.objects.bulk_create(
        (
            LineOfBusiness(organization=organization, name=name)
            for organization in organizations
            for name in rng.sample(LINES, rng.choices((1, 2, 3), (35, 40, 25))[0])
        ),
        batch_size=5000,
    )
    return organizations, lines


def _subscription_specs(rng, organizations, lines, count) -> dict[int, list]:
    """Per customer, the (package, lines) it buys; no package twice for one line (Section 1)."""
    by_org: dict[int, list[int]] = {}
    for line in lines:
        by_org.setdefault(line.organization_id, []).append(line.pk)
    owners = [organization.pk for organization in organizations]
    queue = owners[:count] + rng.choices(owners, k=max(0, count - len(owners)))
    codes, weights = list(PACKAGE_WEIGHTS), list(PACKAGE_WEIGHTS.values())
    specs: dict[int, list] = {}
    taken: set[tuple[int, str, int]] = set()
    while queue:
        owner = queue.pop()
        own = by_org[owner]
        for _ in range(30):
            code = rng.choices(codes, weights)[0]
            size = 2 if len(own) > 1 and rng.random() < 0.2 else 1
            chosen = rng.sample(own, size)
            if all((owner, code, line) not in taken for line in chosen):
                taken.update((owner, code, line) for line in chosen)
                specs.setdefault(owner, []).append((code, chosen))
                break
        else:  # this customer has every package it plausibly buys: another one buys it
            queue.append(rng.choice(owners))
    return specs


def _contracts(rng, organizations, specs) -> list[tuple[Contract, list]]:
    """Each customer's packages under one contract, a quarter of them under two."""
    packages = {
        package.code: package
        for package in Package.objects.select_related(
            "catalog_version", "expansion_pack"
        ).prefetch_related("entitlements")
    }
    slugs = {organization.pk: organization.slug for organization in organizations}
    planned = []
    for owner, owned in specs.items():
        groups = [owned]
        if len(owned) > 1 and rng.random() < 0.25:
            cut = rng.randint(1, len(owned) - 1)
            groups = [owned[:cut], owned[cut:]]
        starts = rng.sample(range(365), len(groups))
        for start_day, group in zip(starts, groups, strict=True):
            term_start = date(2025, 1, 1) + timedelta(days=start_day)
            contract = Contract(
                organization_id=owner,
                reference=f"{slugs[owner].upper()}-{term_start:%Y%m%d}",
                term_start=term_start,
                term_end=default_term_end(term_start, TERM_MONTHS),
                currency=rng.choices(("USD", "EUR", "GBP"), (70, 20, 10))[0],
                signed_at=datetime.combine(term_start, datetime.min.time(), UTC)
                - timedelta(days=14),
            )
            planned.append((contract, [(packages[code], chosen) for code, chosen in group]))
    Contract.objects.bulk_create([contract for contract, _ in planned], batch_size=2000)
    return planned


def _rates(rng, planned) -> None:
    rates = []
    for contract, _ in planned:
        rate = Decimal(rng.randrange(120, 260, 5))
        rates.append(
            OverageRate(contract=contract, effective_from=contract.term_start, hourly_rate=rate)
        )
        if rng.random() < 0.12:
            day = contract.term_start + timedelta(
                days=rng.randint(90, (AS_OF - contract.term_start).days - 30)
            )
            rates.append(
                OverageRate(
                    contract=contract,
                    effective_from=day,
                    hourly_rate=(rate * Decimal(rng.uniform(1.03, 1.15))).quantize(Decimal("1")),
                    agreement_reference=f"Amendment {contract.reference}-A1",
                )
            )
    OverageRate.objects.bulk_create(rates, batch_size=5000)


def _subscriptions(planned) -> list[PackageSubscription]:
    """Subscriptions with their signed terms, as `contract_create` and `subscription_terms_copy`."""
    subscriptions, covers = [], []
    for contract, group in planned:
        for package, chosen in group:
            subscriptions.append(
                PackageSubscription(contract=contract, **subscription_signed_fields(package))
            )
            covers.append(chosen)
    PackageSubscription.objects.bulk_create(subscriptions, batch_size=2000)
    through = PackageSubscription.lines_of_business.through
    through.objects.bulk_create(
        (
            through(packagesubscription_id=subscription.pk, lineofbusiness_id=line)
            for subscription, chosen in zip(subscriptions, covers, strict=True)
            for line in chosen
        ),
        batch_size=5000,
    )
    SubscriptionEntitlement.objects.bulk_create(
        (
            SubscriptionEntitlement(
                subscription=subscription,
                deliverable_id=entitlement.deliverable_id,
                kind=entitlement.kind,
                frequency=entitlement.frequency,
                max_per_year=entitlement.max_per_year,
                hours=entitlement.hours,
                within_package_hours=entitlement.within_package_hours,
                note=entitlement.note,
            )
            for subscription in subscriptions
            for entitlement in subscription.package.entitlements.all()
        ),
        batch_size=5000,
    )
    SubscriptionExpansionPack.objects.bulk_create(
        (
            SubscriptionExpansionPack(
                subscription=subscription,
                level=pack.level,
                deployments=pack.deployments,
                hours=pack.hours,
            )
            for subscription in subscriptions
            if (pack := getattr(subscription.package, "expansion_pack", None)) is not None
        ),
        batch_size=5000,
    )
    return subscriptions


def _closings(rng, planned, finance) -> dict[int, date]:
    """Finance closes ended quarters about a month later; one contract in ten lags a quarter."""
    closings, closed_through = [], {}
    for contract, _ in planned:
        ended = [
            quarter
            for quarter in contract_quarters(contract.term_start, contract.term_end)
            if quarter.end + CLOSING_LAG < AS_OF
        ]
        if rng.random() < 0.1:
            ended = ended[:-1]
        for quarter in ended:
            closings.append(
                QuarterClosing(
                    contract=contract,
                    quarter_index=quarter.index,
                    quarter_start=quarter.start,
                    quarter_end=quarter.end,
                    closed_at=datetime.combine(quarter.end, datetime.min.time(), UTC)
                    + timedelta(days=rng.randint(5, 25)),
                    closed_by=rng.choice(finance),
                )
            )
        if ended:
            closed_through[contract.pk] = ended[-1].end
    QuarterClosing.objects.bulk_create(closings, batch_size=5000)
    return closed_through


def _scopes(rng, subscriptions, csms_of, admin_of) -> dict[int, ExpansionScope]:
    """Expansion work a fifth of the subscriptions with a pack scoped; most of it approved."""
    uses = list(ExpansionUse.objects.filter(allowed=True))
    scopes = {}
    for subscription in subscriptions:
        pack = getattr(subscription.package, "expansion_pack", None)
        if pack is None or rng.random() > 0.2:
            continue
        contract = subscription.contract
        proposed = contract.term_start + timedelta(days=rng.randint(10, 300))
        approved = rng.random() < 0.8
        owner = contract.organization_id
        scopes[subscription.pk] = ExpansionScope(
            subscription=subscription,
            title=f"{rng.choice(uses).description[:60]} for {contract.reference}",
            use=rng.choice(uses),
            hours=quarter_hours(rng.uniform(8, min(40, float(pack.hours)))),
            status=ExpansionScope.Status.APPROVED if approved else ExpansionScope.Status.PROPOSED,
            proposed_by_id=csms_of[owner][0],
            proposed_at=datetime.combine(proposed, datetime.min.time(), UTC),
            decided_by_id=admin_of[owner] if approved else None,
            decided_at=datetime.combine(proposed + timedelta(days=3), datetime.min.time(), UTC)
            if approved
            else None,
        )
    ExpansionScope.objects.bulk_create(scopes.values(), batch_size=2000)
    return {key: scope for key, scope in scopes.items() if scope.status == "approved"}


def _travel(rng, subscriptions, lines_of, csms_of, admin_of) -> None:
    """On-site visits: requested before travel, mostly approved by the customer."""
    expenses = []
    statuses = TravelExpense.Status
    for subscription in subscriptions:
        if rng.random() > 0.25:
            continue
        contract = subscription.contract
        owner = contract.organization_id
        for _ in range(rng.randint(1, 5)):
            day = contract.term_start + timedelta(
                days=rng.randint(0, (AS_OF - contract.term_start).days - 1)
            )
            quarter = quarter_containing(contract.term_start, contract.term_end, day)
            status = rng.choices(list(statuses), (15, 75, 10))[0]
            decided = status != statuses.REQUESTED
            expenses.append(
                TravelExpense(
                    subscription=subscription,
                    line_of_business_id=rng.choice(lines_of[subscription.pk]),
                    incurred_on=day,
                    quarter_index=quarter.index,
                    quarter_start=quarter.start,
                    quarter_end=quarter.end,
                    description="On-site operations workshop",
                    amount=Decimal(rng.randrange(40000, 400000)) / 100,
                    status=status,
                    requested_by_id=csms_of[owner][0],
                    requested_at=datetime.combine(day, datetime.min.time(), UTC)
                    - timedelta(days=14),
                    decided_by_id=admin_of[owner] if decided else None,
                    decided_at=datetime.combine(day, datetime.min.time(), UTC) - timedelta(days=10)
                    if decided
                    else None,
                )
            )
    TravelExpense.objects.bulk_create(expenses, batch_size=5000)


def _subscriptions_with(condition: Q, count: int = 5) -> list[int]:
    entries = TimeEntry.objects.filter(condition).order_by("subscription_id")
    return list(entries.values_list("subscription_id", flat=True).distinct()[:count])


def verify(sample: int = 100) -> int:
    """Recompute a sample of subscriptions as the services do; returns the rows that changed.

    The sample is random, plus the busiest subscriptions and some with each kind of work that
    the split treats apart: hours given back, expansion, allowances used up, additional cost.
    """
    rng = random.Random(SEED)
    ids = list(PackageSubscription.objects.values_list("pk", flat=True))
    busiest = list(
        TimeEntry.objects.values_list("subscription_id", flat=True)
        .order_by()
        .annotate(n=Count("id"))
        .order_by("-n")[:5]
    )
    chosen = set(rng.sample(ids, min(sample, len(ids))) + busiest)
    for condition in (
        Q(hours__lt=0),
        Q(expansion_scope__isnull=False),
        Q(limited_by=TimeEntry.Limit.ALLOWANCE),
        Q(limited_by=TimeEntry.Limit.ADDITIONAL_COST),
    ):
        chosen.update(_subscriptions_with(condition))
    changed = 0
    for pk in sorted(chosen):
        with transaction.atomic():
            subscription = PackageSubscription.objects.select_related(
                "contract", "expansion_pack"
            ).get(pk=pk)
            changed += subscription_splits_refresh(subscription)
    return changed


def counts() -> dict[str, int]:
    return {
        "customers": Organization.objects.count(),
        "lines of business": LineOfBusiness.objects.count(),
        "contracts": Contract.objects.count(),
        "overage rates": OverageRate.objects.count(),
        "subscriptions": PackageSubscription.objects.count(),
        "signed entitlements": SubscriptionEntitlement.objects.count(),
        "expansion scopes": ExpansionScope.objects.count(),
        "quarter closings": QuarterClosing.objects.count(),
        "travel expenses": TravelExpense.objects.count(),
        "time entries": TimeEntry.objects.count(),
    }


def present(customers: int, subscriptions: int, entries: int) -> bool:
    """The dataset of these sizes is already in the bench database."""
    if not _django.database_exists():
        return False
    try:
        return (
            Organization.objects.count() == customers
            and PackageSubscription.objects.count() == subscriptions
            and TimeEntry.objects.count() == entries
        )
    except DatabaseError:  # a database of another schema: rebuild it
        return False


def _lines_covered() -> dict[int, list[int]]:
    """Each subscription's lines of business."""
    covered: dict[int, list[int]] = {}
    through = PackageSubscription.lines_of_business.through
    for row in through.objects.values_list("packagesubscription_id", "lineofbusiness_id"):
        covered.setdefault(row[0], []).append(row[1])
    return covered


def build(customers: int, subscriptions: int, entries: int) -> dict[str, float]:
    timings = {}
    started = time.perf_counter()
    _django.database_create(drop=True)
    call_command("migrate", verbosity=0)
    call_command("load_catalog", verbosity=0)
    PROGRAMS.update(Program.objects.values_list("code", "pk"))
    timings["schema and catalog"] = time.perf_counter() - started

    step = time.perf_counter()
    rng = random.Random(SEED)
    csms, finance, admins = _people(customers)
    organizations, lines = _customers(rng, customers, csms, admins)
    csms_of: dict[int, list[int]] = {}
    for organization_id, user_id in Organization.csms.through.objects.values_list(
        "organization_id", "user_id"
    ):
        csms_of.setdefault(organization_id, []).append(user_id)
    admin_of = {
        organization.pk: admin.pk for organization, admin in zip(organizations, admins, strict=True)
    }
    specs = _subscription_specs(rng, organizations, lines, subscriptions)
    with transaction.atomic():
        planned = _contracts(rng, organizations, specs)
        _rates(rng, planned)
        subscribed = _subscriptions(planned)
    lines_of = _lines_covered()
    closed_through = _closings(rng, planned, finance)
    scopes = _scopes(rng, subscribed, csms_of, admin_of)
    _travel(rng, subscribed, lines_of, csms_of, admin_of)
    timings["customers, contracts, terms (ORM)"] = time.perf_counter() - step

    step = time.perf_counter()
    per_subscription, mean_hours = entry_counts(rng, subscribed, entries)
    plans_build(
        rng, subscribed, per_subscription, mean_hours, closed_through, scopes, lines_of, csms_of
    )
    workers = max(1, os.cpu_count() or 1)
    loaded = entries_load(workers)
    timings[f"time entries: split + COPY ({workers} processes)"] = time.perf_counter() - step
    assert loaded == entries, (loaded, entries)

    step = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE)")
    timings["VACUUM ANALYZE"] = time.perf_counter() - step
    timings["total"] = time.perf_counter() - started
    return timings


def ensure(customers: int, subscriptions: int, entries: int, reuse: bool) -> None:
    """Build the dataset unless `reuse` finds it there; prints what it did."""
    if reuse and present(customers, subscriptions, entries):
        print(f"Reusing the hour bank in {_django.database_name()}.")
        return
    timings = build(customers, subscriptions, entries)
    width = max(map(len, timings))
    for label, seconds in timings.items():
        print(f"{label.ljust(width)}  {seconds:8.1f} s")
    step = time.perf_counter()
    changed = verify()
    label = "check: ~120 subscriptions' splits"
    print(f"{label.ljust(width)}  {time.perf_counter() - step:8.1f} s, {changed} rows to change")
    for label, count in counts().items():
        print(f"  {label}: {count:,}")
    if changed:
        sys.exit("The stored split differs from the services' split.")


def arguments(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--subscriptions", type=int, default=5000)
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--reuse", action="store_true", help="keep the data if it is there")
    return parser.parse_args(argv)


if __name__ == "__main__":
    options = arguments()
    ensure(options.customers, options.subscriptions, options.entries, options.reuse)
