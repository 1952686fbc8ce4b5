"""Contract periods: quarters and years counted from the term start, not the calendar.

Pure functions over dates. Quarter n of a term starting on D begins on D + 3(n-1) months; each
boundary is computed from the term start itself (not from the previous boundary), so a term
starting on 31 January has quarters starting on the 31st again in July and October rather than
drifting to the 30th. When the month has no such day (30 April has no 31st), the period starts on
the first day of the next month: quarters of a term starting 31 January start 31 Jan, 1 May,
31 Jul and 31 Oct, and a year starting 29 February 2024 runs to 28 February 2025. The last
period of a term is cut short at the term end.
"""

from dataclasses import dataclass
from datetime import date, timedelta

from dateutil.relativedelta import relativedelta

MONTHS_PER_QUARTER = 3
MONTHS_PER_YEAR = 12


@dataclass(frozen=True, slots=True)
class Period:
    """A contract period; `start` and `end` are both inclusive."""

    index: int
    start: date
    end: date

    def __contains__(self, day: date) -> bool:
        return self.start <= day <= self.end

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


def anniversary(term_start: date, months: int) -> date:
    """The day `months` months after the term start; the 1st of the next month if it has none."""
    shifted = term_start + relativedelta(months=months)
    if shifted.day < term_start.day:  # the month is too short for the start's day
        shifted += timedelta(days=1)
    return shifted


def _periods(term_start: date, term_end: date, months: int) -> list[Period]:
    if term_end < term_start:
        raise ValueError(f"The term ends ({term_end}) before it starts ({term_start}).")
    periods = []
    index = 0
    while True:
        start = anniversary(term_start, months * index)
        if start > term_end:
            return periods
        next_start = anniversary(term_start, months * (index + 1))
        end = min(next_start - timedelta(days=1), term_end)
        periods.append(Period(index=index + 1, start=start, end=end))
        index += 1


def contract_quarters(term_start: date, term_end: date) -> list[Period]:
    """All contract quarters of a term, numbered from 1."""
    return _periods(term_start, term_end, MONTHS_PER_QUARTER)


def contract_years(term_start: date, term_end: date) -> list[Period]:
    """All contract years of a term, numbered from 1."""
    return _periods(term_start, term_end, MONTHS_PER_YEAR)


def _period_containing(term_start: date, term_end: date, day: date, months: int) -> Period:
    if not term_start <= day <= term_end:
        raise ValueError(f"{day} is outside the term {term_start} to {term_end}.")
    elapsed = (day.year - term_start.year) * 12 + (day.month - term_start.month)
    index = max(elapsed // months - 1, 0)
    # The month count can overshoot by one period when the day of month is before the start day.
    for candidate in range(index, index + 3):
        start = anniversary(term_start, months * candidate)
        next_start = anniversary(term_start, months * (candidate + 1))
        if start <= day < next_start:
            return Period(
                index=candidate + 1,
                start=start,
                end=min(next_start - timedelta(days=1), term_end),
            )
    raise AssertionError("unreachable: a day inside the term lies in one of its periods")


def quarter_containing(term_start: date, term_end: date, day: date) -> Period:
    """The contract quarter a day falls in."""
    return _period_containing(term_start, term_end, day, MONTHS_PER_QUARTER)


def year_containing(term_start: date, term_end: date, day: date) -> Period:
    """The contract year a day falls in."""
    return _period_containing(term_start, term_end, day, MONTHS_PER_YEAR)


def default_term_end(term_start: date, months: int = MONTHS_PER_YEAR) -> date:
    """The last day of a term of `months` months starting on `term_start`."""
    return anniversary(term_start, months) - timedelta(days=1)
