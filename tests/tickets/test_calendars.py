"""Business time for SLA clocks: hours, lunch breaks, holidays, time zones, DST and pauses."""

import random
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tickets.calendars import (
    TWENTY_FOUR_SEVEN,
    BusinessCalendar,
    add_business_days,
    add_business_time,
    business_time_between,
    deadline,
    holiday_dates,
)

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
TOKYO = ZoneInfo("Asia/Tokyo")
SANTIAGO = ZoneInfo("America/Santiago")

# Mon-Fri 08:00-12:00 and 13:00-17:00: 8 business hours a day, 40 a week.
BERLIN_OFFICE = BusinessCalendar.from_hours(
    "Berlin office",
    "Europe/Berlin",
    {"mon-fri": "08:00-12:00, 13:00-17:00"},
    holiday_dates("DE", [2026, 2027]),
)
NEW_YORK_OFFICE = BusinessCalendar.from_hours(
    "New York office", "America/New_York", {"mon-fri": "09:00-17:00"}, holiday_dates("US", 2026)
)
TOKYO_OFFICE = BusinessCalendar.from_hours(
    "Tokyo office", "Asia/Tokyo", {"mon-fri": "09:00-18:00"}, holiday_dates("JP", 2026)
)


def berlin(*fields: int) -> datetime:
    return datetime(*fields, tzinfo=BERLIN)


def new_york(*fields: int) -> datetime:
    return datetime(*fields, tzinfo=NEW_YORK)


def hours(value: float) -> timedelta:
    return timedelta(hours=value)


# --- calendars ------------------------------------------------------------------------------


def test_calendar_from_hours_as_a_policy_file_writes_them():
    calendar = BusinessCalendar.from_hours(
        "Support desk",
        "Europe/Berlin",
        {"mon-fri": "13:00-17:00, 08:00-12:00", "sat, sun": ["10:00-14:00"], "fri": "18:00-24:00"},
    )

    assert [str(o) for o in calendar.weekly_hours[0]] == ["08:00-12:00", "13:00-17:00"]
    assert [str(o) for o in calendar.weekly_hours[4]] == [
        "08:00-12:00",
        "13:00-17:00",
        "18:00-24:00",
    ]
    assert [str(o) for o in calendar.weekly_hours[6]] == ["10:00-14:00"]
    assert calendar.weekly_hours[4][-1].closes == timedelta(hours=24)
    assert calendar.holidays == frozenset()


@pytest.mark.parametrize(
    ("hours_", "message"),
    [
        (
            {"mon": "08:00-12:00, 11:00-13:00"},
            "Business hours overlap on mon: 08:00-12:00, 11:00-13:00.",
        ),
        ({"mon": "17:00-08:00"}, "must open before they close"),
        ({"mon": "08:00-25:00"}, "must open before they close"),
        ({"mon": "8 to 5"}, 'Business hours are written "08:00-12:00"'),
        ({"mon": "08:00-12:75"}, "is not a time of day"),
        ({"weekdays": "08:00-12:00"}, 'Days are written "mon-fri"'),
        ({"fri-mon": "08:00-12:00"}, "Day ranges run Monday to Sunday"),
        ({}, 'The calendar "Desk" has no business hours at all.'),
    ],
)
def test_calendars_that_make_no_sense_are_refused(hours_, message):
    with pytest.raises(ValueError, match=message):
        BusinessCalendar.from_hours("Desk", "Europe/Berlin", hours_)


def test_an_unknown_time_zone_is_refused():
    with pytest.raises(ValueError, match='"Europe/Atlantis" is not a known time zone.'):
        BusinessCalendar.from_hours("Desk", "Europe/Atlantis", {"mon": "08:00-12:00"})


def test_openings_may_touch():
    calendar = BusinessCalendar.from_hours("Desk", "UTC", {"mon": "08:00-12:00, 12:00-16:00"})

    start = datetime(2026, 11, 23, 11, tzinfo=UTC)
    assert add_business_time(start, hours(2), calendar) == datetime(2026, 11, 23, 13, tzinfo=UTC)


def test_holiday_dates_come_from_the_holidays_package_plus_listed_days():
    national = holiday_dates("DE", 2026)
    bavaria = holiday_dates("DE", [2026], subdiv="BY", extra=[date(2026, 12, 24)])

    assert date(2026, 12, 25) in national
    assert date(2026, 1, 6) not in national  # Epiphany is a holiday in some states only
    assert {date(2026, 1, 6), date(2026, 12, 24), date(2026, 12, 25)} <= bavaria
    assert len(national) == 9


def test_holiday_dates_of_an_unknown_country_are_refused():
    with pytest.raises(ValueError, match=r"^No holidays are known for XX\.$"):
        holiday_dates("XX", 2026)


# --- adding business time --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "duration", "due"),
    [
        (berlin(2026, 11, 23, 9), hours(2), berlin(2026, 11, 23, 11)),  # within the morning
        (berlin(2026, 11, 23, 11), hours(2), berlin(2026, 11, 23, 14)),  # over the lunch break
        (berlin(2026, 11, 23, 6), hours(1), berlin(2026, 11, 23, 9)),  # before opening
        (berlin(2026, 11, 23, 12, 30), hours(1), berlin(2026, 11, 23, 14)),  # during lunch
        (berlin(2026, 11, 23, 18), hours(1), berlin(2026, 11, 24, 9)),  # after closing
        (berlin(2026, 11, 23, 16, 30), hours(1), berlin(2026, 11, 24, 8, 30)),  # overnight
        (berlin(2026, 11, 28, 10), hours(1), berlin(2026, 11, 30, 9)),  # on a Saturday
        (berlin(2026, 11, 27, 16), hours(2), berlin(2026, 11, 30, 9)),  # over the weekend
        (berlin(2026, 4, 3, 10), hours(1), berlin(2026, 4, 7, 9)),  # Good Friday to after Easter
        (berlin(2026, 12, 24, 16), hours(2), berlin(2026, 12, 28, 9)),  # over Christmas
        (
            berlin(2026, 11, 23, 9, 15, 30),
            timedelta(minutes=20, seconds=45),
            berlin(2026, 11, 23, 9, 36, 15),
        ),
    ],
)
def test_business_time_runs_only_in_business_hours(start, duration, due):
    assert add_business_time(start, duration, BERLIN_OFFICE) == due


@pytest.mark.parametrize(
    ("start", "duration", "due"),
    [
        (berlin(2026, 11, 23, 16), hours(1), berlin(2026, 11, 23, 17)),
        (berlin(2026, 11, 23, 8), hours(8), berlin(2026, 11, 23, 17)),
        (berlin(2026, 11, 23, 18), hours(8), berlin(2026, 11, 24, 17)),
        (berlin(2026, 11, 23, 9), hours(3), berlin(2026, 11, 23, 12)),  # lunch is a closing too
    ],
)
def test_a_deadline_exactly_at_closing_time_stays_on_that_day(start, duration, due):
    assert add_business_time(start, duration, BERLIN_OFFICE) == due


@pytest.mark.parametrize(
    ("start", "due"),
    [
        (berlin(2026, 11, 23, 10), berlin(2026, 11, 23, 10)),  # in business hours: the start
        (berlin(2026, 11, 23, 8), berlin(2026, 11, 23, 8)),  # at opening: the start
        (berlin(2026, 11, 23, 12, 10), berlin(2026, 11, 23, 13)),  # at lunch: after lunch
        (berlin(2026, 11, 23, 17), berlin(2026, 11, 24, 8)),  # at closing: closed already
        (berlin(2026, 11, 28, 10), berlin(2026, 11, 30, 8)),  # on a Saturday: Monday
    ],
)
def test_zero_business_time_is_the_first_instant_the_clock_runs(start, due):
    assert add_business_time(start, timedelta(0), BERLIN_OFFICE) == due


@pytest.mark.parametrize(
    ("start", "due"),
    [
        # Two weeks of November without a holiday.
        (berlin(2026, 11, 2, 8), berlin(2026, 11, 13, 17)),
        # Over Easter: Good Friday and Easter Monday are skipped, so 80 hours end on Tuesday.
        (berlin(2026, 3, 30, 8), berlin(2026, 4, 14, 17)),
        # Over Christmas and the new year: 24 and 31 December are working days in Germany.
        (berlin(2026, 12, 21, 12), berlin(2027, 1, 6, 12)),
    ],
)
def test_eighty_business_hours_run_over_weeks_and_holidays(start, due):
    assert add_business_time(start, hours(80), BERLIN_OFFICE) == due


def test_a_target_weeks_away_counts_every_business_hour():
    start = berlin(2026, 5, 4, 8)  # May: Ascension Day (14th) and Whit Monday (25th)

    due = add_business_time(start, hours(160), BERLIN_OFFICE)

    # 20 working days: 18 in May after Ascension Day and Whit Monday, then 1 and 2 June.
    assert due == berlin(2026, 6, 2, 17)
    assert business_time_between(start, due, BERLIN_OFFICE) == hours(160)


def test_a_start_without_time_zone_or_a_negative_duration_is_refused():
    with pytest.raises(ValueError, match="has no time zone"):
        add_business_time(datetime(2026, 11, 23, 9), hours(1), BERLIN_OFFICE)
    with pytest.raises(ValueError, match="cannot be negative"):
        add_business_time(berlin(2026, 11, 23, 9), hours(-1), BERLIN_OFFICE)


# --- daylight saving time -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("calendar", "start", "duration", "due", "offset_before", "offset_after"),
    [
        # Berlin moves to summer time on Sunday 29 March, back on Sunday 25 October.
        # Friday 15:00-17:00, then Monday 08:00-11:00.
        (BERLIN_OFFICE, berlin(2026, 3, 27, 15), hours(5), berlin(2026, 3, 30, 11), 1, 2),
        (BERLIN_OFFICE, berlin(2026, 10, 23, 15), hours(5), berlin(2026, 10, 26, 11), 2, 1),
        # New York on Sunday 8 March and Sunday 1 November: Friday 15-17, Monday 09-11.
        (NEW_YORK_OFFICE, new_york(2026, 3, 6, 15), hours(4), new_york(2026, 3, 9, 11), -5, -4),
        (NEW_YORK_OFFICE, new_york(2026, 10, 30, 15), hours(4), new_york(2026, 11, 2, 11), -4, -5),
    ],
)
def test_a_change_of_clocks_over_the_weekend_does_not_shift_the_deadline(
    calendar, start, duration, due, offset_before, offset_after
):
    result = add_business_time(start, duration, calendar)

    assert result == due
    assert (result.hour, result.minute) == (11, 0)  # the wall clock, not 10:00 or 12:00
    assert start.utcoffset() == hours(offset_before)
    assert result.utcoffset() == hours(offset_after)


# Night shifts that run over the hour the clocks change in (02:00-03:00 on Sundays).
NIGHT_DESK = BusinessCalendar.from_hours(
    "Night desk", "Europe/Berlin", {"sat": "22:00-24:00", "sun": "00:00-06:00"}
)


def test_an_interval_spanning_a_change_of_clocks_has_its_real_length():
    spring = business_time_between(berlin(2026, 3, 29), berlin(2026, 3, 30), NIGHT_DESK)
    autumn = business_time_between(berlin(2026, 10, 25), berlin(2026, 10, 26), NIGHT_DESK)
    ordinary = business_time_between(berlin(2026, 11, 1), berlin(2026, 11, 2), NIGHT_DESK)

    assert (spring, autumn, ordinary) == (hours(5), hours(7), hours(6))
    # Five real hours after Saturday 23:00 it is 06:00 summer time: the whole night was used.
    assert add_business_time(berlin(2026, 3, 28, 23), hours(6), NIGHT_DESK) == berlin(
        2026, 3, 29, 6
    )
    assert add_business_time(berlin(2026, 3, 28, 23), hours(4), NIGHT_DESK) == berlin(
        2026, 3, 29, 4
    )


def test_business_hours_opening_in_the_hour_a_change_skips_or_repeats():
    """A skipped time is the instant of the change; a repeated one is its first occurrence."""
    early = BusinessCalendar.from_hours("Early desk", "Europe/Berlin", {"sun": "02:30-05:00"})

    spring = business_time_between(berlin(2026, 3, 29), berlin(2026, 3, 30), early)
    autumn = business_time_between(berlin(2026, 10, 25), berlin(2026, 10, 26), early)

    assert spring == hours(2)  # opens at 03:00 summer time, when the clocks jump past 02:30
    assert autumn == hours(3.5)  # opens at the first 02:30 (summer time), an hour more till 05:00
    assert add_business_time(berlin(2026, 3, 29), timedelta(0), early) == berlin(2026, 3, 29, 3)


def test_round_the_clock_with_a_holiday_follows_a_change_of_clocks_at_midnight():
    """Santiago changes its clocks at midnight: each day is still its real length."""
    calendar = BusinessCalendar.from_hours(
        "Santiago desk", "America/Santiago", {"mon-sun": "00:00-24:00"}, [date(2026, 12, 25)]
    )
    santiago = lambda *fields: datetime(*fields, tzinfo=SANTIAGO)  # noqa: E731

    autumn = business_time_between(santiago(2026, 4, 4, 12), santiago(2026, 4, 5, 12), calendar)
    spring = business_time_between(santiago(2026, 9, 5, 12), santiago(2026, 9, 6, 12), calendar)

    assert (autumn, spring) == (hours(25), hours(23))
    assert add_business_time(santiago(2026, 9, 5, 12), hours(24), calendar) == santiago(
        2026, 9, 6, 13
    )


# --- time zones -------------------------------------------------------------------------------


def test_a_start_in_utc_on_a_tokyo_calendar():
    # Friday 20 November 17:00 in Tokyo; Monday 23 November is Labour Thanksgiving Day.
    start = datetime(2026, 11, 20, 8, tzinfo=UTC)

    due = add_business_time(start, hours(2), TOKYO_OFFICE)

    assert due == datetime(2026, 11, 24, 10, tzinfo=TOKYO)
    assert due.tzinfo is UTC  # answered in the start's time zone
    assert due == datetime(2026, 11, 24, 1, tzinfo=UTC)


def test_the_calendars_local_day_counts_not_the_starts():
    # 23:30 UTC on Tuesday is 08:30 on Wednesday in Tokyo: half an hour before opening.
    start = datetime(2026, 11, 24, 23, 30, tzinfo=UTC)

    assert add_business_time(start, hours(1), TOKYO_OFFICE) == datetime(
        2026, 11, 25, 10, tzinfo=TOKYO
    )
    assert add_business_days(start, 1, TOKYO_OFFICE) == datetime(2026, 11, 26, 18, tzinfo=TOKYO)


# --- round the clock ----------------------------------------------------------------------------


def test_round_the_clock_is_plain_elapsed_time():
    start = berlin(2026, 3, 28, 12)  # the night summer time begins

    due = add_business_time(start, hours(24), TWENTY_FOUR_SEVEN)

    assert BusinessCalendar.always() is TWENTY_FOUR_SEVEN
    assert due == berlin(2026, 3, 29, 13)  # 24 real hours, an hour later on the wall clock
    assert due.tzinfo is BERLIN
    assert business_time_between(start, due, TWENTY_FOUR_SEVEN) == hours(24)
    assert add_business_time(start, timedelta(0), TWENTY_FOUR_SEVEN) == start


def test_a_round_the_clock_calendar_in_a_time_zone_counts_real_hours_too():
    calendar = BusinessCalendar.from_hours(
        "Berlin 24x7", "Europe/Berlin", {"mon-sun": "00:00-24:00"}
    )
    with_holiday = BusinessCalendar.from_hours(
        "Berlin 24x7 but Christmas",
        "Europe/Berlin",
        {"mon-sun": "00:00-24:00"},
        [date(2026, 12, 25)],
    )
    start = berlin(2026, 3, 28, 12)

    assert add_business_time(start, hours(24), calendar) == berlin(2026, 3, 29, 13)
    assert add_business_time(start, hours(24), with_holiday) == berlin(2026, 3, 29, 13)
    assert add_business_time(berlin(2026, 12, 24, 12), hours(24), with_holiday) == berlin(
        2026, 12, 26, 12
    )


def test_business_days_on_a_round_the_clock_calendar_end_at_midnight():
    start = datetime(2026, 11, 24, 10, tzinfo=UTC)

    assert add_business_days(start, 1, TWENTY_FOUR_SEVEN) == datetime(2026, 11, 26, tzinfo=UTC)


# --- business time between two instants ---------------------------------------------------


@pytest.mark.parametrize(
    ("start", "end", "elapsed"),
    [
        (berlin(2026, 11, 23, 11), berlin(2026, 11, 23, 14), hours(2)),  # lunch left out
        (berlin(2026, 11, 23, 16), berlin(2026, 11, 24, 10), hours(3)),  # over the night
        (berlin(2026, 11, 27, 16), berlin(2026, 11, 30, 9), hours(2)),  # over the weekend
        (berlin(2026, 4, 2, 16), berlin(2026, 4, 7, 9), hours(2)),  # over Easter
        (berlin(2026, 11, 28, 9), berlin(2026, 11, 29, 18), timedelta(0)),  # a weekend only
        (berlin(2026, 11, 23, 10), berlin(2026, 11, 23, 10), timedelta(0)),
        (berlin(2026, 11, 23, 8), berlin(2026, 11, 30, 8), hours(40)),  # a whole week
        (datetime(2026, 11, 23, 6, tzinfo=UTC), datetime(2026, 11, 23, 8, tzinfo=UTC), hours(1)),
    ],
)
def test_business_time_between_two_instants(start, end, elapsed):
    assert business_time_between(start, end, BERLIN_OFFICE) == elapsed


def test_business_time_between_an_end_before_its_start_is_refused():
    with pytest.raises(ValueError, match="cannot come before its start"):
        business_time_between(berlin(2026, 11, 23, 10), berlin(2026, 11, 23, 9), BERLIN_OFFICE)


# --- pauses --------------------------------------------------------------------------------------


def test_without_pauses_the_deadline_is_the_business_time_added():
    start = berlin(2026, 11, 23, 9)

    assert deadline(start, hours(8), BERLIN_OFFICE, []) == berlin(2026, 11, 24, 9)
    assert deadline(start, hours(8), BERLIN_OFFICE) == add_business_time(
        start, hours(8), BERLIN_OFFICE
    )


def test_a_pause_in_business_hours_moves_the_deadline_by_its_business_time():
    start = berlin(2026, 11, 23, 9)
    paused = [(berlin(2026, 11, 23, 10), berlin(2026, 11, 23, 11, 30))]

    assert deadline(start, hours(8), BERLIN_OFFICE, paused) == berlin(2026, 11, 24, 10, 30)


def test_a_pause_over_a_weekend_moves_nothing():
    start = berlin(2026, 11, 27, 16)  # Friday
    paused = [(berlin(2026, 11, 28, 10), berlin(2026, 11, 29, 20))]

    assert deadline(start, hours(2), BERLIN_OFFICE, paused) == berlin(2026, 11, 30, 9)


def test_a_pause_over_lunch_and_the_night_counts_only_business_hours():
    start = berlin(2026, 11, 23, 9)
    # Waiting on the customer from 11:30 until 09:00 the next day: 0.5 + 4 + 1 business hours.
    paused = [(berlin(2026, 11, 23, 11, 30), berlin(2026, 11, 24, 9))]

    due = deadline(start, hours(4), BERLIN_OFFICE, paused)

    assert due == berlin(2026, 11, 24, 10, 30)


@pytest.mark.parametrize(
    ("pause_start", "pause_end"),
    [
        (berlin(2026, 11, 23, 10), berlin(2026, 11, 23, 11, 30)),
        (berlin(2026, 11, 23, 16, 59), berlin(2026, 11, 25, 8, 1)),
        (berlin(2026, 11, 23, 9), berlin(2026, 11, 30, 12)),
        (berlin(2026, 11, 23, 12, 30), berlin(2026, 11, 23, 12, 45)),  # lunch only: no move
    ],
)
def test_resuming_moves_the_deadline_by_exactly_the_business_time_paused(pause_start, pause_end):
    start = berlin(2026, 11, 23, 9)
    before = deadline(start, hours(8), BERLIN_OFFICE, [])  # Tuesday 09:00

    after = deadline(start, hours(8), BERLIN_OFFICE, [(pause_start, pause_end)])

    paused = business_time_between(pause_start, pause_end, BERLIN_OFFICE)
    assert business_time_between(before, after, BERLIN_OFFICE) == paused
    assert after == (add_business_time(before, paused, BERLIN_OFFICE) if paused else before)


def test_resuming_after_a_deadline_at_closing_time_moves_it_past_the_night():
    start = berlin(2026, 11, 23, 9)  # due at 17:00, closing time
    paused = [(berlin(2026, 11, 23, 15), berlin(2026, 11, 23, 16))]

    assert deadline(start, hours(7), BERLIN_OFFICE) == berlin(2026, 11, 23, 17)
    assert deadline(start, hours(7), BERLIN_OFFICE, paused) == berlin(2026, 11, 24, 9)


def test_an_open_pause_stops_the_clock():
    start = berlin(2026, 11, 23, 9)
    paused = [(berlin(2026, 11, 23, 10), None)]

    assert deadline(start, hours(8), BERLIN_OFFICE, paused) is None


def test_a_deadline_passed_before_a_pause_began_stays():
    start = berlin(2026, 11, 23, 9)

    still_open = deadline(start, hours(2), BERLIN_OFFICE, [(berlin(2026, 11, 23, 14), None)])
    at_the_deadline = deadline(start, hours(2), BERLIN_OFFICE, [(berlin(2026, 11, 23, 11), None)])

    assert still_open == berlin(2026, 11, 23, 11)
    assert at_the_deadline == berlin(2026, 11, 23, 11)


def test_pauses_in_any_order_overlapping_or_begun_before_the_start():
    start = berlin(2026, 11, 23, 9)
    paused = [
        (berlin(2026, 11, 23, 14), berlin(2026, 11, 23, 15)),
        (berlin(2026, 11, 23, 8), berlin(2026, 11, 23, 10)),  # began before the clock: 1 hour
        (berlin(2026, 11, 23, 14, 30), berlin(2026, 11, 23, 16)),  # overlaps: 14:00-16:00
        (berlin(2026, 11, 20, 9), berlin(2026, 11, 20, 17)),  # over before the start
    ]

    # Monday 09:00-17:00 has 7 business hours; 3 are paused (09-10, 14-16), 4 run: 6 on Tuesday.
    assert deadline(start, hours(10), BERLIN_OFFICE, paused) == berlin(2026, 11, 24, 15)


def test_an_open_pause_after_other_pauses_stops_the_clock_once_reached():
    start = berlin(2026, 11, 23, 9)
    paused = [(berlin(2026, 11, 23, 10), berlin(2026, 11, 23, 11)), (berlin(2026, 11, 24, 8), None)]

    assert deadline(start, hours(4), BERLIN_OFFICE, paused) == berlin(2026, 11, 23, 15)
    assert deadline(start, hours(8), BERLIN_OFFICE, paused) is None


def test_a_pause_ending_before_it_starts_is_refused():
    with pytest.raises(ValueError, match="A pause cannot end before it starts."):
        deadline(
            berlin(2026, 11, 23, 9),
            hours(1),
            BERLIN_OFFICE,
            [(berlin(2026, 11, 23, 11), berlin(2026, 11, 23, 10))],
        )


def test_a_zero_target_paused_from_the_start_is_due_when_the_clock_first_runs():
    start = berlin(2026, 11, 23, 9)
    paused = [(berlin(2026, 11, 23, 9), berlin(2026, 11, 23, 18))]

    assert deadline(start, timedelta(0), BERLIN_OFFICE, paused) == berlin(2026, 11, 24, 8)


# --- business days -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "days", "due"),
    [
        (berlin(2026, 11, 24, 10), 5, berlin(2026, 12, 1, 17)),  # Tuesday to Tuesday
        (berlin(2026, 11, 27, 16), 1, berlin(2026, 11, 30, 17)),  # Friday to Monday
        (berlin(2026, 11, 27, 20), 1, berlin(2026, 11, 30, 17)),  # after closing: the same
        (berlin(2026, 11, 28, 11), 1, berlin(2026, 11, 30, 17)),  # Saturday to Monday
        (berlin(2026, 4, 2, 10), 1, berlin(2026, 4, 7, 17)),  # over Good Friday and Easter Monday
        (berlin(2026, 3, 27, 10), 1, berlin(2026, 3, 30, 17)),  # into summer time
        (berlin(2026, 12, 23, 10), 3, berlin(2026, 12, 29, 17)),  # 24th, 28th, 29th
    ],
)
def test_business_days_end_at_closing_time_of_the_last_one(start, days, due):
    result = add_business_days(start, days, BERLIN_OFFICE)

    assert result == due
    assert (result.hour, result.minute) == (17, 0)


@pytest.mark.parametrize(
    ("start", "due"),
    [
        (berlin(2026, 11, 24, 10), berlin(2026, 11, 24, 17)),  # the same day's close
        (berlin(2026, 11, 24, 6), berlin(2026, 11, 24, 17)),  # before opening: the same
        (berlin(2026, 11, 24, 18), berlin(2026, 11, 25, 17)),  # after closing: the next day
        (berlin(2026, 11, 28, 11), berlin(2026, 11, 30, 17)),  # Saturday: Monday
    ],
)
def test_zero_business_days_is_the_close_of_the_current_or_next_business_day(start, due):
    assert add_business_days(start, 0, BERLIN_OFFICE) == due


def test_a_negative_number_of_business_days_is_refused():
    with pytest.raises(ValueError, match="cannot be negative"):
        add_business_days(berlin(2026, 11, 24, 10), -1, BERLIN_OFFICE)


# --- against a slow reference ------------------------------------------------------------


MINUTE = timedelta(minutes=1)


def is_business_minute(calendar: BusinessCalendar, moment: datetime) -> bool:
    """The minute from `moment` is business time: its local wall-clock time is in an opening."""
    local = moment.astimezone(calendar.zone)
    if local.date() in calendar.holidays:
        return False
    time_of_day = timedelta(hours=local.hour, minutes=local.minute)
    return any(o.opens <= time_of_day < o.closes for o in calendar.weekly_hours[local.weekday()])


def reference_add(start: datetime, minutes: int, calendar: BusinessCalendar) -> datetime:
    """Step minute by minute until `minutes` business minutes have passed."""
    moment = start.astimezone(UTC)  # steps of real minutes, not of the wall clock
    while True:
        if is_business_minute(calendar, moment):
            if minutes == 0:
                return moment
            minutes -= 1
            if minutes == 0:
                return moment + MINUTE
        moment += MINUTE


def reference_between(start: datetime, end: datetime, calendar: BusinessCalendar) -> timedelta:
    minutes = 0
    moment = start.astimezone(UTC)
    while moment < end:
        minutes += is_business_minute(calendar, moment)
        moment += MINUTE
    return minutes * MINUTE


# Office hours with a lunch break, plus a weekend night desk that runs over the hours clocks
# change in, and a day of holidays; whole-minute starts cluster around those days.
RANDOM_HOURS = {
    "mon-fri": "08:00-12:00, 13:00-17:30",
    "sat": "22:00-24:00",
    "sun": "00:00-04:00, 20:00-21:15",
}
RANDOM_CALENDARS = [
    (
        BusinessCalendar.from_hours(
            "Berlin",
            "Europe/Berlin",
            RANDOM_HOURS,
            holiday_dates("DE", 2026, extra=[date(2026, 10, 24)]),
        ),
        [date(2026, 3, 29), date(2026, 10, 25), date(2026, 4, 5), date(2026, 12, 25)],
    ),
    (
        BusinessCalendar.from_hours(
            "New York", "America/New_York", RANDOM_HOURS, holiday_dates("US", 2026)
        ),
        [date(2026, 3, 8), date(2026, 11, 1), date(2026, 11, 26), date(2026, 7, 4)],
    ),
]


@pytest.mark.parametrize(
    ("calendar", "days_of_interest"), RANDOM_CALENDARS, ids=["Berlin", "New York"]
)
def test_add_business_time_agrees_with_minute_by_minute_stepping(calendar, days_of_interest):
    rng = random.Random(20261123)
    for _ in range(250):
        if rng.random() < 0.7:  # near a change of clocks or a holiday
            around = rng.choice(days_of_interest)
            midnight = datetime(around.year, around.month, around.day, tzinfo=calendar.zone)
            start = midnight.astimezone(UTC) + timedelta(minutes=rng.randrange(-4 * 1440, 2880))
        else:
            start = datetime(2026, 1, 5, tzinfo=UTC) + timedelta(minutes=rng.randrange(350 * 1440))
        start = start.astimezone(rng.choice([UTC, calendar.zone, TOKYO]))
        minutes = rng.choice([0, rng.randrange(1, 60), rng.randrange(60, 16 * 60)])

        due = add_business_time(start, timedelta(minutes=minutes), calendar)

        # In UTC: a time in the hour an autumn change repeats never equals one of another zone.
        assert due.astimezone(UTC) == reference_add(start, minutes, calendar), (start, minutes)
        assert due.tzinfo is start.tzinfo
        if minutes:
            assert business_time_between(start, due, calendar) == timedelta(minutes=minutes)


@pytest.mark.parametrize(
    ("calendar", "days_of_interest"), RANDOM_CALENDARS, ids=["Berlin", "New York"]
)
def test_business_time_between_agrees_with_counting_minutes(calendar, days_of_interest):
    rng = random.Random(1123)
    for _ in range(150):
        around = rng.choice(days_of_interest)
        midnight = datetime(around.year, around.month, around.day, tzinfo=calendar.zone)
        start = midnight.astimezone(UTC) + timedelta(minutes=rng.randrange(-3 * 1440, 1440))
        end = start + timedelta(minutes=rng.randrange(0, 4 * 1440))

        assert business_time_between(start, end, calendar) == reference_between(
            start, end, calendar
        )


@pytest.mark.parametrize(
    ("calendar", "days_of_interest"), RANDOM_CALENDARS, ids=["Berlin", "New York"]
)
def test_resuming_moves_random_deadlines_by_the_business_time_paused(calendar, days_of_interest):
    rng = random.Random(2311)
    for _ in range(200):
        around = rng.choice(days_of_interest)
        start = datetime(around.year, around.month, around.day, tzinfo=UTC)
        start += timedelta(minutes=rng.randrange(-3 * 1440, 1440))
        duration = timedelta(minutes=rng.randrange(1, 20 * 60))
        before = deadline(start, duration, calendar)
        pause_start = start + (before - start) * rng.random()
        pause_end = pause_start + timedelta(minutes=rng.randrange(0, 3 * 1440))

        after = deadline(start, duration, calendar, [(pause_start, pause_end)])

        paused = business_time_between(pause_start, pause_end, calendar)
        assert business_time_between(before, after, calendar) == paused
        assert business_time_between(start, after, calendar) == duration + paused
        assert deadline(start, duration, calendar, [(pause_start, None)]) is None
