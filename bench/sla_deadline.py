"""SLA deadline benchmark: business-time arithmetic for one target, against minute stepping.

Usage (pure Python: no database, no Django):
    .venv/bin/python bench/sla_deadline.py
    .venv/bin/python bench/sla_deadline.py --starts 500   # a quicker run

The calendar is a Berlin office, Monday to Friday 09:00-12:00 and 13:00-17:00 (7 business hours
a day), with Germany's public holidays of 2026-2028. Starts are random instants of 2026 (any
day, any hour: nights, weekends, holidays, both changes of clocks), the same for every row.

Each call is timed on its own. `add_business_time` and `deadline` (with two closed pauses, one
in the first hour and one a day later) run warm: the UTC offsets of local midnights are cached
per time zone and day, as they are in a worker that computes many deadlines. "cold" clears that
cache before each call: the cost of a first deadline over days nobody asked about yet. The
reference steps minute by minute, as a naive implementation would; it is only run for the short
targets and fewer starts, since it takes milliseconds a call.
"""

import argparse
import random
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tickets import calendars  # noqa: E402
from tickets.calendars import (  # noqa: E402
    BusinessCalendar,
    add_business_days,
    add_business_time,
    deadline,
    holiday_dates,
)

TARGET_MEDIAN_US = 200
CALENDAR = BusinessCalendar.from_hours(
    "Berlin office",
    "Europe/Berlin",
    {"mon-fri": "09:00-12:00, 13:00-17:00"},
    holiday_dates("DE", range(2026, 2029)),
)
MINUTE = timedelta(minutes=1)


def reference_add(start: datetime, duration: timedelta, calendar: BusinessCalendar) -> datetime:
    """Minute stepping: the naive way, one local conversion per minute of the calendar."""
    minutes = duration // MINUTE
    moment = start.astimezone(UTC).replace(second=0, microsecond=0)
    while True:
        local = moment.astimezone(calendar.zone)
        time_of_day = timedelta(hours=local.hour, minutes=local.minute)
        if local.date() not in calendar.holidays and any(
            o.opens <= time_of_day < o.closes for o in calendar.weekly_hours[local.weekday()]
        ):
            minutes -= 1
            if minutes <= 0:
                return moment + MINUTE
        moment += MINUTE


def timed_us(call: Callable[[datetime], object], starts: list[datetime], cold: bool = False):
    samples = []
    clock = time.perf_counter_ns
    for start in starts:
        if cold:
            calendars._midnight_offsets.cache_clear()
        began = clock()
        call(start)
        samples.append((clock() - began) / 1000)
    return samples


def summary(samples: list[float] | None) -> str:
    if not samples:
        return "-"
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(len(ordered) * 0.95))]
    return f"{statistics.median(samples):,.1f} / {p95:,.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--starts", type=int, default=5000, help="random starts per row")
    parser.add_argument("--reference-starts", type=int, default=200)
    arguments = parser.parse_args()

    rng = random.Random(2026)
    year = datetime(2026, 1, 1, tzinfo=UTC)
    starts = [year + timedelta(seconds=rng.randrange(365 * 86400)) for _ in range(arguments.starts)]
    reference_starts = starts[: arguments.reference_starts]

    def paused(start: datetime) -> list[tuple[datetime, datetime]]:
        return [
            (start + timedelta(minutes=20), start + timedelta(minutes=50)),
            (start + timedelta(days=1), start + timedelta(days=1, hours=2)),
        ]

    hour = timedelta(hours=1)
    rows = [
        ("1 business hour", hour, True),
        ("8 business hours", 8 * hour, True),
        ("5 business days (35 h)", 35 * hour, True),
        ("4 weeks (140 h)", 140 * hour, False),
    ]
    table = []
    for label, duration, with_reference in rows:
        for start in starts[:200]:  # warm up
            add_business_time(start, duration, CALENDAR)
        table.append(
            (
                label,
                timed_us(lambda s, d=duration: add_business_time(s, d, CALENDAR), starts),
                timed_us(lambda s, d=duration: deadline(s, d, CALENDAR, paused(s)), starts),
                timed_us(lambda s, d=duration: add_business_time(s, d, CALENDAR), starts, True),
                timed_us(lambda s, d=duration: reference_add(s, d, CALENDAR), reference_starts)
                if with_reference
                else None,
            )
        )
    for days in (5, 20):
        table.append(
            (
                f"`add_business_days` {days}",
                timed_us(lambda s, n=days: add_business_days(s, n, CALENDAR), starts),
                None,
                timed_us(lambda s, n=days: add_business_days(s, n, CALENDAR), starts, True),
                None,
            )
        )

    for start in reference_starts[:50]:  # the two agree
        whole_minute = start.replace(second=0, microsecond=0)
        for duration in (hour, 8 * hour):
            expected = reference_add(start, duration, CALENDAR)
            assert add_business_time(whole_minute, duration, CALENDAR) == expected

    print(
        f"{len(starts):,} random starts in 2026 ({len(reference_starts)} for minute stepping), "
        f"Python {sys.version.split()[0]}; median / p95 in µs"
    )
    headers = ("target", "add_business_time", "deadline, 2 pauses", "cold cache", "minute stepping")
    print("| " + " | ".join(headers) + " | met |")
    print("|" + "---|" * (len(headers) + 1))
    for label, warm, with_pauses, cold, reference in table:
        medians = [statistics.median(samples) for samples in (warm, with_pauses) if samples]
        met = "yes" if max(medians) < TARGET_MEDIAN_US else "NO"
        cells = (label, summary(warm), summary(with_pauses), summary(cold), summary(reference))
        print("| " + " | ".join(cells) + f" | {met} |")


if __name__ == "__main__":
    main()
