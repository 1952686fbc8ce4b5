"""Business calendars and business time: the arithmetic under every SLA clock.

Pure functions over plain values (aware datetimes, time zone names, timedeltas, dates): no
database, no settings, no clock, so every deadline can be recomputed and explained.

How business time is counted:
- A calendar is open, per weekday, during intervals of its own time zone's local wall-clock time,
  and closed all day on its holidays (local dates).
- Each local interval becomes the two real instants it opens and closes at, and business time is
  the real time elapsed between them. On an ordinary day 09:00-17:00 is 8 hours; an interval
  spanning a daylight saving change keeps its real length (00:00-06:00 is 5 hours on the spring
  change in Berlin, 7 on the autumn one). Deadlines are instants, so a change between two days
  never moves one on the wall clock: 4 business hours from Friday 15:00 is Monday 11:00, summer
  time or not.
- A wall-clock time that a spring change skips (02:30 in Berlin) stands for the instant of the
  change; a time that an autumn change repeats stands for its first occurrence.
- Intervals are half-open: business time runs from the opening instant up to the closing one.
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays as holidays_package

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MIDNIGHT = timedelta(0)
END_OF_DAY = timedelta(hours=24)

_MICROSECOND = timedelta(microseconds=1)
_DAY = 86_400_000_000  # microseconds
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NAIVE_EPOCH = datetime(1970, 1, 1)
_EPOCH_ORDINAL = _NAIVE_EPOCH.toordinal()


@dataclass(frozen=True, slots=True)
class Opening:
    """One interval of business hours on a weekday, as times after local midnight.

    `closes` may be 24:00 (`END_OF_DAY`): a desk open round the clock is 00:00-24:00, and a night
    shift is 22:00-24:00 on one day and 00:00-06:00 on the next.
    """

    opens: timedelta
    closes: timedelta

    def __post_init__(self) -> None:
        if not MIDNIGHT <= self.opens < self.closes <= END_OF_DAY:
            raise ValueError(
                f"Business hours must open before they close, between 00:00 and 24:00: {self}."
            )

    @classmethod
    def parse(cls, text: str) -> "Opening":
        """Hours as people write them: "08:00-12:00", "13:30-24:00"."""
        opens, separator, closes = text.strip().partition("-")
        if not separator:
            raise ValueError(f'Business hours are written "08:00-12:00", not "{text}".')
        return cls(_clock_parse(opens), _clock_parse(closes))

    def __str__(self) -> str:
        return f"{_clock(self.opens)}-{_clock(self.closes)}"


def _clock_parse(text: str) -> timedelta:
    parts = text.strip().split(":")
    if len(parts) not in (2, 3) or not all(part.isdigit() for part in parts):
        raise ValueError(f'A time of day is written "08:30", not "{text.strip()}".')
    hours, minutes, *seconds = (int(part) for part in parts)
    if minutes > 59 or (seconds and seconds[0] > 59):
        raise ValueError(f'"{text.strip()}" is not a time of day.')
    return timedelta(hours=hours, minutes=minutes, seconds=seconds[0] if seconds else 0)


def _clock(offset: timedelta) -> str:
    minutes, seconds = divmod(int(offset.total_seconds()), 60)
    text = f"{minutes // 60:02d}:{minutes % 60:02d}"
    return f"{text}:{seconds:02d}" if seconds else text


@dataclass(frozen=True, slots=True)
class BusinessCalendar:
    """When an SLA clock runs: weekly hours in a named time zone, minus holidays.

    `weekly_hours` holds seven tuples of openings, Monday first; openings of one day may touch but
    not overlap. `holidays` are local dates, filled from the `holidays` package
    (`holiday_dates`) or from a list; only the years given are known, so fill every year a ticket
    can reach.
    """

    name: str
    time_zone: str
    weekly_hours: tuple[tuple[Opening, ...], ...]
    holidays: frozenset[date] = frozenset()
    # Derived once, for speed: per weekday the openings in microseconds after midnight.
    _zone: ZoneInfo = field(init=False, repr=False, compare=False)
    _openings: tuple[tuple[tuple[int, int], ...], ...] = field(
        init=False, repr=False, compare=False
    )
    _totals: tuple[int, ...] = field(init=False, repr=False, compare=False)
    _closed_days: frozenset[int] = field(init=False, repr=False, compare=False)
    _always: bool = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        try:
            zone = ZoneInfo(self.time_zone)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError(f'"{self.time_zone}" is not a known time zone.') from error
        if len(self.weekly_hours) != len(WEEKDAYS):
            raise ValueError("Weekly hours list the seven weekdays, Monday first.")
        week = tuple(tuple(sorted(day, key=lambda o: o.opens)) for day in self.weekly_hours)
        for weekday, openings in zip(WEEKDAYS, week, strict=True):
            for earlier, later in zip(openings, openings[1:], strict=False):
                if later.opens < earlier.closes:
                    raise ValueError(f"Business hours overlap on {weekday}: {earlier}, {later}.")
        if not any(week):
            raise ValueError(f'The calendar "{self.name}" has no business hours at all.')
        openings = tuple(
            tuple((o.opens // _MICROSECOND, o.closes // _MICROSECOND) for o in day) for day in week
        )
        set_ = object.__setattr__
        set_(self, "weekly_hours", week)
        set_(self, "holidays", frozenset(self.holidays))
        set_(self, "_zone", zone)
        set_(self, "_openings", openings)
        set_(self, "_totals", tuple(sum(c - o for o, c in day) for day in openings))
        set_(self, "_closed_days", frozenset(day.toordinal() for day in self.holidays))
        set_(self, "_always", not self.holidays and all(day == ((0, _DAY),) for day in openings))

    @classmethod
    def from_hours(
        cls,
        name: str,
        time_zone: str,
        hours: Mapping[str, str | Iterable[str]],
        holidays: Iterable[date] = (),
    ) -> "BusinessCalendar":
        """A calendar from hours as a policy file writes them.

        `{"mon-fri": "08:00-12:00, 13:00-17:00", "sat": ["09:00-12:00"]}`; days not named are
        closed, and a day named twice gets both sets of hours.
        """
        week: list[list[Opening]] = [[] for _ in WEEKDAYS]
        for days, intervals in hours.items():
            texts = intervals.split(",") if isinstance(intervals, str) else intervals
            for weekday in _weekdays_parse(days):
                week[weekday].extend(Opening.parse(text) for text in texts)
        return cls(name, time_zone, tuple(tuple(day) for day in week), frozenset(holidays))

    @classmethod
    def always(cls) -> "BusinessCalendar":
        """Round the clock, every day of the year: business time is plain elapsed time."""
        return TWENTY_FOUR_SEVEN

    @property
    def zone(self) -> ZoneInfo:
        return self._zone

    def _day(self, ordinal: int) -> tuple[int, tuple[tuple[int, int], ...], int]:
        """One local day's openings as real instants: (base, openings, total) in microseconds.

        An opening is from `base + opens` to `base + closes`. On a day whose midnights share one
        UTC offset (every day but those of a daylight saving change, which happens at most once a
        day) the base is the real instant of local midnight and the openings are the weekday's
        own; otherwise each boundary is placed on its own and the base is 0.
        """
        if ordinal in self._closed_days:
            return 0, (), 0
        weekday = (ordinal + 6) % 7
        openings = self._openings[weekday]
        if not openings:
            return 0, (), 0
        midnight = (ordinal - _EPOCH_ORDINAL) * _DAY  # local wall-clock, as if it were UTC
        first, later = _midnight_offsets(self._zone, ordinal)
        if first == later and _midnight_offsets(self._zone, ordinal + 1) == (first, first):
            return midnight - first, openings, self._totals[weekday]
        placed = tuple(
            (_wall_instant(self._zone, midnight + o), _wall_instant(self._zone, midnight + c))
            for o, c in openings
        )
        return 0, placed, sum(c - o for o, c in placed)


def _weekdays_parse(text: str) -> list[int]:
    """Days as a policy file writes them ("mon-fri, sun") as weekday numbers, Monday 0."""
    found: list[int] = []
    for part in text.lower().split(","):
        first, _, last = part.strip().partition("-")
        try:
            start = WEEKDAYS.index(first.strip())
            end = WEEKDAYS.index(last.strip()) if last else start
        except ValueError:
            raise ValueError(f'Days are written "mon-fri" or "sat, sun", not "{text}".') from None
        if end < start:
            raise ValueError(f'Day ranges run Monday to Sunday: "{part.strip()}".')
        found.extend(range(start, end + 1))
    return found


TWENTY_FOUR_SEVEN = BusinessCalendar(
    name="24x7",
    time_zone="UTC",
    weekly_hours=tuple((Opening(MIDNIGHT, END_OF_DAY),) for _ in WEEKDAYS),
)


def holiday_dates(
    country: str,
    years: int | Iterable[int],
    subdiv: str | None = None,
    extra: Iterable[date] = (),
) -> frozenset[date]:
    """Public holidays of a country (or one of its states) for `years`, plus listed dates."""
    years = [years] if isinstance(years, int) else list(years)
    try:
        found = holidays_package.country_holidays(country, subdiv=subdiv, years=years)
    except NotImplementedError as error:
        place = " ".join(part for part in (country, subdiv) if part)
        raise ValueError(f"No holidays are known for {place}.") from error
    return frozenset(found) | frozenset(extra)


# --- business time --------------------------------------------------------------------------


def add_business_time(start: datetime, duration: timedelta, calendar: BusinessCalendar) -> datetime:
    """The instant `duration` of business time has run after `start`, in `start`'s time zone.

    It is the earliest such instant, so a deadline that lands exactly on closing time stays on
    that day (the closing instant), not on the next opening. A start outside business hours
    counts from the next opening. A zero duration gives the instant the clock first runs: `start`
    itself during business hours, otherwise the next opening (a start exactly at closing time is
    outside: intervals are half-open).
    """
    _require_aware(start)
    if duration < timedelta(0):
        raise ValueError("A business-time duration cannot be negative.")
    if calendar._always:
        return (start.astimezone(UTC) + duration).astimezone(start.tzinfo)
    at = _instant(start)
    remaining = duration // _MICROSECOND
    ordinal = start.astimezone(calendar._zone).toordinal()
    while True:
        base, openings, total = calendar._day(ordinal)
        if total and remaining > total and base + openings[0][0] >= at:
            remaining -= total  # the whole day runs and is not enough
        else:
            for opens, closes in openings:
                closes += base
                if closes <= at:
                    continue
                begin = max(base + opens, at)
                if begin + remaining <= closes:
                    return _datetime(begin + remaining, start.tzinfo)
                remaining -= closes - begin
        ordinal += 1


def business_time_between(start: datetime, end: datetime, calendar: BusinessCalendar) -> timedelta:
    """Business time inside [start, end): how long a pause held a clock, in the clock's terms."""
    _require_aware(start)
    _require_aware(end)
    begin, finish = _instant(start), _instant(end)
    if finish < begin:
        raise ValueError("The end of a period cannot come before its start.")
    if calendar._always:
        return (finish - begin) * _MICROSECOND
    zone = calendar._zone
    ordinal = start.astimezone(zone).toordinal()
    # The day after the end's too: where an autumn change repeats midnight, its first hour can
    # open before an end that is still on the previous local date.
    last = end.astimezone(zone).toordinal() + 1
    elapsed = 0
    while ordinal <= last:
        base, openings, total = calendar._day(ordinal)
        if total and base + openings[0][0] >= begin and base + openings[-1][1] <= finish:
            elapsed += total
        else:
            for opens, closes in openings:
                overlap = min(base + closes, finish) - max(base + opens, begin)
                if overlap > 0:
                    elapsed += overlap
        ordinal += 1
    return elapsed * _MICROSECOND


def add_business_days(start: datetime, days: int, calendar: BusinessCalendar) -> datetime:
    """The close of business on the `days`-th business day after `start`'s local day.

    "Root cause analysis within 5 business days of resolution": resolved on a Tuesday at any
    hour, due at closing time on the following Tuesday (weekends and holidays not counted).
    The start's own day never counts, whether or not it is a business day. With 0 days: the
    close of the start's own business day, or of the next business day when the start is on a
    closed day or after closing. On a round-the-clock calendar a day closes at 24:00.
    """
    _require_aware(start)
    if days < 0:
        raise ValueError("A number of business days cannot be negative.")
    at = _instant(start)
    ordinal = start.astimezone(calendar._zone).toordinal()
    if days == 0:
        while True:
            base, openings, _total = calendar._day(ordinal)
            if openings and base + openings[-1][1] > at:
                return _datetime(base + openings[-1][1], start.tzinfo)
            ordinal += 1
    counted = 0
    while True:
        ordinal += 1
        base, openings, _total = calendar._day(ordinal)
        if openings:
            counted += 1
            if counted == days:
                return _datetime(base + openings[-1][1], start.tzinfo)


def deadline(
    start: datetime,
    duration: timedelta,
    calendar: BusinessCalendar,
    paused: Sequence[tuple[datetime, datetime | None]] = (),
) -> datetime | None:
    """When a target of `duration` business time from `start` is due, given its pauses.

    Business time inside a pause does not count, so a pause moves the deadline by exactly the
    business time it held (a pause over a weekend moves nothing). A pause still open (its end
    None) stops the clock: there is no deadline, unless it was reached before the pause began.
    Pauses wholly after the deadline change nothing. Pauses may overlap and come in any order.
    """
    _require_aware(start)
    if duration < timedelta(0):
        raise ValueError("A business-time duration cannot be negative.")
    at = start.astimezone(UTC)
    remaining = duration
    for pause_start, pause_end in _pauses_merge(at, paused):
        if pause_start > at:
            running = business_time_between(at, pause_start, calendar)
            # Reached before the pause; with nothing left to run, only if the clock ran at all.
            if remaining <= running and running:
                return add_business_time(at, remaining, calendar).astimezone(start.tzinfo)
            remaining -= running
        if pause_end is None:
            return None
        at = max(at, pause_end)
    return add_business_time(at, remaining, calendar).astimezone(start.tzinfo)


def _pauses_merge(
    start: datetime, paused: Sequence[tuple[datetime, datetime | None]]
) -> list[tuple[datetime, datetime | None]]:
    """Pauses in UTC, in order, overlapping ones joined, those ended by `start` left out."""
    pauses = []
    for pause_start, pause_end in paused:
        _require_aware(pause_start)
        if pause_end is not None:
            _require_aware(pause_end)
            if pause_end < pause_start:
                raise ValueError("A pause cannot end before it starts.")
            if pause_end <= start:
                continue
            pause_end = pause_end.astimezone(UTC)
        pauses.append((max(pause_start.astimezone(UTC), start), pause_end))
    pauses.sort(key=lambda pause: pause[0])
    merged: list[tuple[datetime, datetime | None]] = []
    for pause_start, pause_end in pauses:
        if merged and (merged[-1][1] is None or pause_start <= merged[-1][1]):
            previous_start, previous_end = merged[-1]
            if previous_end is not None and pause_end is not None:
                pause_end = max(previous_end, pause_end)
            merged[-1] = (previous_start, None if previous_end is None else pause_end)
        else:
            merged.append((pause_start, pause_end))
    return merged


# --- instants as microseconds since the epoch ------------------------------------------------


def _require_aware(moment: datetime) -> None:
    if moment.utcoffset() is None:
        raise ValueError(f"{moment} has no time zone; SLA clocks need real instants.")


def _instant(moment: datetime) -> int:
    return (moment - _EPOCH) // _MICROSECOND


def _datetime(instant: int, tz: tzinfo | None) -> datetime:
    return (_EPOCH + timedelta(microseconds=instant)).astimezone(tz)


@lru_cache(maxsize=16384)
def _midnight_offsets(zone: ZoneInfo, ordinal: int) -> tuple[int, int]:
    """UTC offsets of local midnight, first and repeated reading; they differ around a change."""
    midnight = datetime.fromordinal(ordinal)
    return (
        zone.utcoffset(midnight) // _MICROSECOND,
        zone.utcoffset(midnight.replace(fold=1)) // _MICROSECOND,
    )


def _wall_instant(zone: ZoneInfo, wall: int) -> int:
    """The instant of a local wall-clock time: its first occurrence, or the change it falls in."""
    local = _NAIVE_EPOCH + timedelta(microseconds=wall)
    first = zone.utcoffset(local) // _MICROSECOND
    repeated = zone.utcoffset(local.replace(fold=1)) // _MICROSECOND
    if first >= repeated:  # exists once, or twice (autumn) and the first one is taken
        return wall - first
    # Skipped by a spring change: the change lies after `wall - repeated`, at or before
    # `wall - first`; find its instant.
    before, after = wall - repeated, wall - first
    while after - before > 1:
        middle = (before + after) // 2
        if _datetime(middle, zone).utcoffset() // _MICROSECOND == first:
            before = middle
        else:
            after = middle
    return after
