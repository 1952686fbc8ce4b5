"""Deliverable schedules: the periods and due dates a frequency gives over a contract term.

Pure functions over dates (Tables 2-4 of the CSO terms). Every occurrence has a period, the
window a CSM may reschedule it within, and is due on the period's last day. Periods are counted
inside each contract year, so every full year of a term gets exactly the number the frequency
promises: 52 weekly (the one or two days past 52 weeks join the last week), 24 twice monthly,
12 monthly, 8 twice per quarter, 4 quarterly, 2 semi-annual or twice yearly, 1 annual, and N for
"up to N per year", whose occurrences the customer may leave unused. A term that ends part-way
through a year gets the periods that start before it ends, the last one cut short.
"""

from dataclasses import dataclass
from datetime import date, timedelta

from .quarters import Period, anniversary, contract_years

DAY = timedelta(days=1)

MONTHS_PER_PERIOD = {
    "monthly": 1,
    "quarterly": 3,
    "semi_annual": 6,
    "twice_yearly": 6,
    "annual": 12,
}
HALVED = {"twice_monthly": 1, "twice_per_quarter": 3}


@dataclass(frozen=True, slots=True)
class Slot:
    """One occurrence to schedule: due on `due_on`, movable within `start`..`end`."""

    year: int
    start: date
    end: date
    optional: bool = False

    @property
    def due_on(self) -> date:
        return self.end


def _month_periods(start: date, end: date, months: int) -> list[tuple[date, date]]:
    periods = []
    index = 0
    while (period_start := anniversary(start, months * index)) <= end:
        next_start = anniversary(start, months * (index + 1))
        periods.append((period_start, min(next_start - DAY, end)))
        index += 1
    return periods


def _split(start: date, end: date, parts: int) -> list[tuple[date, date]]:
    """Cut an inclusive range into `parts` runs of days as even as they can be."""
    days = (end - start).days + 1
    parts = max(min(parts, days), 1)
    bounds = [start + timedelta(days=days * k // parts) for k in range(parts + 1)]
    return [(bounds[k], bounds[k + 1] - DAY) for k in range(parts)]


def _weeks(start: date, end: date) -> list[tuple[date, date]]:
    weeks = max(((end - start).days + 1) // 7, 1)
    periods = [
        (start + timedelta(weeks=k), start + timedelta(weeks=k + 1) - DAY) for k in range(weeks)
    ]
    return periods[:-1] + [(periods[-1][0], end)]  # leftover days join the last week


def _year_periods(
    year: Period, frequency: str, max_per_year: int | None
) -> list[tuple[date, date]]:
    if frequency == "weekly":
        return _weeks(year.start, year.end)
    if frequency in MONTHS_PER_PERIOD:
        return _month_periods(year.start, year.end, MONTHS_PER_PERIOD[frequency])
    if frequency in HALVED:
        return [
            half
            for start, end in _month_periods(year.start, year.end, HALVED[frequency])
            for half in _split(start, end, 2)
        ]
    if frequency == "up_to_n_per_year":
        if not max_per_year or max_per_year < 1:
            raise ValueError('"Up to N per year" needs N of 1 or more.')
        if 12 % max_per_year == 0:
            return _month_periods(year.start, year.end, 12 // max_per_year)
        return _split(year.start, year.end, max_per_year)
    raise ValueError(f"Unknown frequency '{frequency}'.")


def schedule_slots(
    *, frequency: str, term_start: date, term_end: date, max_per_year: int | None = None
) -> list[Slot]:
    """Every occurrence a frequency gives over the term, in date order."""
    optional = frequency == "up_to_n_per_year"
    return [
        Slot(year=year.index, start=start, end=end, optional=optional)
        for year in contract_years(term_start, term_end)
        for start, end in _year_periods(year, frequency, max_per_year)
    ]
