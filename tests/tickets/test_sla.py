"""SLA targets: durations, due times on business calendars, pauses, updates, RCA, breaches."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from tickets.calendars import TWENTY_FOUR_SEVEN, BusinessCalendar, holiday_dates
from tickets.sla import (
    Duration,
    DurationUnit,
    EscalationAction,
    EscalationRule,
    TargetKind,
    TargetSpec,
    escalation_due_at,
    next_update_due_at,
    parse_duration,
    rca_due_at,
    target_due_at,
    target_state,
    warning_at,
)

BERLIN = ZoneInfo("Europe/Berlin")

# Mon-Fri 08:00-12:00 and 13:00-17:00 in Berlin, German public holidays: 8 business hours a day.
BERLIN_OFFICE = BusinessCalendar.from_hours(
    "Berlin office",
    "Europe/Berlin",
    {"mon-fri": "08:00-12:00, 13:00-17:00"},
    holiday_dates("DE", [2026, 2027]),
)


def berlin(*fields: int) -> datetime:
    return datetime(*fields, tzinfo=BERLIN)


def spec(kind: TargetKind, text: str, calendar: BusinessCalendar = BERLIN_OFFICE) -> TargetSpec:
    return TargetSpec(kind, parse_duration(text), calendar)


# --- durations ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "amount", "unit"),
    [
        ("4 business hours", Decimal(4), DurationUnit.BUSINESS_HOURS),
        ("30 minutes", Decimal(30), DurationUnit.MINUTES),
        ("2 business days", Decimal(2), DurationUnit.BUSINESS_DAYS),
        ("1 day", Decimal(1), DurationUnit.DAYS),
        ("0.5 hour", Decimal("0.5"), DurationUnit.HOURS),
        ("  24 Hours ", Decimal(24), DurationUnit.HOURS),
        ("1 Business Day", Decimal(1), DurationUnit.BUSINESS_DAYS),
    ],
)
def test_durations_read_as_policy_files_write_them(text, amount, unit):
    # Given a duration as a policy file writes it / When it is parsed
    duration = parse_duration(text)

    # Then it has the amount and the unit
    assert (duration.amount, duration.unit) == (amount, unit)


def test_durations_print_as_people_write_them():
    assert [str(parse_duration(text)) for text in ("1 day", "0.5 hours", "30 minute")] == [
        "1 day",
        "0.5 hours",
        "30 minutes",
    ]
    assert str(parse_duration("1 business day")) == "1 business day"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("four hours", '"four hours" is not a duration: write it like "30 minutes"'),
        ("4 weeks", '"4 weeks" is not a duration'),
        ("", '"" is not a duration'),
        ("-1 hour", '"-1 hour" is not a duration'),
        ("30 business minutes", '"30 business minutes" is not a duration: use business hours'),
        ("1.5 business days", '"1.5 business days" is not a duration: business days are counted'),
    ],
)
def test_unreadable_durations_are_refused_naming_the_text(text, message):
    with pytest.raises(ValueError) as error:
        parse_duration(text)

    assert message in str(error.value)


def test_a_duration_runs_on_the_target_calendar_only_in_business_units():
    assert parse_duration("4 business hours").clock(BERLIN_OFFICE) is BERLIN_OFFICE
    assert parse_duration("4 hours").clock(BERLIN_OFFICE) is TWENTY_FOUR_SEVEN
    assert parse_duration("1 day").as_timedelta() == timedelta(hours=24)
    with pytest.raises(ValueError, match="Business days have no fixed length"):
        parse_duration("2 business days").as_timedelta()


# --- due times ------------------------------------------------------------------------------


def test_business_hours_target_skips_the_weekend():
    # Given a 4 business hour first response on the Berlin office calendar
    first_response = spec(TargetKind.FIRST_RESPONSE, "4 business hours")

    # When a ticket opens on Friday 2026-03-13 at 15:00 (two business hours left that day)
    due = target_due_at(first_response, berlin(2026, 3, 13, 15, 0))

    # Then the other two run on Monday morning
    assert due == berlin(2026, 3, 16, 10, 0)


def test_business_hours_target_skips_holidays_and_a_lunch_break():
    # Given Good Friday 2026-04-03 and Easter Monday 2026-04-06 are German holidays
    resolution = spec(TargetKind.RESOLUTION, "6 business hours")

    # When a ticket opens on Thursday 2026-04-02 at 16:00
    due = target_due_at(resolution, berlin(2026, 4, 2, 16, 0))

    # Then one hour runs Thursday, the rest on Tuesday after Easter, round the lunch break
    assert due == berlin(2026, 4, 7, 14, 0)


def test_a_deadline_landing_on_closing_time_stays_on_that_day():
    due = target_due_at(spec(TargetKind.RESOLUTION, "8 business hours"), berlin(2026, 3, 16, 8))

    assert due == berlin(2026, 3, 16, 17, 0)


def test_wall_clock_targets_ignore_business_hours_and_daylight_saving():
    # Given a 1 hour and a 1 day target on the Berlin office calendar
    start = berlin(2026, 3, 28, 23, 30)  # Saturday night before summer time begins

    # When they are computed
    one_hour = target_due_at(spec(TargetKind.RESTORE, "1 hour"), start)
    one_day = target_due_at(spec(TargetKind.RESOLUTION, "1 day"), start)

    # Then they run on real time: a day is 24 real hours, across the change
    assert one_hour.astimezone(UTC) - start.astimezone(UTC) == timedelta(hours=1)
    assert one_day.astimezone(UTC) - start.astimezone(UTC) == timedelta(hours=24)
    assert one_day == berlin(2026, 3, 30, 0, 30)


def test_a_pause_moves_a_business_hours_deadline_by_the_business_time_it_held():
    # Given a ticket opened Monday 2026-03-16 at 09:00 with an 8 business hour target
    resolution = spec(TargetKind.RESOLUTION, "8 business hours")
    opened = berlin(2026, 3, 16, 9, 0)

    # When it waits on the customer from 11:00 to 14:00 (2 business hours, lunch not counted)
    due = target_due_at(resolution, opened, [(berlin(2026, 3, 16, 11), berlin(2026, 3, 16, 14))])

    # Then the deadline moves from Tuesday 09:00 by two business hours
    assert target_due_at(resolution, opened) == berlin(2026, 3, 17, 9, 0)
    assert due == berlin(2026, 3, 17, 11, 0)


def test_a_pause_over_the_weekend_moves_a_business_deadline_not_at_all():
    resolution = spec(TargetKind.RESOLUTION, "4 business hours")
    opened = berlin(2026, 3, 13, 15, 0)

    due = target_due_at(resolution, opened, [(berlin(2026, 3, 13, 17), berlin(2026, 3, 16, 8))])

    assert due == berlin(2026, 3, 16, 10, 0)


def test_a_pause_moves_a_wall_clock_deadline_by_the_real_time_it_held():
    restore = spec(TargetKind.RESTORE, "4 hours")
    opened = berlin(2026, 3, 14, 10, 0)  # a Saturday: real time runs anyway

    due = target_due_at(restore, opened, [(berlin(2026, 3, 14, 11), berlin(2026, 3, 14, 12, 30))])

    assert due == berlin(2026, 3, 14, 15, 30)


def test_an_open_pause_stops_the_clock():
    due = target_due_at(
        spec(TargetKind.RESOLUTION, "4 business hours"),
        berlin(2026, 3, 16, 9),
        [(berlin(2026, 3, 16, 10), None)],
    )

    assert due is None


def test_business_days_are_due_at_close_of_the_last_one_and_pauses_move_them():
    # Given a 2 business day follow-up from Thursday 2026-04-02 (Good Friday and Easter Monday off)
    follow_up = spec(TargetKind.FOLLOW_UP, "2 business days")
    opened = berlin(2026, 4, 2, 10, 0)

    # When it runs without a pause, and with a pause holding 3 business hours on Tuesday
    plain = target_due_at(follow_up, opened)
    paused = target_due_at(follow_up, opened, [(berlin(2026, 4, 7, 8), berlin(2026, 4, 7, 11))])

    # Then it closes on Wednesday 2026-04-08, or three business hours into Thursday
    assert plain == berlin(2026, 4, 8, 17, 0)
    assert paused == berlin(2026, 4, 9, 11, 0)


def test_a_non_bug_only_resolution_target_gives_bugs_no_deadline():
    # Given Table 8's resolution target, which applies to non-bug issues only
    resolution = TargetSpec(
        TargetKind.RESOLUTION, parse_duration("5 business days"), BERLIN_OFFICE, non_bug_only=True
    )
    opened = berlin(2026, 3, 16, 9)

    # When a bug and a non-bug ticket open
    # Then only the non-bug one has a resolution deadline
    assert not resolution.applies_to_bug
    assert target_due_at(resolution, opened, is_bug=True) is None
    assert target_due_at(resolution, opened, is_bug=False) == berlin(2026, 3, 23, 17, 0)
    assert target_due_at(spec(TargetKind.RESOLUTION, "5 business days"), opened, is_bug=True)


# --- periodic updates and RCA ---------------------------------------------------------------


def test_each_public_update_restarts_the_periodic_update_clock():
    # Given updates every 4 business hours on a ticket opened Monday 09:00
    updates = spec(TargetKind.PERIODIC_UPDATE, "4 business hours")
    opened = berlin(2026, 3, 16, 9, 0)

    # When the first update is due, and then the CSM posts a public update at 11:30
    first = next_update_due_at(updates, opened)
    after_reply = next_update_due_at(updates, berlin(2026, 3, 16, 11, 30))

    # Then the next one counts from the reply
    assert first == berlin(2026, 3, 16, 14, 0)
    assert after_reply == berlin(2026, 3, 16, 16, 30)


def test_periodic_updates_stop_at_resolution_and_pause_with_the_ticket():
    updates = spec(TargetKind.PERIODIC_UPDATE, "4 business hours")
    since = berlin(2026, 3, 16, 9, 0)

    assert next_update_due_at(updates, since, resolved_at=berlin(2026, 3, 16, 10)) is None
    paused = [(berlin(2026, 3, 16, 10), berlin(2026, 3, 16, 11))]
    assert next_update_due_at(updates, since, paused) == berlin(2026, 3, 16, 15, 0)
    with pytest.raises(ValueError, match="Only periodic updates recur, not resolution."):
        next_update_due_at(spec(TargetKind.RESOLUTION, "4 hours"), since)


def test_root_cause_analysis_is_due_business_days_after_resolution():
    # Given an RCA within 5 business days of resolution
    rca = spec(TargetKind.ROOT_CAUSE_ANALYSIS, "5 business days")

    # When the ticket is resolved on Tuesday 2026-03-31 at 20:00 (Easter holidays ahead)
    due = rca_due_at(rca, berlin(2026, 3, 31, 20, 0))

    # Then Wednesday, Thursday, Tuesday, Wednesday and Thursday count, Good Friday and Easter
    # Monday do not: due at close on Thursday 2026-04-09
    assert due == berlin(2026, 4, 9, 17, 0)
    assert rca_due_at(rca, None) is None
    with pytest.raises(ValueError, match="A root cause analysis target is needed"):
        rca_due_at(spec(TargetKind.RESOLUTION, "5 business days"), berlin(2026, 3, 31))


# --- breaches -------------------------------------------------------------------------------


def test_a_target_met_on_the_dot_is_not_breached():
    due = berlin(2026, 3, 16, 14, 0)

    state = target_state(due, met_at=due, now=berlin(2026, 3, 20))

    assert (state.breached, state.seconds_late) == (False, 0)


def test_a_target_met_late_is_breached_by_the_wall_clock_seconds():
    # Given a target due Friday 17:00, met on Monday 08:00:30 (over a closed weekend)
    due = berlin(2026, 3, 13, 17, 0)

    state = target_state(due, met_at=berlin(2026, 3, 16, 8, 0, 30), now=berlin(2026, 3, 20))

    # Then it is late by the real time between, not by business time
    assert state.breached
    assert state.seconds_late == int(timedelta(days=2, hours=15, seconds=30).total_seconds())


def test_an_unmet_target_is_breached_once_now_passes_due_and_lateness_grows():
    due = berlin(2026, 3, 16, 14, 0)

    before = target_state(due, None, now=berlin(2026, 3, 16, 13, 59))
    after = target_state(due, None, now=berlin(2026, 3, 16, 14, 10))

    assert (before.breached, before.seconds_late) == (False, 0)
    assert (after.breached, after.seconds_late) == (True, 600)


def test_a_part_second_late_counts_as_one_second_and_no_due_time_is_never_breached():
    due = berlin(2026, 3, 16, 14, 0)

    late = target_state(due, due + timedelta(microseconds=1), now=due)
    paused = target_state(None, None, now=berlin(2027, 1, 1))

    assert (late.breached, late.seconds_late) == (True, 1)
    assert (paused.breached, paused.seconds_late, paused.due_at) == (False, 0, None)


# --- escalation and warnings ----------------------------------------------------------------


def test_escalation_fires_after_its_time_on_its_calendar_and_pauses():
    # Given "elevate to Level 2 if no ETA or workaround within 8 business hours"
    rule = EscalationRule(parse_duration("8 business hours"), BERLIN_OFFICE, "raise_level", "L2")
    opened = berlin(2026, 3, 13, 13, 0)  # Friday

    # When computed without and with a pause of one business hour on Monday
    plain = escalation_due_at(rule, opened)
    paused = escalation_due_at(rule, opened, [(berlin(2026, 3, 16, 9), berlin(2026, 3, 16, 10))])

    # Then it runs four hours on Friday and four on Monday, one more for the pause
    assert rule.action is EscalationAction.RAISE_LEVEL
    assert plain == berlin(2026, 3, 16, 12, 0)
    assert paused == berlin(2026, 3, 16, 14, 0)


def test_a_wall_clock_escalation_ignores_business_hours():
    rule = EscalationRule(parse_duration("30 minutes"), BERLIN_OFFICE, "notify", "backup-dc")

    assert escalation_due_at(rule, berlin(2026, 3, 14, 23, 50)) == berlin(2026, 3, 15, 0, 20)


@pytest.mark.parametrize(
    ("action", "target", "message"),
    [
        ("page", "L2", '"page" is not an escalation: use "raise_level" or "notify".'),
        ("notify", " ", "An escalation names the level to raise to or the group to notify."),
    ],
)
def test_unknown_escalations_are_refused(action, target, message):
    with pytest.raises(ValueError) as error:
        EscalationRule(parse_duration("1 hour"), TWENTY_FOUR_SEVEN, action, target)

    assert str(error.value) == message


def test_warning_comes_at_three_quarters_of_the_business_time():
    # Given a 4 business hour target from Friday 15:00, due Monday 10:00
    target = spec(TargetKind.FIRST_RESPONSE, "4 business hours")
    opened = berlin(2026, 3, 13, 15, 0)
    due = target_due_at(target, opened)

    # When the warning time is computed on the target's clock
    warning = warning_at(opened, due, calendar=target.duration.clock(target.calendar))

    # Then it comes after 3 business hours: Monday 09:00, not 75% of the weekend
    assert warning == berlin(2026, 3, 16, 9, 0)


def test_warning_leaves_paused_time_out_and_takes_another_share():
    target = spec(TargetKind.RESOLUTION, "8 business hours")
    opened = berlin(2026, 3, 16, 8, 0)
    paused = [(berlin(2026, 3, 16, 9), berlin(2026, 3, 16, 11))]
    due = target_due_at(target, opened, paused)

    warning = warning_at(opened, due, calendar=BERLIN_OFFICE, paused=paused, share=0.5)

    # Four business hours run: 08-09, then 11-12 and 13-15 after the pause
    assert due == berlin(2026, 3, 17, 10, 0)
    assert warning == berlin(2026, 3, 16, 15, 0)


def test_warning_on_a_wall_clock_target_and_refused_shares():
    opened = berlin(2026, 3, 14, 10, 0)
    due = opened + timedelta(hours=4)

    assert warning_at(opened, due, calendar=TWENTY_FOUR_SEVEN) == berlin(2026, 3, 14, 13, 0)
    assert warning_at(opened, None, calendar=TWENTY_FOUR_SEVEN) is None
    with pytest.raises(ValueError, match="The warning share must be above 0 and at most 1"):
        warning_at(opened, due, calendar=TWENTY_FOUR_SEVEN, share=1.5)


def test_business_days_refuse_fractions_and_negative_durations():
    with pytest.raises(ValueError, match="Business days are counted whole: 1.5 business days."):
        Duration(Decimal("1.5"), DurationUnit.BUSINESS_DAYS)
    with pytest.raises(ValueError, match="A duration cannot be negative"):
        Duration(Decimal(-1), "hours")
    assert date(2026, 4, 3) in BERLIN_OFFICE.holidays  # Good Friday, which the tests rely on
