"""The hour bank's arithmetic: how each logged hour splits into included and overage.

Pure functions over plain values. Section 1 of the CSO terms gives a package its hours per
contract quarter and per contract year; hours beyond either are overage. Some work also has an
allowance of its own inside those hours (Table 3's Discretionary Operational Consulting, Table
4's Segmentation Management, per contract year; Table 9's expansion pack, for the whole term):
hours past an allowance are overage even when the quarter still has room. "At additional cost"
work (Table 3) is billed outside the budget and consumes none of it.

Entries are applied in one fixed order, date worked and then the time they were logged (then
their id), so the split is deterministic and each entry's share can be explained: an entry is
included up to the smallest remaining room among its quarter, its year and its allowance, and
the rest of it is overage, with the limit that bound it named.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from .quarters import quarter_containing, year_containing

ZERO = Decimal("0")


class AllowancePeriod(StrEnum):
    CONTRACT_YEAR = "contract_year"
    TERM = "term"


class Limit(StrEnum):
    """What stopped an hour from being included."""

    QUARTER = "quarter"
    YEAR = "year"
    ALLOWANCE = "allowance"
    ADDITIONAL_COST = "additional_cost"


@dataclass(frozen=True, slots=True)
class Budget:
    """A package subscription's hours as signed, over its term."""

    term_start: date
    term_end: date
    quarterly_hours: Decimal
    annual_hours: Decimal
    allowances: Mapping[str, tuple[Decimal, AllowancePeriod]]


@dataclass(frozen=True, slots=True)
class Entry:
    id: int
    worked_on: date
    logged_at: datetime
    hours: Decimal
    allowance: str | None = None
    additional_cost: bool = False


@dataclass(frozen=True, slots=True)
class Split:
    entry_id: int
    quarter: int
    year: int
    included: Decimal
    overage: Decimal
    additional_cost: Decimal
    limited_by: Limit | None


def application_order(entry: Entry) -> tuple:
    """The documented order entries are applied in: date worked, time logged, id."""
    return (entry.worked_on, entry.logged_at, entry.id)


def _check(budget: Budget, entry: Entry) -> None:
    if entry.hours <= ZERO:
        raise ValueError(f"Entry {entry.id}: hours must be positive ({entry.hours}).")
    if not budget.term_start <= entry.worked_on <= budget.term_end:
        raise ValueError(
            f"Entry {entry.id}: {entry.worked_on} is outside the term "
            f"{budget.term_start} to {budget.term_end}."
        )
    if entry.allowance is not None and entry.allowance not in budget.allowances:
        raise ValueError(f"Entry {entry.id}: the package has no allowance '{entry.allowance}'.")


def budget_split(budget: Budget, entries: Iterable[Entry]) -> list[Split]:
    """Split every entry into included, overage and additional-cost hours, in application order."""
    used_quarter: dict[int, Decimal] = {}
    used_year: dict[int, Decimal] = {}
    used_allowance: dict[tuple[str, int], Decimal] = {}
    splits = []
    for entry in sorted(entries, key=application_order):
        _check(budget, entry)
        quarter = quarter_containing(budget.term_start, budget.term_end, entry.worked_on).index
        year = year_containing(budget.term_start, budget.term_end, entry.worked_on).index
        if entry.additional_cost:
            splits.append(
                Split(entry.id, quarter, year, ZERO, ZERO, entry.hours, Limit.ADDITIONAL_COST)
            )
            continue
        room = {
            Limit.QUARTER: budget.quarterly_hours - used_quarter.get(quarter, ZERO),
            Limit.YEAR: budget.annual_hours - used_year.get(year, ZERO),
        }
        allowance_key = None
        if entry.allowance is not None:
            cap, period = budget.allowances[entry.allowance]
            allowance_key = (
                entry.allowance,
                year if period == AllowancePeriod.CONTRACT_YEAR else 0,
            )
            room[Limit.ALLOWANCE] = cap - used_allowance.get(allowance_key, ZERO)
        # The tightest limit binds; on a tie the first named (quarter, year, allowance) is reported.
        binding = min(room, key=lambda limit: room[limit])
        included = max(min(entry.hours, room[binding]), ZERO)
        overage = entry.hours - included
        used_quarter[quarter] = used_quarter.get(quarter, ZERO) + included
        used_year[year] = used_year.get(year, ZERO) + included
        if allowance_key is not None:
            used_allowance[allowance_key] = used_allowance.get(allowance_key, ZERO) + included
        splits.append(
            Split(entry.id, quarter, year, included, overage, ZERO, binding if overage else None)
        )
    return splits
