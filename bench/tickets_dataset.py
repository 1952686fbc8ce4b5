"""200,000 open support tickets on PostgreSQL, with their SLA clocks, for the SLA alert sweep.

Usage:
    .venv/bin/python bench/tickets_dataset.py              # 500 customers, 200,000 tickets
    .venv/bin/python bench/tickets_dataset.py --tickets 20000 --customers 100 --subscriptions 250
    .venv/bin/python bench/tickets_dataset.py --reuse      # keep the data if it is already there
(DATABASE_URL defaults to postgres://postgres@127.0.0.1:5432/portal_bench_tickets; the database
is dropped and rebuilt unless --reuse finds the same sizes there, fully migrated.)

The data stands on AS_OF (2026-11-23 12:00 UTC, the moment the test suite stands on), right
after that minute's sweep: nothing is owed. Customers, contracts and signed terms are those of
`bench/hours_dataset.py` (its own generator, at a smaller size); the shipped SLA policies are
loaded; 40 support engineers work the tickets and an "Operations" group of three people is told
by the uptime policy's notify rule.

Every ticket is open (new, open or waiting on the customer), on its package's policy (CSO
enhanced for Premier, Expert and Strategic, standard support for Foundations and Fundamentals)
or, for one in twelve, on one of the other vendors' policies that carry escalation rules. The
rows are computed here and go in with COPY, not through `ticket_open`: each target's due time is
its start plus its duration, with a simple formula for business time (a business hour counts as
three hours, a business day as 1.4 days), and its warning at 75% of that. A ticket's age is a
random share of six update periods (its shortest clocks decide how old it plausibly is), its
staff updates come at 30% to 115% of each period, and each update starts a new periodic update
cycle, so most tickets owe their next notice in the future and some are already breached (and
were told). Tickets waiting on the customer have an open pause from their last update, which
stops their unmet clocks. Each row holds what the sweep would have sent by AS_OF
(`warned_at`, `breach_notified_at`, `fired_at`) and its next notice after AS_OF.
"""

import argparse
import os
import random
import sys
import time
from datetime import UTC, datetime, timedelta

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/portal_bench_tickets")

import _django  # noqa: E402  sets Django up (before the portal's imports)
import hours_dataset  # noqa: E402
from _hours_entries import SEED  # noqa: E402
from django.contrib.auth.hashers import make_password  # noqa: E402
from django.contrib.auth.models import Group  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import DatabaseError, connection, transaction  # noqa: E402
from django.db.migrations.executor import MigrationExecutor  # noqa: E402

from accounts.models import Organization, User  # noqa: E402
from cso.models import PackageSubscription  # noqa: E402
from tickets.models import (  # noqa: E402
    SlaPolicy,
    Ticket,
    TicketEscalation,
    TicketPause,
    TicketTarget,
)
from tickets.services.policies import policy_parsed  # noqa: E402
from tickets.sla import Duration, DurationUnit, TargetKind  # noqa: E402

AS_OF = datetime(2026, 11, 23, 12, tzinfo=UTC)
WARNING_SHARE = 0.75
MAX_UPDATES = 8
# One ticket in twelve is put by staff on another vendor's policy that has escalation rules.
OTHER_POLICIES = {"vendor_priority_plan": 6, "vendor_uptime_sla": 2}
STATUS_WEIGHTS = {"new": 12, "open": 68, "waiting_on_customer": 20}
PROBLEMS = [
    "Chat is down",
    "Agents cannot log in",
    "Reports are slow",
    "Messages arrive twice",
    "Bot answers in the wrong language",
    "Routing skips a skill",
    "Export fails",
    "Widget does not load on mobile",
]
SINGLE_MET_BY_UPDATE = {TargetKind.FIRST_RESPONSE, TargetKind.ACKNOWLEDGEMENT}


def elapsed(duration: Duration) -> timedelta:
    """The simple formula: real time a duration takes (business time stretched)."""
    amount = float(duration.amount)
    if duration.unit is DurationUnit.BUSINESS_DAYS:
        return timedelta(days=amount * 1.4)
    if duration.unit is DurationUnit.BUSINESS_HOURS:
        return timedelta(hours=amount * 3)
    return duration.as_timedelta()


# --- people, customers and contracts ------------------------------------------------------------


def _engineers() -> list[User]:
    password = make_password("bench-pass-123")
    return User.objects.bulk_create(
        User(
            email=f"engineer{n:02d}@vendor.example",
            role=User.Role.SUPPORT,
            is_staff=True,
            first_name=f"Engineer {n:02d}",
            password=password,
        )
        for n in range(40)
    )


def _operations() -> None:
    group = Group.objects.create(name="Operations")
    password = make_password("bench-pass-123")
    people = User.objects.bulk_create(
        User(
            email=f"ops{n}@vendor.example", role=User.Role.SUPPORT, is_staff=True, password=password
        )
        for n in range(3)
    )
    group.user_set.add(*people)


# --- the tickets' rows ----------------------------------------------------------------------------


class Rows:
    """The rows to COPY, with ids given here so targets can name their ticket."""

    def __init__(self) -> None:
        self.tickets: list[tuple] = []
        self.targets: list[tuple] = []
        self.pauses: list[tuple] = []
        self.escalations: list[tuple] = []


TICKET_COLUMNS = (
    "id",
    "organization_id",
    "subscription_id",
    "line_of_business_id",
    "subject",
    "description",
    "severity",
    "kind",
    "status",
    "channel",
    "assignee_id",
    "support_level",
    "sla_policy_id",
    "sla_package",
    "opened_at",
    "created_at",
    "created_by_id",
    "assigned_at",
    "first_response_at",
)
TARGET_COLUMNS = (
    "ticket_id",
    "kind",
    "cycle",
    "duration",
    "calendar",
    "started_at",
    "due_at",
    "warning_at",
    "met_at",
    "breached",
    "seconds_late",
    "warned_at",
    "breach_notified_at",
    "next_alert_at",
)
PAUSE_COLUMNS = ("ticket_id", "reason", "started_at")
ESCALATION_COLUMNS = (
    "ticket_id",
    "position",
    "after",
    "action",
    "target",
    "unless_met",
    "due_at",
    "stopped_at",
    "fired_at",
    "next_alert_at",
)


def _target_row(rng, ticket_id, target, cycle, start, due, met, paused) -> tuple:
    """A target row as the sweep would have left it at AS_OF."""
    spec = target.spec
    if paused and met is None:
        due = None
    warning = start + (due - start) * WARNING_SHARE if due is not None else None
    breached, late, warned, told, next_alert = False, 0, None, None, None
    if due is not None:
        end = met if met is not None else AS_OF
        if end > due:
            breached, late = True, int((end - due).total_seconds()) + 1
        if warning <= end:
            warned = warning + timedelta(seconds=rng.random() * 50)
        if breached:
            told = due + timedelta(seconds=rng.random() * 50)
        if met is None and not breached:
            next_alert = due if warning <= AS_OF else warning
    return (
        ticket_id,
        spec.kind.value,
        cycle,
        str(spec.duration),
        spec.calendar.name,
        start,
        due,
        warning,
        met,
        breached,
        late,
        warned,
        told,
        next_alert,
    )


def _ticket(rng, rows: Rows, ticket_id: int, subscription, policy_row, engineers) -> None:
    policy = policy_parsed(policy_row)
    package = (
        subscription.package.code
        if subscription.package.code in policy.applies_to
        else policy.applies_to[0]
    )
    severities = [s.code for s in policy.severities][:3]
    severity = rng.choices(severities, (8, 30, 62)[: len(severities)])[0]
    targets = policy.targets_for(severity, package)
    periods = {t.spec.kind: elapsed(t.spec.duration) for t in targets}
    period = periods.get(TargetKind.PERIODIC_UPDATE) or max(periods.values())
    first = min(
        (periods[k] for k in (*SINGLE_MET_BY_UPDATE, TargetKind.TIME_TO_OPEN) if k in periods),
        default=period,
    )
    opened = AS_OF - min(period * rng.uniform(0, 6), timedelta(days=60))
    opened -= timedelta(microseconds=rng.randrange(1_000_000))
    status = rng.choices(list(STATUS_WEIGHTS), list(STATUS_WEIGHTS.values()))[0]
    updates: list[datetime] = []
    if status != "new":
        moment = opened + first * rng.uniform(0.2, 1.15)
        while moment < AS_OF and len(updates) < MAX_UPDATES:
            updates.append(moment)
            moment += period * rng.uniform(0.3, 1.15)
        if not updates:
            status = "new"
    waiting = status == "waiting_on_customer"
    if waiting:
        rows.pauses.append((ticket_id, TicketPause.Reason.WAITING_ON_CUSTOMER, updates[-1]))
    assignee = rng.choice(engineers).pk if status != "new" else None
    assigned_at = min(opened + first * rng.uniform(0.05, 0.9), updates[0]) if assignee else None
    escalations = policy.escalations_for(severity, package)
    met_by = {
        TargetKind.TIME_TO_OPEN: assigned_at,
        TargetKind.FIRST_RESPONSE: updates[0] if updates else None,
        TargetKind.ACKNOWLEDGEMENT: updates[0] if updates else None,
        TargetKind.FOLLOW_UP: updates[1] if len(updates) > 1 else None,
    }
    for target in targets:
        kind = target.spec.kind
        if kind is TargetKind.PERIODIC_UPDATE:
            starts = [opened, *updates]
            for cycle, start in enumerate(starts):
                met = starts[cycle + 1] if cycle + 1 < len(starts) else None
                due = start + periods[kind]
                rows.targets.append(
                    _target_row(rng, ticket_id, target, cycle, start, due, met, waiting)
                )
        elif kind is TargetKind.ROOT_CAUSE_ANALYSIS:  # due from a resolution: none yet
            rows.targets.append(_target_row(rng, ticket_id, target, 0, None, None, None, False))
        else:
            if kind is TargetKind.RESTORE and rng.random() < 0.6:
                met_by[kind] = opened + periods[kind] * rng.uniform(0.2, 1.3)
            met = met_by.get(kind)
            met_by[kind] = met = met if met is not None and met <= AS_OF else None
            due = opened + periods[kind]
            rows.targets.append(_target_row(rng, ticket_id, target, 0, opened, due, met, waiting))
    level = "Level 1"
    for position, escalation in enumerate(escalations):
        due = opened + elapsed(escalation.rule.after)
        watched = met_by.get(escalation.unless_met) if escalation.unless_met else None
        stopped = watched if watched is not None and watched <= due else None
        fired = next_alert = None
        if stopped is None and due <= AS_OF and not (waiting and updates[-1] < due):
            fired = due + timedelta(seconds=rng.random() * 50)
            if escalation.rule.action.value == "raise_level":
                level = escalation.rule.target
        elif stopped is None and due > AS_OF and not waiting:
            next_alert = due
        if waiting and fired is None:
            due = None
        rows.escalations.append(
            (
                ticket_id,
                position,
                str(escalation.rule.after),
                escalation.rule.action.value,
                escalation.rule.target,
                escalation.unless_met.value if escalation.unless_met else "",
                due,
                stopped,
                fired,
                next_alert,
            )
        )
    contract = subscription.contract
    rows.tickets.append(
        (
            ticket_id,
            contract.organization_id,
            subscription.pk,
            None,
            f"{rng.choice(PROBLEMS)} ({ticket_id})",
            "",
            severity,
            "bug" if rng.random() < 0.3 else "non_bug",
            status,
            rng.choices(("web", "phone", "email", "chat"), (60, 20, 15, 5))[0],
            assignee,
            level,
            policy_row.pk,
            package,
            opened,
            opened,
            assignee or engineers[0].pk,
            assigned_at,
            updates[0] if updates else None,
        )
    )


def _copy(table: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
    raw = connection.connection
    with raw.cursor() as cursor:
        with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)


def _tickets(rng: random.Random, count: int, engineers: list[User]) -> dict[str, int]:
    policies = {policy.code: policy for policy in SlaPolicy.objects.all()}
    for policy in policies.values():
        policy_parsed(policy)
    serves = {code: policy for policy in policies.values() for code in policy.applies_to}
    subscriptions = list(
        PackageSubscription.objects.select_related("contract", "package").order_by("pk")
    )
    others = list(OTHER_POLICIES)
    rows = Rows()
    for ticket_id in range(1, count + 1):
        subscription = rng.choice(subscriptions)
        if rng.random() < 1 / 12:
            policy = policies[rng.choices(others, list(OTHER_POLICIES.values()))[0]]
        else:
            policy = serves[subscription.package.code]
        _ticket(rng, rows, ticket_id, subscription, policy, engineers)
    connection.ensure_connection()
    with transaction.atomic():
        _copy(Ticket._meta.db_table, TICKET_COLUMNS, rows.tickets)
        _copy(TicketTarget._meta.db_table, TARGET_COLUMNS, rows.targets)
        _copy(TicketPause._meta.db_table, PAUSE_COLUMNS, rows.pauses)
        _copy(TicketEscalation._meta.db_table, ESCALATION_COLUMNS, rows.escalations)
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{Ticket._meta.db_table}', 'id'), %s)",
                [count],
            )
    return {
        "tickets": len(rows.tickets),
        "targets": len(rows.targets),
        "escalations": len(rows.escalations),
    }


# --- building, checking, reusing -----------------------------------------------------------------


def counts() -> dict[str, int]:
    targets = TicketTarget.objects
    escalations = TicketEscalation.objects
    return {
        "customers": Organization.objects.count(),
        "subscriptions": PackageSubscription.objects.count(),
        "tickets (all open)": Ticket.objects.count(),
        **{
            f"  {status}": Ticket.objects.filter(status=status).count() for status in STATUS_WEIGHTS
        },
        **{
            f"  on {policy.code}": Ticket.objects.filter(sla_policy=policy).count()
            for policy in SlaPolicy.objects.all()
        },
        "targets": targets.count(),
        "  met": targets.exclude(met_at=None).count(),
        "  breached (told)": targets.exclude(breach_notified_at=None).count(),
        "  paused (no due time)": targets.filter(due_at=None, met_at=None).count(),
        "  owing a warning next": targets.filter(warned_at=None)
        .exclude(next_alert_at=None)
        .count(),
        "  owing a breach notice next": targets.exclude(warned_at=None)
        .exclude(next_alert_at=None)
        .count(),
        "  owing in the next hour": targets.filter(
            next_alert_at__lte=AS_OF + timedelta(hours=1)
        ).count(),
        "escalations": escalations.count(),
        "  fired": escalations.exclude(fired_at=None).count(),
        "  stopped": escalations.exclude(stopped_at=None).count(),
        "  pending": escalations.exclude(next_alert_at=None).count(),
        "owed at AS_OF (must be 0)": targets.filter(next_alert_at__lte=AS_OF).count()
        + escalations.filter(next_alert_at__lte=AS_OF).count(),
    }


def migrated() -> bool:
    executor = MigrationExecutor(connection)
    return not executor.migration_plan(executor.loader.graph.leaf_nodes())


def present(customers: int, subscriptions: int, tickets: int) -> bool:
    """The data set of these sizes is in the bench database, on the current schema."""
    if not _django.database_exists():
        return False
    try:
        return (
            migrated()
            and Organization.objects.count() == customers
            and PackageSubscription.objects.count() == subscriptions
            and Ticket.objects.count() == tickets
            and not TicketTarget.objects.filter(next_alert_at__lte=AS_OF).exists()
            and not TicketEscalation.objects.filter(next_alert_at__lte=AS_OF).exists()
        )
    except DatabaseError:  # a database of another schema: rebuild it
        return False


def build(customers: int, subscriptions: int, tickets: int) -> dict[str, float]:
    timings = {}
    started = time.perf_counter()
    _django.database_create(drop=True)
    call_command("migrate", verbosity=0)
    call_command("load_catalog", verbosity=0)
    call_command("load_sla_policies", verbosity=0)
    timings["schema, catalog, SLA policies"] = time.perf_counter() - started

    step = time.perf_counter()
    rng = random.Random(SEED)
    csms, _finance, admins = hours_dataset._people(customers)
    organizations, lines = hours_dataset._customers(rng, customers, csms, admins)
    specs = hours_dataset._subscription_specs(rng, organizations, lines, subscriptions)
    with transaction.atomic():
        planned = hours_dataset._contracts(rng, organizations, specs)
        hours_dataset._rates(rng, planned)
        hours_dataset._subscriptions(planned)
        engineers = _engineers()
        _operations()
    timings["customers, contracts, terms, engineers (ORM)"] = time.perf_counter() - step

    step = time.perf_counter()
    written = _tickets(rng, tickets, engineers)
    label = (
        f"{written['tickets']:,} tickets, {written['targets']:,} targets, "
        f"{written['escalations']:,} escalations (COPY)"
    )
    timings[label] = time.perf_counter() - step

    step = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE)")
    timings["VACUUM ANALYZE"] = time.perf_counter() - step
    timings["total"] = time.perf_counter() - started
    return timings


def ensure(customers: int, subscriptions: int, tickets: int, reuse: bool) -> None:
    """Build the data set unless `reuse` finds it there; prints what it did."""
    if reuse and present(customers, subscriptions, tickets):
        print(f"Reusing the tickets in {_django.database_name()}.")
        return
    timings = build(customers, subscriptions, tickets)
    width = max(map(len, timings))
    for label, seconds in timings.items():
        print(f"{label.ljust(width)}  {seconds:8.1f} s")
    found = counts()
    for label, count in found.items():
        print(f"  {label}: {count:,}")
    if found["owed at AS_OF (must be 0)"]:
        sys.exit("Some rows are owed a notice at AS_OF: the data set is not idle.")


def arguments(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=500)
    parser.add_argument("--subscriptions", type=int, default=1250)
    parser.add_argument("--tickets", type=int, default=200_000)
    parser.add_argument("--reuse", action="store_true", help="keep the data if it is there")
    return parser.parse_args(argv)


if __name__ == "__main__":
    options = arguments()
    ensure(options.customers, options.subscriptions, options.tickets, options.reuse)
