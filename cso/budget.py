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
the rest of it is overage, with the limit that bound it named. Expansion hours bought beyond
the pack (Section 9, on renewal) are prepaid: they cover expansion work the package hours
cannot, before anything becomes overage.

An adjusting entry corrects an earlier entry, usually one in a quarter finance has closed. It
is logged (and billed) in an open quarter. Extra hours count like any entry of that quarter.
Hours given back (negative hours) come off the corrected entry's own split: its overage first,
then prepaid, then included hours, which go back to its quarter, year and allowance. So a
correction credits exactly what the corrected entry billed, never more.
"""

from bisect import bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import NamedTuple

from .quarters import contract_quarters, contract_years

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


class Allowance(NamedTuple):
    """Hours for one kind of work inside the package's hours, and prepaid hours beyond them.

    An allowance outside the package's hours (`outside_package`) is paid for on its own: its
    hours are prepaid, use none of the quarter or the year, and hours past it are overage.
    """

    hours: Decimal
    period: AllowancePeriod
    prepaid_hours: Decimal = ZERO
    outside_package: bool = False


@dataclass(frozen=True, slots=True)
class Budget:
    """A package subscription's hours as signed, over its term."""

    term_start: date
    term_end: date
    quarterly_hours: Decimal
    annual_hours: Decimal
    allowances: Mapping[str, Allowance | tuple]


@dataclass(frozen=True, slots=True)
class Entry:
    id: int
    worked_on: date
    logged_at: datetime
    hours: Decimal
    allowance: str | None = None
    additional_cost: bool = False
    adjusts: int | None = None


@dataclass(frozen=True, slots=True)
class Split:
    entry_id: int
    quarter: int
    year: int
    included: Decimal
    overage: Decimal
    additional_cost: Decimal
    limited_by: Limit | None
    prepaid: Decimal = ZERO


def application_order(entry: Entry) -> tuple:
    """The documented order entries are applied in: date worked, time logged, id."""
    return (entry.worked_on, entry.logged_at, entry.id)


def _check(budget: Budget, entry: Entry) -> None:
    if entry.hours == ZERO:
        raise ValueError(f"Entry {entry.id}: hours must not be zero.")
    if not budget.term_start <= entry.worked_on <= budget.term_end:
        raise ValueError(
            f"Entry {entry.id}: {entry.worked_on} is outside the term "
            f"{budget.term_start} to {budget.term_end}."
        )
    if entry.allowance is not None and entry.allowance not in budget.allowances:
        raise ValueError(f"Entry {entry.id}: the package has no allowance '{entry.allowance}'.")


class _Ledger:
    """Running totals while entries are applied; keyed by contract quarter, year, allowance."""

    def __init__(self, budget: Budget):
        self.budget = budget
        self.allowances = {key: Allowance(*value) for key, value in budget.allowances.items()}
        self.quarter: dict[int, Decimal] = {}
        self.year: dict[int, Decimal] = {}
        self.allowance: dict[tuple[str, int], Decimal] = {}
        self.prepaid: dict[str, Decimal] = {}
        # What each entry still holds for a give-back: its split less what was given back.
        self.held: dict[int, list] = {}

    def allowance_key(self, name: str, year: int) -> tuple[str, int]:
        period = self.allowances[name].period
        return (name, year if period == AllowancePeriod.CONTRACT_YEAR else 0)

    def add(self, quarter: int, year: int, name: str | None, included: Decimal) -> None:
        self.quarter[quarter] = self.quarter.get(quarter, ZERO) + included
        self.year[year] = self.year.get(year, ZERO) + included
        if name is not None:
            key = self.allowance_key(name, year)
            self.allowance[key] = self.allowance.get(key, ZERO) + included


def _use_outside(ledger: _Ledger, entry: Entry, quarter: int, year: int) -> Split:
    key = ledger.allowance_key(entry.allowance, year)
    room = ledger.allowances[entry.allowance].hours - ledger.allowance.get(key, ZERO)
    prepaid = max(min(entry.hours, room), ZERO)
    ledger.allowance[key] = ledger.allowance.get(key, ZERO) + prepaid
    overage = entry.hours - prepaid
    ledger.held[entry.id] = [quarter, year, entry.allowance, overage, prepaid, ZERO, ZERO]
    limited_by = Limit.ALLOWANCE if overage else None
    return Split(entry.id, quarter, year, ZERO, overage, ZERO, limited_by, prepaid)


def _use(ledger: _Ledger, entry: Entry, quarter: int, year: int) -> Split:
    budget = ledger.budget
    if entry.allowance is not None and ledger.allowances[entry.allowance].outside_package:
        return _use_outside(ledger, entry, quarter, year)
    room = {
        Limit.QUARTER: budget.quarterly_hours - ledger.quarter.get(quarter, ZERO),
        Limit.YEAR: budget.annual_hours - ledger.year.get(year, ZERO),
    }
    if entry.allowance is not None:
        cap = ledger.allowances[entry.allowance].hours
        used = ledger.allowance.get(ledger.allowance_key(entry.allowance, year), ZERO)
        room[Limit.ALLOWANCE] = cap - used
    # The tightest limit binds; on a tie the first named (quarter, year, allowance) is reported.
    binding = min(room, key=lambda limit: room[limit])
    included = max(min(entry.hours, room[binding]), ZERO)
    ledger.add(quarter, year, entry.allowance, included)
    rest = entry.hours - included
    prepaid = ZERO
    if rest and entry.allowance is not None:
        bought = ledger.allowances[entry.allowance].prepaid_hours
        prepaid = min(rest, bought - ledger.prepaid.get(entry.allowance, ZERO))
        ledger.prepaid[entry.allowance] = ledger.prepaid.get(entry.allowance, ZERO) + prepaid
    overage = rest - prepaid
    ledger.held[entry.id] = [quarter, year, entry.allowance, overage, prepaid, included, ZERO]
    limited_by = binding if rest else None
    return Split(entry.id, quarter, year, included, overage, ZERO, limited_by, prepaid)


def _give_back(ledger: _Ledger, entry: Entry, quarter: int, year: int) -> Split:
    """Negative hours come off the corrected entry: its overage, then prepaid, then included
    hours (additional-cost hours, for additional-cost work); never more than it holds."""
    held = ledger.held.get(entry.adjusts) if entry.adjusts is not None else None
    if held is None:
        raise ValueError(
            f"Entry {entry.id}: only an adjusting entry, applied after the entry it corrects, "
            "can give hours back."
        )
    original_quarter, original_year, allowance, *parts = held
    amount = -entry.hours
    given = []
    for index, part in enumerate(parts):
        take = min(amount, part)
        parts[index] -= take
        given.append(take)
        amount -= take
    if amount:
        raise ValueError(
            f"Entry {entry.id}: gives back {-entry.hours} hours, more than entry "
            f"{entry.adjusts} has left."
        )
    overage, prepaid, included, additional = given
    ledger.held[entry.adjusts] = [original_quarter, original_year, allowance, *parts]
    # Hours go back to the allowance the corrected entry used, whatever the correction names.
    if prepaid and ledger.allowances[allowance].outside_package:
        key = ledger.allowance_key(allowance, original_year)
        ledger.allowance[key] -= prepaid
    elif prepaid:
        ledger.prepaid[allowance] -= prepaid
    ledger.add(original_quarter, original_year, allowance, -included)
    return Split(entry.id, quarter, year, -included, -overage, -additional, None, -prepaid)


def budget_split(budget: Budget, entries: Iterable[Entry]) -> list[Split]:
    """Split every entry into included, overage and additional-cost hours, in application order."""
    ledger = _Ledger(budget)
    quarter_starts = [q.start for q in contract_quarters(budget.term_start, budget.term_end)]
    year_starts = [y.start for y in contract_years(budget.term_start, budget.term_end)]
    splits = []
    for entry in sorted(entries, key=application_order):
        _check(budget, entry)
        # Periods are numbered from 1: the count of period starts on or before the day.
        quarter = bisect_right(quarter_starts, entry.worked_on)
        year = bisect_right(year_starts, entry.worked_on)
        if entry.hours < ZERO:
            split = _give_back(ledger, entry, quarter, year)
        elif entry.additional_cost:
            split = Split(entry.id, quarter, year, ZERO, ZERO, entry.hours, Limit.ADDITIONAL_COST)
            ledger.held[entry.id] = [quarter, year, None, ZERO, ZERO, ZERO, entry.hours]
        else:
            split = _use(ledger, entry, quarter, year)
        splits.append(split)
    return splits
