"""About 100,000 scheduled deliverables on PostgreSQL for the review reminder benchmark.

Usage:
    .venv/bin/python bench/schedules_dataset.py            # 360 customers, 900 subscriptions
    .venv/bin/python bench/schedules_dataset.py --customers 40 --subscriptions 100
    .venv/bin/python bench/schedules_dataset.py --reuse    # keep the data if it is already there
(DATABASE_URL defaults to postgres://postgres@127.0.0.1:5432/portal_bench_schedules; the
database is dropped and rebuilt unless --reuse finds the same sizes there, fully migrated.)

The data stands on AS_OF (2026-11-23), the day the test suite stands on, right after that day's
reminder sweep: nothing is owed. Customers, contracts and signed terms are those of
`bench/hours_dataset.py` (24-month contracts starting in 2025, packages weighted to the smaller
ones), at a smaller size; each customer has its admin, half of them a member too, and its own
reminder days (most keep 7 and 1; others 14 and 2, 3 and 1, or 10 and 3).

Schedules are computed, not written by `schedule_create` one subscription at a time: each
frequency entitlement's slots come from `cso.schedules.schedule_slots` over the term, as
`schedule_create` computes them, and go in with `bulk_create`. The rows then carry their
history up to AS_OF: past occurrences were mostly delivered (on time, some late), some skipped,
the "up to N" ones often left unused, and some recent ones are still open (overdue). A review's
reminders up to AS_OF are recorded as `OccurrenceReminder` rows, and each scheduled review
holds its next reminder as `occurrence_next_reminder` sets it after AS_OF. A tenth of the
subscriptions also booked work at additional cost. At the end, a sample of subscriptions is
scheduled again by `schedule_create` itself (rolled back): its slots must be the stored ones.
"""

import argparse
import os
import random
import sys
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/portal_bench_schedules")

import _django  # noqa: E402  sets Django up (before the portal's imports)
import hours_dataset  # noqa: E402
from _hours_entries import AS_OF, AS_OF_NOON, SEED  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import DatabaseError, connection, transaction  # noqa: E402
from django.db.migrations.executor import MigrationExecutor  # noqa: E402

from accounts.models import Membership, Organization, User  # noqa: E402
from cso.models import (  # noqa: E402
    EntitlementKind,
    Occurrence,
    OccurrenceReminder,
    PackageSubscription,
    SubscriptionEntitlement,
)
from cso.quarters import year_containing  # noqa: E402
from cso.reminders import reminder_plan  # noqa: E402
from cso.schedules import Slot, schedule_slots  # noqa: E402
from cso.services.schedules import (  # noqa: E402
    occurrence_next_reminder,
    schedule_create,
)

__all__ = ["AS_OF", "AS_OF_NOON", "SEED", "ensure"]

SWEEP_HOUR = clock(6)  # the hour of a customer's day the sweep's reminder goes out, roughly
RECENT = timedelta(days=21)  # CSMs mark deliveries with a lag: recent ones are still open
REMINDER_DAYS = [((7, 1), 65), ((14, 2), 20), ((3, 1), 10), ((10, 3), 5)]
Status = Occurrence.Status


def _contacts(rng: random.Random, organizations: list[Organization]) -> None:
    """Half the customers have a member next to their admin: both get review reminders."""
    members = User.objects.bulk_create(
        (
            User(email=f"member@{organization.slug}.example")
            for organization in organizations
            if rng.random() < 0.5
        ),
        batch_size=2000,
    )
    by_slug = {organization.slug: organization for organization in organizations}
    Membership.objects.bulk_create(
        (
            Membership(
                user=member,
                organization=by_slug[member.email.split("@")[1].removesuffix(".example")],
                role=Membership.Role.MEMBER,
            )
            for member in members
        ),
        batch_size=2000,
    )


def _reminder_days(rng: random.Random, organizations: list[Organization]) -> None:
    choices, weights = zip(*REMINDER_DAYS, strict=True)
    groups: dict[tuple[int, int], list[int]] = {}
    for organization in organizations:
        groups.setdefault(rng.choices(choices, weights)[0], []).append(organization.pk)
    for (first, last), ids in groups.items():
        Organization.objects.filter(pk__in=ids).update(
            review_reminder_days=first, review_reminder_last_days=last
        )


def _history(rng: random.Random, occurrence: Occurrence, csm_id: int) -> date | None:
    """Deliver, skip or leave open an occurrence due before AS_OF; the day its reminders
    stopped (None: they did not)."""
    due = occurrence.due_on
    recent = AS_OF - due < RECENT
    if occurrence.optional:
        odds = (0.60, 0.30) if not recent else (0.35, 0.15)  # delivered, skipped
    else:
        odds = (0.93, 0.04) if not recent else (0.55, 0.02)
    roll = rng.random()
    if roll < odds[0]:
        late = rng.random() < 0.15
        if late and due + timedelta(days=2) < AS_OF:
            delivered = due + timedelta(days=rng.randint(1, min(20, (AS_OF - due).days - 1)))
        else:
            early = min(int(rng.expovariate(1 / 3)), (due - occurrence.period_start).days)
            delivered = due - timedelta(days=early)  # mostly in the last days before due
        occurrence.status, occurrence.delivered_on = Status.DELIVERED, delivered
        occurrence.notes = "Delivered with the customer's team."
        occurrence.updated_by_id = csm_id
        return delivered
    if roll < odds[0] + odds[1]:
        occurrence.status, occurrence.updated_by_id = Status.SKIPPED, csm_id
        occurrence.skip_reason = (
            "Not taken up this period." if occurrence.optional else "Merged with the next one."
        )
        return due - timedelta(days=rng.randint(0, 10))
    return None


def _sent_at(day: date) -> datetime:
    return datetime.combine(day, SWEEP_HOUR, UTC)


def _reminders(
    occurrence: Occurrence, organization: Organization, signed_on: date, stopped: date | None
) -> list[tuple[str, date]]:
    """The reminders the daily sweeps sent for a review: each on its day, from the signing up
    to AS_OF (that day's sweep has run), none from the day it was delivered or skipped."""
    plan = reminder_plan(
        occurrence.due_on,
        organization.review_reminder_days,
        organization.review_reminder_last_days,
    )
    return [
        (kind, day)
        for kind, day in plan
        if signed_on <= day <= AS_OF and (stopped is None or day < stopped)
    ]


def _schedules(rng: random.Random, subscriptions: list[PackageSubscription], csms_of) -> dict:
    """Every subscription's occurrences as they stand on AS_OF, and the reminders they had."""
    entitlements: dict[int, list[SubscriptionEntitlement]] = {}
    for entitlement in SubscriptionEntitlement.objects.filter(
        kind__in=[EntitlementKind.FREQUENCY, EntitlementKind.ADDITIONAL_COST]
    ).select_related("deliverable"):
        entitlements.setdefault(entitlement.subscription_id, []).append(entitlement)
    occurrences, reminders = [], []  # reminders: (occurrence, kind, day)
    for subscription in subscriptions:
        contract = subscription.contract
        organization = contract.organization
        signed_on = organization.today(contract.signed_at)
        csm_id = csms_of[organization.pk][0]
        owned = entitlements.get(subscription.pk, [])
        slots = [
            (entitlement, slot)
            for entitlement in owned
            if entitlement.kind == EntitlementKind.FREQUENCY
            for slot in schedule_slots(
                frequency=entitlement.frequency,
                term_start=contract.term_start,
                term_end=contract.term_end,
                max_per_year=entitlement.max_per_year,
            )
        ]
        booked = [entitlement for entitlement in owned if entitlement.kind != "frequency"]
        if booked and rng.random() < 0.1:  # work at additional cost, as occurrence_book books it
            for entitlement in rng.sample(booked, min(len(booked), rng.randint(1, 2))):
                day = contract.term_start + timedelta(days=rng.randint(30, 700))
                day = min(day, contract.term_end)
                year = year_containing(contract.term_start, contract.term_end, day).index
                slots.append((entitlement, Slot(year=year, start=day, end=day)))
        for entitlement, slot in slots:
            due = slot.due_on
            occurrence = Occurrence(
                subscription_id=subscription.pk,
                entitlement_id=entitlement.pk,
                year_index=slot.year,
                period_start=slot.start,
                period_end=slot.end,
                due_on=due,
                optional=slot.optional,
                additional_cost=entitlement.kind == EntitlementKind.ADDITIONAL_COST,
                is_review=entitlement.deliverable.is_review,
            )
            stopped = _history(rng, occurrence, csm_id) if due < AS_OF else None
            occurrence_next_reminder(occurrence, organization, after=AS_OF)
            occurrences.append(occurrence)
            if occurrence.is_review:
                reminders += [
                    (occurrence, kind, day)
                    for kind, day in _reminders(occurrence, organization, signed_on, stopped)
                ]
    Occurrence.objects.bulk_create(occurrences, batch_size=5000)
    OccurrenceReminder.objects.bulk_create(
        (
            OccurrenceReminder(occurrence_id=occurrence.pk, kind=kind, sent_at=_sent_at(day))
            for occurrence, kind, day in reminders
        ),
        batch_size=5000,
    )
    return {"occurrences": len(occurrences), "reminders": len(reminders)}


def verify(sample: int = 30) -> int:
    """Schedule a sample of subscriptions again with `schedule_create` (rolled back) and
    compare its slots with the stored ones; returns the subscriptions that differ."""
    rng = random.Random(SEED)
    ids = list(PackageSubscription.objects.values_list("pk", flat=True))
    fields = ("entitlement_id", "year_index", "period_start", "period_end", "due_on", "optional")
    differ = 0
    for pk in sorted(rng.sample(ids, min(sample, len(ids)))):
        stored = Counter(
            Occurrence.objects.filter(subscription_id=pk, additional_cost=False).values_list(
                *fields
            )
        )
        with transaction.atomic():
            subscription = PackageSubscription.objects.select_related("contract__organization").get(
                pk=pk
            )
            signed_at = subscription.contract.signed_at
            written = schedule_create(subscription=subscription, now=signed_at)
            transaction.set_rollback(True)
        again = Counter(tuple(getattr(o, name) for name in fields) for o in written)
        differ += again != stored
    return differ


def counts() -> dict[str, int]:
    reviews = Occurrence.objects.filter(is_review=True)
    return {
        "customers": Organization.objects.count(),
        "customer contacts": Membership.objects.count(),
        "subscriptions": PackageSubscription.objects.count(),
        "occurrences": Occurrence.objects.count(),
        "  reviews": reviews.count(),
        "  scheduled (open)": Occurrence.objects.filter(status=Status.SCHEDULED).count(),
        "  overdue (open, due before AS_OF)": Occurrence.objects.filter(
            status=Status.SCHEDULED, due_on__lt=AS_OF
        ).count(),
        "  delivered": Occurrence.objects.filter(status=Status.DELIVERED).count(),
        "  skipped": Occurrence.objects.filter(status=Status.SKIPPED).count(),
        "  booked at additional cost": Occurrence.objects.filter(additional_cost=True).count(),
        "  with a next reminder": Occurrence.objects.filter(next_reminder_on__isnull=False).count(),
        "reminders sent before AS_OF": OccurrenceReminder.objects.count(),
    }


def migrated() -> bool:
    executor = MigrationExecutor(connection)
    return not executor.migration_plan(executor.loader.graph.leaf_nodes())


def present(customers: int, subscriptions: int) -> bool:
    """The data set of these sizes is in the bench database, on the current schema."""
    if not _django.database_exists():
        return False
    try:
        return (
            migrated()
            and Organization.objects.count() == customers
            and PackageSubscription.objects.count() == subscriptions
            and Occurrence.objects.exists()
            and not Occurrence.objects.filter(next_reminder_on__lte=AS_OF).exists()
        )
    except DatabaseError:  # a database of another schema: rebuild it
        return False


def build(customers: int, subscriptions: int) -> dict[str, float]:
    timings = {}
    started = time.perf_counter()
    _django.database_create(drop=True)
    call_command("migrate", verbosity=0)
    call_command("load_catalog", verbosity=0)
    timings["schema and catalog"] = time.perf_counter() - started

    step = time.perf_counter()
    rng = random.Random(SEED)
    csms, _finance, admins = hours_dataset._people(customers)
    organizations, lines = hours_dataset._customers(rng, customers, csms, admins)
    _contacts(rng, organizations)
    _reminder_days(rng, organizations)
    csms_of: dict[int, list[int]] = {}
    for organization_id, user_id in Organization.csms.through.objects.values_list(
        "organization_id", "user_id"
    ).order_by("pk"):
        csms_of.setdefault(organization_id, []).append(user_id)
    specs = hours_dataset._subscription_specs(rng, organizations, lines, subscriptions)
    with transaction.atomic():
        planned = hours_dataset._contracts(rng, organizations, specs)
        hours_dataset._rates(rng, planned)
        hours_dataset._subscriptions(planned)
    timings["customers, contracts, terms (ORM)"] = time.perf_counter() - step

    step = time.perf_counter()
    subscribed = list(
        PackageSubscription.objects.select_related("contract__organization").order_by("pk")
    )
    with transaction.atomic():
        written = _schedules(rng, subscribed, csms_of)
    label = f"{written['occurrences']:,} occurrences, {written['reminders']:,} reminders"
    timings[f"schedules: {label} (bulk_create)"] = time.perf_counter() - step

    step = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE)")
    timings["VACUUM ANALYZE"] = time.perf_counter() - step
    timings["total"] = time.perf_counter() - started
    return timings


def ensure(customers: int, subscriptions: int, reuse: bool) -> None:
    """Build the data set unless `reuse` finds it there; prints what it did."""
    if reuse and present(customers, subscriptions):
        print(f"Reusing the schedules in {_django.database_name()}.")
        return
    timings = build(customers, subscriptions)
    width = max(map(len, timings))
    for label, seconds in timings.items():
        print(f"{label.ljust(width)}  {seconds:8.1f} s")
    step = time.perf_counter()
    differ = verify()
    label = "check: 30 subscriptions rescheduled by schedule_create"
    print(f"{label.ljust(width)}  {time.perf_counter() - step:8.1f} s, {differ} differ")
    for label, count in counts().items():
        print(f"  {label}: {count:,}")
    if differ:
        sys.exit("The stored schedules differ from what schedule_create writes.")


def arguments(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=360)
    parser.add_argument("--subscriptions", type=int, default=900)
    parser.add_argument("--reuse", action="store_true", help="keep the data if it is there")
    return parser.parse_args(argv)


if __name__ == "__main__":
    options = arguments()
    ensure(options.customers, options.subscriptions, options.reuse)
