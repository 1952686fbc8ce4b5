"""Time entries for the hour bank benchmark dataset: generated, split and COPYed.

Each subscription's entries are generated from its plan (intensity, days worked, kinds of work),
split with `cso.budget.budget_split` on the budget `subscription_budget` reads, and written with
PostgreSQL COPY by worker processes, one share of the subscriptions each.
"""

import multiprocessing
import os
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import _django  # noqa: F401  (sets Django up)
from django.db import connection

from cso.budget import Budget, budget_split
from cso.models import EntitlementKind, PackageSubscription, SubscriptionEntitlement
from cso.quarters import Period, contract_quarters
from cso.services.splits import _as_entry, subscription_budget

AS_OF = date(2026, 11, 23)
AS_OF_NOON = datetime(2026, 11, 23, 12, tzinfo=UTC)
SEED = 20261123
PROGRAM_WEIGHTS = {
    "performance_management": 30,
    "operational_consulting": 25,
    "solutions_engineering": 15,
    "onboarding_deployment": 15,
    "premium_technical_support": 15,
}
# An entry's hours as a multiple of the dataset's mean hours per entry (mean 1.0).
HOUR_MULTIPLIERS = ([0.12, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0], [6, 12, 18, 16, 18, 16, 10, 4])
QUARTER_HOURS = [Decimal(n) / 4 for n in range(0, 97)]  # 0.00 .. 24.00 in quarter hours
DESCRIPTIONS = [
    "",
    "Weekly check-in",
    "Quarterly business review preparation",
    "Bot flow review with the operations team",
    "Reporting dashboard changes",
    "Escalation follow-up",
    "Segmentation rules update",
    "Agent workspace configuration",
    "Launch readiness call",
    "KPI analysis",
]
ENTRY_COLUMNS = [
    "id",
    "subscription_id",
    "worked_on",
    "hours",
    "program_id",
    "line_of_business_id",
    "entitlement_id",
    "expansion_scope_id",
    "description",
    "adjusts_id",
    "source_key",
    "logged_by_id",
    "logged_at",
    "quarter_index",
    "quarter_start",
    "quarter_end",
    "year_index",
    "included_hours",
    "overage_hours",
    "prepaid_hours",
    "additional_cost_hours",
    "limited_by",
]


@dataclass
class Plan:
    """What to log for one subscription; built by the parent, used by a COPY worker."""

    index: int
    subscription_id: int
    budget: Budget
    kinds: dict[int, str]
    quarters: list[Period]
    last_day: date
    closed_through: date | None
    lines: list[int]
    csms: list[int]
    linked: list[tuple[int, int]]  # (entitlement, program) of ordinary deliverables
    allowances: list[tuple[int, int]]
    additional: list[tuple[int, int]]
    scope: tuple[int, Decimal, date] | None  # (scope, hours, approved on)
    allowance_share: float
    entries: int
    adjustments: int
    first_id: int
    mean_hours: float


PLANS: list[Plan] = []
PROGRAMS: dict[str, int] = {}


def quarter_hours(hours: float) -> Decimal:
    return QUARTER_HOURS[max(1, min(48, round(hours * 4)))]


def _days(rng: random.Random, plan: Plan) -> tuple[list[date], list[float]]:
    """Working days of the term so far, weighted by a per-quarter swing of the intensity."""
    swing = {quarter.index: rng.uniform(0.8, 1.2) for quarter in plan.quarters}
    days, cumulative, total = [], [], 0.0
    for quarter in plan.quarters:
        day = quarter.start
        while day <= min(quarter.end, plan.last_day):
            if day.weekday() < 5 or rng.random() < 0.03:
                days.append(day)
                total += swing[quarter.index]
                cumulative.append(total)
            day += timedelta(days=1)
    return days, cumulative


def _logged_at(rng: random.Random, day: date) -> datetime:
    moment = datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(
        hours=rng.uniform(8, 20), days=rng.choice((0, 0, 0, 0, 1, 3))
    )
    return min(moment, AS_OF_NOON - timedelta(hours=1))


def _entry(rng: random.Random, plan: Plan, day: date, scope_left: list[Decimal]) -> dict:
    multiplier = rng.choices(*HOUR_MULTIPLIERS)[0]
    hours = quarter_hours(plan.mean_hours * multiplier * rng.uniform(0.9, 1.1))
    entitlement = scope = None
    pick = rng.random()
    if plan.allowances and pick < plan.allowance_share:
        entitlement, program = rng.choice(plan.allowances)
    elif plan.additional and pick > 0.98:
        entitlement, program = rng.choice(plan.additional)
    elif plan.scope and day >= plan.scope[2] and scope_left[0] and rng.random() < 0.3:
        scope, program = plan.scope[0], PROGRAMS["expansion"]
        hours = min(hours, scope_left[0])
        scope_left[0] -= hours
    elif plan.linked and rng.random() < 0.4:
        entitlement, program = rng.choice(plan.linked)
    else:
        code = rng.choices(list(PROGRAM_WEIGHTS), list(PROGRAM_WEIGHTS.values()))[0]
        program = PROGRAMS[code]
    return {
        "worked_on": day,
        "hours": hours,
        "program_id": program,
        "line_of_business_id": rng.choice(plan.lines) if rng.random() < 0.95 else None,
        "entitlement_id": entitlement,
        "expansion_scope_id": scope,
        "description": rng.choice(DESCRIPTIONS),
        "adjusts_id": None,
        "logged_by_id": rng.choice(plan.csms),
        "logged_at": _logged_at(rng, day),
    }


def _adjustments(rng: random.Random, plan: Plan, entries: list[dict]) -> list[dict]:
    """Corrections of entries in closed quarters, logged in a later, open quarter."""
    if plan.closed_through is None or plan.closed_through >= plan.last_day:
        return []
    originals = [entry for entry in entries if entry["worked_on"] <= plan.closed_through]
    if len(originals) < plan.adjustments:
        return []
    span = (plan.last_day - plan.closed_through).days
    adjustments = []
    for original in rng.sample(originals, plan.adjustments):
        day = plan.closed_through + timedelta(days=rng.randint(1, span))
        if rng.random() < 0.5:
            hours = -min(original["hours"], quarter_hours(rng.uniform(0.25, 2)))
        elif original["expansion_scope_id"] is None:
            hours = quarter_hours(rng.uniform(0.25, 2))
        else:
            continue
        adjustments.append(
            {
                **original,
                "worked_on": day,
                "hours": hours,
                "description": f"Correction of the entry of {original['worked_on']}",
                "adjusts_id": original["id"],
                "logged_at": _logged_at(rng, day),
            }
        )
    return adjustments


def _plan_rows(plan: Plan):
    """The subscription's entries with their split, as COPY rows."""
    rng = random.Random(SEED * 1_000_003 + plan.index)
    days, cumulative = _days(rng, plan)
    scope_left = [plan.scope[1] if plan.scope else Decimal(0)]
    planned = plan.entries - plan.adjustments
    entries = [
        _entry(rng, plan, day, scope_left)
        for day in rng.choices(days, cum_weights=cumulative, k=planned)
    ]
    entries.sort(key=lambda entry: (entry["worked_on"], entry["logged_at"]))
    for offset, entry in enumerate(entries):
        entry["id"] = plan.first_id + offset
    more = _adjustments(rng, plan, entries)
    missing = plan.entries - len(entries) - len(more)
    for day in sorted(rng.choices(days, cum_weights=cumulative, k=missing)):
        more.append(_entry(rng, plan, day, scope_left))
    for offset, entry in enumerate(more, start=plan.first_id + len(entries)):
        entry["id"] = offset
    entries += more
    by_id = {entry["id"]: entry for entry in entries}
    as_split = ({**entry, "pk": entry["id"]} for entry in entries)
    for split in budget_split(plan.budget, (_as_entry(row, plan.kinds) for row in as_split)):
        entry = by_id[split.entry_id]
        quarter = plan.quarters[split.quarter - 1]
        yield (
            entry["id"],
            plan.subscription_id,
            entry["worked_on"],
            entry["hours"],
            entry["program_id"],
            entry["line_of_business_id"],
            entry["entitlement_id"],
            entry["expansion_scope_id"],
            entry["description"],
            entry["adjusts_id"],
            None,
            entry["logged_by_id"],
            entry["logged_at"],
            split.quarter,
            quarter.start,
            quarter.end,
            split.year,
            split.included,
            split.overage,
            split.prepaid,
            split.additional_cost,
            split.limited_by.value if split.limited_by else "",
        )


def copy_entries(plan_indexes: list[int]) -> int:
    """A worker process: compute and COPY the entries of some subscriptions."""
    from psycopg import connect

    rows = 0
    with connect(os.environ["DATABASE_URL"]) as database:
        database.execute("SET synchronous_commit = off")
        with database.cursor().copy(
            f"COPY cso_timeentry ({', '.join(ENTRY_COLUMNS)}) FROM STDIN"
        ) as copy:
            for index in plan_indexes:
                for row in _plan_rows(PLANS[index]):
                    copy.write_row(row)
                    rows += 1
    return rows


def entry_counts(rng, subscriptions, total: int) -> tuple[list[int], float]:
    """Entries per subscription in proportion to the hours it uses; the mean hours per entry."""
    intensity: dict[int, float] = {}
    usage = []
    for subscription in subscriptions:
        owner = subscription.contract.organization_id
        if (
            owner not in intensity
        ):  # most customers use a quarter to 3/4 of their hours, some go over
            band = rng.choices(((0.25, 0.75), (0.75, 1.0), (1.0, 1.5)), (76, 14, 10))[0]
            intensity[owner] = rng.uniform(*band)
        elapsed = (
            min(subscription.contract.term_end, AS_OF) - subscription.contract.term_start
        ).days
        quarters = elapsed / 91.31
        usage.append(
            intensity[owner]
            * rng.uniform(0.85, 1.15)
            * float(subscription.quarterly_hours)
            * quarters
        )
    hours = sum(usage)
    exact = [total * used / hours for used in usage]
    counts = [int(value) for value in exact]
    by_remainder = sorted(range(len(exact)), key=lambda n: exact[n] - counts[n], reverse=True)
    for n in by_remainder[: total - sum(counts)]:
        counts[n] += 1
    return counts, hours / total


def plans_build(rng, subscriptions, counts, mean_hours, closed_through, scopes, lines_of, csms_of):
    """One plan per subscription, with its signed budget and the entitlements time goes to."""
    first_id = 1
    entitlements: dict[int, list] = {}
    for row in SubscriptionEntitlement.objects.filter(
        subscription__in=subscriptions, deliverable__program__isnull=False
    ).values_list("subscription_id", "pk", "kind", "deliverable__program_id"):
        entitlements.setdefault(row[0], []).append(row[1:])
    loaded = PackageSubscription.objects.select_related("contract", "expansion_pack").in_bulk(
        [subscription.pk for subscription in subscriptions]
    )
    for index, (subscription, count) in enumerate(zip(subscriptions, counts, strict=True)):
        budget, kinds = subscription_budget(loaded[subscription.pk])
        contract = subscription.contract
        owned = entitlements.get(subscription.pk, [])
        scope = scopes.get(subscription.pk)
        adjustments = int(count * 0.003 + rng.random())
        PLANS.append(
            Plan(
                index=index,
                subscription_id=subscription.pk,
                budget=budget,
                kinds=kinds,
                quarters=contract_quarters(contract.term_start, contract.term_end),
                last_day=min(contract.term_end, AS_OF - timedelta(days=1)),
                closed_through=closed_through.get(contract.pk),
                lines=lines_of[subscription.pk],
                csms=csms_of[contract.organization_id],
                linked=[
                    (pk, program)
                    for pk, kind, program in owned
                    if kind in ("frequency", "included")
                ],
                allowances=[
                    (pk, program)
                    for pk, kind, program in owned
                    if kind == EntitlementKind.HOUR_ALLOWANCE
                ],
                additional=[
                    (pk, program)
                    for pk, kind, program in owned
                    if kind == EntitlementKind.ADDITIONAL_COST
                ],
                scope=(scope.pk, scope.hours, scope.decided_at.date()) if scope else None,
                allowance_share=rng.uniform(0.0, 0.12),
                entries=count,
                adjustments=min(adjustments, count // 2),
                first_id=first_id,
                mean_hours=mean_hours,
            )
        )
        first_id += count


def entries_load(workers: int) -> int:
    """Split the plans evenly by entries over worker processes; each COPYs its share."""
    shares: list[list[int]] = [[] for _ in range(workers)]
    loads = [0] * workers
    for plan in sorted(PLANS, key=lambda plan: plan.entries, reverse=True):
        lightest = loads.index(min(loads))
        shares[lightest].append(plan.index)
        loads[lightest] += plan.entries
    connection.close()  # the workers are forked; each opens its own connection
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        rows = sum(pool.map(copy_entries, shares))
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence('cso_timeentry', 'id'), "
            "(SELECT COALESCE(MAX(id), 1) FROM cso_timeentry))"
        )
    return rows
