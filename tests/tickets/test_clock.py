"""A ticket's clocks planned from its facts (tickets.clock), on the shipped policy files.

Pure: plain values in, plain values out. Every due time below is worked out by hand in a
comment, so a reader can check the arithmetic without running anything.
"""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tickets.clock import TicketFacts, escalations_plan, targets_plan
from tickets.policy_parse import policy_parse

POLICIES = Path(__file__).resolve().parents[2] / "tickets" / "policies"
YEARS = range(2025, 2028)
BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
SYDNEY = ZoneInfo("Australia/Sydney")
H = timedelta(hours=1)
M = timedelta(minutes=1)
# Monday 23 November 2026, 09:00 in New York.
T0 = datetime(2026, 11, 23, 14, tzinfo=UTC)


def load(name: str):
    return policy_parse((POLICIES / name).read_text(), source=name, years=YEARS)


CSO = load("cso_enhanced.yaml")
STANDARD = load("standard_support.yaml")
PRIORITY = load("vendor_priority_plan.yaml")
UPTIME = load("vendor_uptime_sla.yaml")
DEDICATED = load("vendor_dedicated_support.yaml")


def facts(**given) -> TicketFacts:
    values = {"severity": "P1", "package": "premier", "is_bug": False, "opened_at": T0}
    return TicketFacts(**{**values, **given})


def plan(ticket: TicketFacts, policy=CSO, share=Decimal("0.75")) -> dict:
    """The planned targets by (kind, cycle)."""
    return {(t.kind.value, t.cycle): t for t in targets_plan(ticket, policy, warning_share=share)}


def escalations(ticket: TicketFacts, policy) -> list:
    return escalations_plan(ticket, policy, targets_plan(ticket, policy))


def resolved(at: datetime, reopened: datetime | None = None) -> dict:
    """A resolution: it is both a pause of every clock and the resolution fact."""
    return {"pauses": ((at, reopened),), "resolutions": ((at, reopened),)}


def cycles(planned: dict) -> list[tuple]:
    found = sorted((c, t) for (kind, c), t in planned.items() if kind == "periodic_update")
    return [(t.started_at, t.due_at, t.met_at) for _, t in found]


# --- deadlines from the opening -----------------------------------------------------------


def test_a_premier_p1_gets_table_8_targets_round_the_clock_from_its_opening():
    # When nothing has happened yet on a Premier P1
    planned = plan(facts())

    # Then Table 8's times run from the opening: 1 h, 2 h, 12 h; no RCA before a resolution
    assert planned["first_response", 0].due_at == T0 + 1 * H
    assert planned["periodic_update", 0].due_at == T0 + 2 * H
    assert planned["resolution", 0].due_at == T0 + 12 * H
    rca = planned["root_cause_analysis", 0]
    assert (rca.started_at, rca.due_at, rca.met_at) == (None, None, None)
    # and each warns at three quarters of its time: 45 min, 1 h 30, 9 h
    assert planned["first_response", 0].warning_at == T0 + 45 * M
    assert planned["periodic_update", 0].warning_at == T0 + 90 * M
    assert planned["resolution", 0].warning_at == T0 + 9 * H
    assert {t.calendar for t in planned.values()} == {"24x7", "new_york_business_days"}


def test_the_warning_share_is_a_parameter():
    assert plan(facts(), share=Decimal("0.5"))["first_response", 0].warning_at == T0 + 30 * M


def test_a_severity_change_retargets_from_the_original_opening():
    # Given the same ticket, replied to after 30 minutes, first P1 then P2
    replied = T0 + 30 * M
    as_p1 = plan(facts(staff_updates=(replied,)))
    as_p2 = plan(facts(severity="P2", staff_updates=(replied,)))

    # Then P2's times also run from the opening, not from the change: 3 h, 12 h, 3 days
    assert as_p1["first_response", 0].due_at == T0 + 1 * H
    assert as_p2["first_response", 0].due_at == T0 + 3 * H
    assert as_p2["first_response", 0].met_at == replied
    assert as_p2["periodic_update", 1].due_at == replied + 12 * H
    assert as_p2["resolution", 0].due_at == T0 + 72 * H


def test_the_package_picks_the_targets_of_its_column():
    # Expert P1: 30 minutes, 1 hour, 6 hours
    planned = plan(facts(package="expert"))
    assert planned["first_response", 0].due_at == T0 + 30 * M
    assert planned["periodic_update", 0].due_at == T0 + 1 * H
    assert planned["resolution", 0].due_at == T0 + 6 * H


def test_table_8_resolution_applies_to_non_bug_issues_only():
    bug = plan(facts(is_bug=True))["resolution", 0]
    assert (bug.due_at, bug.warning_at) == (None, None)
    assert plan(facts(is_bug=False))["resolution", 0].due_at == T0 + 12 * H
    # the other targets run for a bug as for any issue
    assert plan(facts(is_bug=True))["first_response", 0].due_at == T0 + 1 * H


# --- pauses -------------------------------------------------------------------------------


def test_waiting_on_the_customer_moves_each_running_deadline_by_the_time_paused():
    # Given a first response at 1 h that asks the customer, who answers 3 hours later
    asked, answered = T0 + 1 * H, T0 + 4 * H
    planned = plan(facts(pauses=((asked, answered),), staff_updates=(asked,)))

    # Then the resolution moves by the 3 hours paused: 12 h + 3 h
    assert planned["resolution", 0].due_at == T0 + 15 * H
    # and the update cycle started by the question runs 2 h from the answer
    assert planned["periodic_update", 1].started_at == asked
    assert planned["periodic_update", 1].due_at == answered + 2 * H
    # its warning comes after 1 h 30 of running time, none of it inside the pause
    assert planned["periodic_update", 1].warning_at == answered + 90 * M


def test_an_open_pause_stops_running_clocks_but_keeps_the_due_times_already_met():
    # Given a first response at 30 min that asks the customer, who has not answered yet
    asked = T0 + 30 * M
    planned = plan(facts(pauses=((asked, None),), staff_updates=(asked,)))

    # Then the clocks still running have no due time while the customer holds the ticket
    for key in (("resolution", 0), ("periodic_update", 1)):
        assert (planned[key].due_at, planned[key].warning_at) == (None, None)
    # but the targets met by the question keep the due time they were met against
    first = planned["first_response", 0]
    assert (first.due_at, first.met_at, first.warning_at) == (T0 + H, asked, T0 + 45 * M)
    assert planned["periodic_update", 0].due_at == T0 + 2 * H


def test_a_pause_after_a_target_was_met_does_not_move_its_due_time():
    # Given a first response at 30 min asking the customer, answered 3 hours later
    asked = T0 + 30 * M
    planned = plan(facts(pauses=((asked, asked + 3 * H),), staff_updates=(asked,)))

    # Then the first response stays due at 1 h (a clock stops when its target is met)
    assert planned["first_response", 0].due_at == T0 + 1 * H
    assert planned["periodic_update", 0].due_at == T0 + 2 * H
    # while the resolution, still running, moves by the 3 hours: 12 h + 3 h
    assert planned["resolution", 0].due_at == T0 + 15 * H


def test_a_target_met_during_a_pause_is_due_as_it_stood_then():
    # Given a Premier P1 answered at 1 h, waiting on the customer from 2 h, and a public
    # update (a reminder) at 5 h while still waiting
    waiting, reminder = T0 + 2 * H, T0 + 5 * H
    planned = plan(facts(pauses=((waiting, None),), staff_updates=(T0 + H, reminder)))

    # Then cycle 1 (from the 1 h reply) had run 1 h of its 2 when the pause began: as it stood
    # when the reminder met it, it was due 1 h after the reminder
    cycle = planned["periodic_update", 1]
    assert (cycle.started_at, cycle.met_at) == (T0 + H, reminder)
    assert cycle.due_at == reminder + H
    # and the cycle the reminder starts waits for the customer
    assert planned["periodic_update", 2].due_at is None


def test_a_pause_on_a_business_calendar_counts_business_hours_only():
    # Given a severity 3 standard support ticket opened Friday 13 November 2026 at 16:00 in
    # New York, waiting on the customer from 16:30 to Monday 10:00 (65 h 30 of wall time)
    opened = datetime(2026, 11, 13, 16, tzinfo=NEW_YORK)
    pause = (
        datetime(2026, 11, 13, 16, 30, tzinfo=NEW_YORK),
        datetime(2026, 11, 16, 10, tzinfo=NEW_YORK),
    )
    planned = plan(
        facts(severity="3", package="foundations", opened_at=opened, pauses=(pause,)), STANDARD
    )

    # Then: 3 business days from Friday close Wednesday 18th 17:00, 25 business hours away
    # (Fri 16-17, then 8 h a day). The pause held 1 h 30 of business time (Fri 16:30-17:00,
    # Mon 09:00-10:00), so the first response is due 1 h 30 after Wednesday's close:
    # Thursday 19th 10:30 New York (15:30 UTC).
    due = datetime(2026, 11, 19, 10, 30, tzinfo=NEW_YORK)
    assert planned["first_response", 0].due_at == due
    assert planned["periodic_update", 0].due_at == due
    # The warning comes after 75% of the 25 business hours: 18 h 45 of running time = 30 min
    # on Friday, then Mon 10-17 (7 h), Tue (8 h), and 3 h 15 on Wednesday: 12:15 New York.
    assert planned["first_response", 0].warning_at == datetime(
        2026, 11, 18, 12, 15, tzinfo=NEW_YORK
    )


def test_a_pause_over_a_weekend_moves_a_business_deadline_by_nothing():
    # Given a severity 3 Berlin office ticket opened Friday 20 November 2026 at 16:00 CET,
    # waiting from 17:00 Friday to 09:00 Monday: the office is closed all along
    opened = datetime(2026, 11, 20, 16, tzinfo=BERLIN)
    pause = (datetime(2026, 11, 20, 17, tzinfo=BERLIN), datetime(2026, 11, 23, 9, tzinfo=BERLIN))
    paused = plan(
        facts(severity="3", package="all_inclusive", opened_at=opened, pauses=(pause,)), DEDICATED
    )
    plain = plan(facts(severity="3", package="all_inclusive", opened_at=opened), DEDICATED)

    # Then 2 business hours is Monday 10:00 either way (1 h Friday, 1 h Monday)
    assert paused["first_response", 0].due_at == datetime(2026, 11, 23, 10, tzinfo=BERLIN)
    assert plain["first_response", 0].due_at == paused["first_response", 0].due_at


def test_a_deadline_landing_exactly_on_closing_time_stays_on_that_day():
    # Given a severity 3 Berlin office ticket opened Friday 20 November 2026 at 14:00 CET,
    # waiting on the customer from 14:30 to 15:30
    opened = datetime(2026, 11, 20, 14, tzinfo=BERLIN)
    pause = (
        datetime(2026, 11, 20, 14, 30, tzinfo=BERLIN),
        datetime(2026, 11, 20, 15, 30, tzinfo=BERLIN),
    )
    planned = plan(
        facts(severity="3", package="all_inclusive", opened_at=opened, pauses=(pause,)), DEDICATED
    )

    # Then 2 business hours + 1 h paused end at Friday 17:00 sharp, not Monday 09:00
    assert planned["first_response", 0].due_at == datetime(2026, 11, 20, 17, tzinfo=BERLIN)


# --- business calendars: daylight saving and holidays --------------------------------------


def test_business_hours_run_across_the_autumn_daylight_saving_change_in_berlin():
    # Given a severity 3 dedicated support ticket opened Friday 23 October 2026 at 16:00 CEST
    # (14:00 UTC); Berlin goes back to CET on Sunday 25th
    opened = datetime(2026, 10, 23, 14, tzinfo=UTC)
    planned = plan(facts(severity="3", package="all_inclusive", opened_at=opened), DEDICATED)

    # Then 2 business hours: Fri 16:00-17:00, then Mon 09:00-10:00 CET = 09:00 UTC
    assert planned["first_response", 0].due_at == datetime(2026, 10, 26, 9, tzinfo=UTC)
    # and the follow-up, 2 business days: Mon 26, Tue 27, closing 17:00 CET = 16:00 UTC
    assert planned["follow_up", 0].due_at == datetime(2026, 10, 27, 16, tzinfo=UTC)
    # while 24x7 times ignore the change: severity 1, 1 hour and 4 hours of real time
    critical = plan(facts(severity="1", package="all_inclusive", opened_at=opened), DEDICATED)
    assert critical["first_response", 0].due_at == opened + H
    assert critical["follow_up", 0].due_at == opened + 4 * H


def test_an_rca_is_due_in_new_york_business_days_across_dst_and_election_day():
    # Given a Premier P1 resolved Friday 30 October 2026 at 14:00 EDT (18:00 UTC); New York
    # goes back to EST on Sunday 1 November, and Tuesday 3 November (Election Day) is a New
    # York state holiday
    opened = datetime(2026, 10, 30, 12, tzinfo=UTC)
    resolution = datetime(2026, 10, 30, 18, tzinfo=UTC)
    rca = plan(facts(opened_at=opened, **resolved(resolution)))["root_cause_analysis", 0]

    # Then 3 business days: Mon 2 (1), Tue 3 closed, Wed 4 (2), Thu 5 (3), at 17:00 EST
    assert rca.started_at == resolution
    assert rca.due_at == datetime(2026, 11, 5, 22, tzinfo=UTC)
    # An RCA is never paused
    assert rca.warning_at is not None and rca.met_at is None


def test_an_rca_skips_thanksgiving_on_the_standard_policy():
    # Given a severity 1 standard support ticket resolved Wednesday 25 November 2026 at 10:00
    # New York; Thursday 26th is Thanksgiving
    resolution = datetime(2026, 11, 25, 10, tzinfo=NEW_YORK)
    ticket = facts(severity="1", package="fundamentals", opened_at=T0, **resolved(resolution))
    rca = plan(ticket, STANDARD)["root_cause_analysis", 0]

    # Then 3 business days: Fri 27 (1), Mon 30 (2), Tue 1 December (3), 17:00 EST = 22:00 UTC
    assert rca.due_at == datetime(2026, 12, 1, 22, tzinfo=UTC)


def test_a_business_day_update_runs_across_the_spring_change_in_new_york():
    # Given a severity 2 standard support ticket opened Friday 6 March 2026 at 10:00 EST; New
    # York moves to EDT on Sunday 8 March
    opened = datetime(2026, 3, 6, 15, tzinfo=UTC)
    planned = plan(facts(severity="2", package="fundamentals", opened_at=opened), STANDARD)

    # Then the periodic update (1 business day) is due Monday 9th 17:00 EDT = 21:00 UTC, and
    # the first response (3 hours, round the clock) at 18:00 UTC
    assert planned["periodic_update", 0].due_at == datetime(2026, 3, 9, 21, tzinfo=UTC)
    assert planned["first_response", 0].due_at == opened + 3 * H


def test_sydney_business_hours_skip_labour_day_after_the_spring_change():
    # Given a High incident on the uptime SLA opened Friday 2 October 2026 at 19:45 AEST
    # (09:45 UTC). Sydney moves to AEDT on Sunday 4th; Monday 5th is Labour Day (NSW).
    opened = datetime(2026, 10, 2, 9, 45, tzinfo=UTC)
    planned = plan(facts(severity="high", package="standard", opened_at=opened), UPTIME)

    # Then 0.5 business hours: 15 min on Friday, 15 min from Tuesday 08:00 AEDT, so 08:15 AEDT
    # = Monday 21:15 UTC
    assert planned["acknowledgement", 0].due_at == datetime(2026, 10, 5, 21, 15, tzinfo=UTC)
    # and the follow-up, 1 business day: Tuesday 6th closing 20:00 AEDT = 09:00 UTC
    assert planned["follow_up", 0].due_at == datetime(2026, 10, 6, 9, tzinfo=UTC)


# --- what meets each target ----------------------------------------------------------------


def test_periodic_updates_recur_until_the_resolution():
    # Given public updates at 1 h, 2 h 30 and 3 h, a resolution at 4 h and an RCA after it
    updates = (T0 + H, T0 + 150 * M, T0 + 3 * H, T0 + 5 * H)
    planned = plan(
        facts(staff_updates=updates, rca_delivered_at=T0 + 5 * H, **resolved(T0 + 4 * H))
    )

    # Then each update restarts the 2-hour clock, and the resolution meets the last cycle
    assert cycles(planned) == [
        (T0, T0 + 2 * H, T0 + H),
        (T0 + H, T0 + 3 * H, T0 + 150 * M),
        (T0 + 150 * M, T0 + 270 * M, T0 + 3 * H),
        (T0 + 3 * H, T0 + 5 * H, T0 + 4 * H),
    ]  # nothing after the resolution: the RCA at 5 h starts no cycle


def test_a_resolved_ticket_keeps_every_due_time_it_was_held_to():
    # Given one update at 1 h and the resolution at 5 h
    planned = plan(facts(staff_updates=(T0 + H,), **resolved(T0 + 5 * H)))

    # Then the resolution was due at 12 h and met at 5 h
    resolution = planned["resolution", 0]
    assert (resolution.due_at, resolution.met_at) == (T0 + 12 * H, T0 + 5 * H)
    # the last update cycle (from 1 h) was due at 3 h and met (late) by the resolution
    assert cycles(planned)[-1] == (T0 + H, T0 + 3 * H, T0 + 5 * H)
    # and the RCA runs from the resolution: Monday 19:00 UTC (14:00 EST) + 3 New York
    # business days = Tue 24, Wed 25, (Thanksgiving), Fri 27 at 17:00 EST = 22:00 UTC
    assert planned["root_cause_analysis", 0].due_at == datetime(2026, 11, 27, 22, tzinfo=UTC)


def test_the_time_to_open_is_met_by_the_assignment_and_the_acknowledgement_by_a_reply():
    # Given a priority 1 ticket on the Support Plus plan assigned at 20 min, answered at 40 min
    ticket = facts(
        severity="1", package="support_plus", assigned_at=T0 + 20 * M, staff_updates=(T0 + 40 * M,)
    )
    planned = plan(ticket, PRIORITY)

    # Then both were due in an hour
    assert (planned["time_to_open", 0].due_at, planned["time_to_open", 0].met_at) == (
        T0 + H,
        T0 + 20 * M,
    )
    assert planned["acknowledgement", 0].met_at == T0 + 40 * M
    assert planned["periodic_update", 1].due_at == T0 + 40 * M + 4 * H


def test_the_follow_up_is_met_by_the_second_public_reply():
    # Given a severity 1 dedicated support ticket answered at 30 min and again at 3 h
    ticket = facts(severity="1", package="all_inclusive", staff_updates=(T0 + 30 * M, T0 + 3 * H))
    planned = plan(ticket, DEDICATED)

    assert planned["first_response", 0].met_at == T0 + 30 * M
    follow_up = planned["follow_up", 0]
    assert (follow_up.due_at, follow_up.met_at) == (T0 + 4 * H, T0 + 3 * H)
    # A single reply leaves the follow-up open
    assert (
        plan(facts(severity="1", package="all_inclusive", staff_updates=(T0,)), DEDICATED)[
            "follow_up", 0
        ].met_at
        is None
    )


def test_restore_is_met_by_the_restoration_or_the_resolution_whichever_first():
    restored = plan(facts(severity="critical", package="standard", restored_at=T0 + 20 * M), UPTIME)
    assert restored["restore", 0].due_at == T0 + 30 * M
    assert restored["restore", 0].met_at == T0 + 20 * M
    by_resolution = plan(
        facts(severity="critical", package="standard", restored_at=T0 + H, **resolved(T0 + 25 * M)),
        UPTIME,
    )
    assert by_resolution["restore", 0].met_at == T0 + 25 * M
    assert by_resolution["restore", 0].due_at == T0 + 30 * M


# --- reopening -----------------------------------------------------------------------------


def test_the_time_spent_resolved_counts_as_paused_and_updates_restart_at_the_reopening():
    # Given an update at 1 h, a resolution at 2 h, an RCA at 3 h, a reopening at 5 h (3 hours
    # resolved) and an update at 6 h
    ticket = facts(
        staff_updates=(T0 + H, T0 + 3 * H, T0 + 6 * H),
        rca_delivered_at=T0 + 3 * H,
        **resolved(T0 + 2 * H, reopened=T0 + 5 * H),
    )
    planned = plan(ticket)

    # Then the resolution is due 3 hours later than 12 h, and open again
    resolution = planned["resolution", 0]
    assert (resolution.due_at, resolution.met_at) == (T0 + 15 * H, None)
    # the cycles restart at the reopening; the RCA at 3 h (while resolved) is no update
    assert cycles(planned) == [
        (T0, T0 + 2 * H, T0 + H),
        (T0 + H, T0 + 3 * H, T0 + 2 * H),
        (T0 + 5 * H, T0 + 7 * H, T0 + 6 * H),
        (T0 + 6 * H, T0 + 8 * H, None),
    ]
    # and the RCA is cleared until the ticket is resolved again
    rca = planned["root_cause_analysis", 0]
    assert (rca.started_at, rca.due_at, rca.met_at) == (None, None, None)


def test_after_a_second_resolution_the_rca_is_due_from_it_and_met_only_by_a_later_rca():
    # Given resolved at 2 h with an RCA at 3 h, reopened at 5 h, resolved again at 9 h
    # (Monday 23:00 UTC = 18:00 EST, after New York's close)
    again = T0 + 9 * H
    ticket = facts(
        staff_updates=(T0 + 3 * H,),
        rca_delivered_at=T0 + 3 * H,
        pauses=((T0 + 2 * H, T0 + 5 * H), (again, None)),
        resolutions=((T0 + 2 * H, T0 + 5 * H), (again, None)),
    )

    # Then the RCA runs from the second resolution: Tue 24, Wed 25, Fri 27 at 17:00 EST
    rca = plan(ticket)["root_cause_analysis", 0]
    assert (rca.started_at, rca.due_at) == (again, datetime(2026, 11, 27, 22, tzinfo=UTC))
    # and the RCA delivered before it does not meet it
    assert rca.met_at is None


def test_a_reopening_and_resolution_at_the_same_instant_start_no_cycle_while_resolved():
    # Given resolved at 1 h, reopened and at once resolved again at 2 h, an update at 3 h
    # while resolved, reopened at 4 h and resolved for good at 6 h
    spans = ((T0 + H, T0 + 2 * H), (T0 + 2 * H, T0 + 4 * H), (T0 + 6 * H, None))
    planned = plan(facts(pauses=spans, resolutions=spans, staff_updates=(T0 + 3 * H,)))

    # Then the update sent while resolved meets nothing: cycles run 0-1 h and 4-6 h
    assert [(start, met) for start, _, met in cycles(planned)] == [
        (T0, T0 + H),
        (T0 + 4 * H, T0 + 6 * H),
    ]


def test_an_update_and_a_resolution_at_the_same_instant_end_the_cycles():
    planned = plan(facts(staff_updates=(T0 + H,), **resolved(T0 + H)))
    assert cycles(planned) == [(T0, T0 + 2 * H, T0 + H)]


# --- escalations ---------------------------------------------------------------------------


def test_an_immediate_escalation_is_due_at_the_opening_and_not_stopped_by_a_later_resolution():
    # Given a priority 1 Support Plus ticket resolved after an hour
    ticket = facts(severity="1", package="support_plus", **resolved(T0 + H))
    [rule] = escalations(ticket, PRIORITY)

    # Then "elevate immediately to Level 2" was due at the opening and fires anyway
    assert (rule.after, rule.action, rule.target) == ("0 minutes", "raise_level", "Level 2")
    assert (rule.due_at, rule.stopped_at, rule.unless_met) == (T0, None, "")


def test_an_escalation_naming_no_target_is_stopped_by_a_resolution_before_it_is_due():
    # Given priority 2 Support Plus tickets: "Level 2 if no ETA within 8 hours"
    def rule(**given):
        [planned] = escalations(facts(severity="2", package="support_plus", **given), PRIORITY)
        return planned.due_at, planned.stopped_at

    # Then a resolution at 2 h stops it, and it keeps its due time
    assert rule(**resolved(T0 + 2 * H)) == (T0 + 8 * H, T0 + 2 * H)
    # an update (an ETA) does not stop it
    assert rule(staff_updates=(T0 + H,)) == (T0 + 8 * H, None)
    # a resolution after the due time is too late: it fires
    assert rule(**resolved(T0 + 9 * H)) == (T0 + 8 * H, None)
    # waiting on the customer moves it: 8 h + 2 h paused
    assert rule(pauses=((T0 + H, T0 + 3 * H),)) == (T0 + 10 * H, None)
    # and while the customer holds the ticket it has no due time
    assert rule(pauses=((T0 + H, None),)) == (None, None)


def test_an_escalation_watching_a_target_is_stopped_when_that_target_is_met_first():
    # Given critical incidents on the uptime SLA: notify operations after 30 minutes unless
    # service is restored
    def rule(**given):
        [planned] = escalations(facts(severity="critical", package="standard", **given), UPTIME)
        assert (planned.unless_met, planned.action) == ("restore", "notify")
        return planned.due_at, planned.stopped_at

    assert rule() == (T0 + 30 * M, None)
    assert rule(restored_at=T0 + 20 * M) == (T0 + 30 * M, T0 + 20 * M)
    assert rule(restored_at=T0 + 30 * M) == (T0 + 30 * M, T0 + 30 * M)  # met at the due time
    assert rule(restored_at=T0 + 40 * M) == (T0 + 30 * M, None)
    # the acknowledgement is not the watched target
    assert rule(staff_updates=(T0 + 5 * M,)) == (T0 + 30 * M, None)
    # a resolution first stops it too (it restores the service)
    assert rule(**resolved(T0 + 25 * M)) == (T0 + 30 * M, T0 + 25 * M)


def test_a_stopped_escalation_keeps_its_due_time_while_the_customer_holds_the_ticket():
    # Given service restored at 20 min, then waiting on the customer from 25 min
    ticket = facts(
        severity="critical",
        package="standard",
        restored_at=T0 + 20 * M,
        pauses=((T0 + 25 * M, None),),
    )
    [rule] = escalations(ticket, UPTIME)
    assert (rule.due_at, rule.stopped_at) == (T0 + 30 * M, T0 + 20 * M)


# --- warnings ------------------------------------------------------------------------------


def test_a_warning_comes_after_three_quarters_of_the_running_time_pauses_left_out():
    # Given a pause from 8 h to 10 h
    planned = plan(facts(pauses=((T0 + 8 * H, T0 + 10 * H),)))

    # Then the resolution (12 h) is due at 14 h and warns after 9 h of running: 8 h before the
    # pause, 1 h after it, so at 11 h (never inside the pause)
    resolution = planned["resolution", 0]
    assert (resolution.due_at, resolution.warning_at) == (T0 + 14 * H, T0 + 11 * H)


def test_a_warning_reached_before_a_pause_stays_where_it_was():
    # Given a pause from 10 h to 11 h: the 9 h warning came before it
    planned = plan(facts(pauses=((T0 + 10 * H, T0 + 11 * H),)))
    assert planned["resolution", 0].warning_at == T0 + 9 * H
    assert planned["resolution", 0].due_at == T0 + 13 * H


def test_a_warning_on_a_business_calendar_skips_closed_hours():
    # Given a severity 3 Berlin office ticket opened Friday 20 November 2026 at 16:00 CET
    opened = datetime(2026, 11, 20, 16, tzinfo=BERLIN)
    first = plan(facts(severity="3", package="all_inclusive", opened_at=opened), DEDICATED)[
        "first_response", 0
    ]

    # Then 2 business hours end Monday 10:00, and 1 h 30 of them Monday 09:30
    assert first.due_at == datetime(2026, 11, 23, 10, tzinfo=BERLIN)
    assert first.warning_at == datetime(2026, 11, 23, 9, 30, tzinfo=BERLIN)


@pytest.mark.parametrize(
    "name",
    [
        "cso_enhanced",
        "standard_support",
        "vendor_priority_plan",
        "vendor_uptime_sla",
        "vendor_dedicated_support",
    ],
)
def test_every_severity_of_every_shipped_policy_plans_its_clocks(name):
    # Given any severity of any shipped policy, assigned at once, answered twice and resolved a
    # day after its opening
    policy = load(f"{name}.yaml")
    package = policy.applies_to[0]
    for severity in policy.severities:
        ticket = facts(
            severity=severity.code,
            package=package,
            staff_updates=(T0 + H, T0 + 2 * H),
            assigned_at=T0,
            **resolved(T0 + 24 * H),
        )
        planned = targets_plan(ticket, policy)

        # Then every target has a due time (a non-bug ticket) and, RCA aside, was met
        assert planned, severity.code
        for target in planned:
            assert target.due_at is not None, (severity.code, target.kind)
            assert target.warning_at is not None and target.warning_at <= target.due_at
            if target.kind.value != "root_cause_analysis":
                assert target.met_at is not None, (severity.code, target.kind)
        escalations_plan(ticket, policy, planned)
