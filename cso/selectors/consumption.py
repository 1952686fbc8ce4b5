"""What a subscription has used of its hours: this quarter, this year, by program, entry by entry.

Read from the split stored on each entry, which the services keep equal to the budget
arithmetic; so every figure here adds up from the entries listed beside it.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db.models import Case, F, Q, When

from ..models import PackageSubscription, TimeEntry
from ..quarters import Period, quarter_containing, year_containing

ZERO = Decimal("0")


@dataclass
class Usage:
    """Hours of one period (or one program within it)."""

    included: Decimal = ZERO
    overage: Decimal = ZERO
    prepaid: Decimal = ZERO
    additional_cost: Decimal = ZERO

    @property
    def used(self) -> Decimal:
        """Hours counted against the package: included plus overage."""
        return self.included + self.overage

    def add(self, row: dict) -> None:
        self.included += row["included_hours"]
        self.overage += row["overage_hours"]
        self.prepaid += row["prepaid_hours"]
        self.additional_cost += row["additional_cost_hours"]


@dataclass
class PeriodConsumption:
    kind: str
    period: Period
    allowance: Decimal
    usage: Usage = field(default_factory=Usage)
    remaining: Decimal = ZERO
    by_program: dict[str, Usage] = field(default_factory=dict)
    entry_ids: list[int] = field(default_factory=list)

    @property
    def percent_used(self) -> Decimal:
        if not self.allowance:
            return ZERO
        return (self.usage.used * 100 / self.allowance).quantize(Decimal("0.1"))


@dataclass
class Consumption:
    subscription: PackageSubscription
    on: date
    quarter: PeriodConsumption
    year: PeriodConsumption


def counted_in(column: str) -> Case:
    """An entry's day or period for consumption: hours given back count where the corrected
    entry counted them (its day, quarter and year), where they were used."""
    return Case(When(hours__lt=0, then=F(f"adjusts__{column}")), default=F(column))


_ROW_FIELDS = (
    "pk",
    "subscription_id",
    "usage_day",
    "program__name",
    "included_hours",
    "overage_hours",
    "prepaid_hours",
    "additional_cost_hours",
)


def _empty(subscription: PackageSubscription, on: date) -> Consumption:
    """The quarter and year containing `on` (clamped to the term), before any entry is added."""
    contract = subscription.contract
    day = min(max(on, contract.term_start), contract.term_end)
    quarter_period = quarter_containing(contract.term_start, contract.term_end, day)
    year_period = year_containing(contract.term_start, contract.term_end, day)
    quarter = PeriodConsumption("quarter", quarter_period, subscription.quarterly_hours)
    year = PeriodConsumption("year", year_period, subscription.annual_hours)
    return Consumption(subscription, on, quarter, year)


def _add(consumption: Consumption, row: dict) -> None:
    quarter, year = consumption.quarter, consumption.year
    periods = [year] + ([quarter] if row["usage_day"] in quarter.period else [])
    for period in periods:
        period.usage.add(row)
        period.by_program.setdefault(row["program__name"], Usage()).add(row)
        period.entry_ids.append(row["pk"])


def _close(consumption: Consumption) -> Consumption:
    quarter, year = consumption.quarter, consumption.year
    year.remaining = max(year.allowance - year.usage.included, ZERO)
    # The quarter's room is also bounded by what the year has left (Section 1).
    quarter.remaining = min(max(quarter.allowance - quarter.usage.included, ZERO), year.remaining)
    return consumption


def subscriptions_consumption(
    days: Iterable[tuple[PackageSubscription, date]],
) -> dict[int, Consumption]:
    """`subscription_consumption` of many subscriptions (each on its own day) in one query,
    keyed by subscription id; pages listing many packages stay at a fixed number of queries."""
    by_id = {subscription.pk: _empty(subscription, on) for subscription, on in days}
    if not by_id:
        return {}
    in_year = Q()
    for pk, consumption in by_id.items():
        year = consumption.year.period
        in_year |= Q(subscription_id=pk, usage_day__gte=year.start, usage_day__lte=year.end)
    rows = (
        TimeEntry.objects.annotate(usage_day=counted_in("worked_on"))
        .filter(in_year)
        .order_by("subscription_id", "worked_on", "logged_at", "pk")
        .values(*_ROW_FIELDS)
    )
    for row in rows:
        _add(by_id[row["subscription_id"]], row)
    return {pk: _close(consumption) for pk, consumption in by_id.items()}


def subscription_consumption(subscription: PackageSubscription, on: date) -> Consumption:
    """The quarter and year containing `on` (clamped to the term), with the entries behind them."""
    return subscriptions_consumption([(subscription, on)])[subscription.pk]
