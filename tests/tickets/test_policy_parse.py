"""SLA policy files: the shipped policies load as the seeds say, and a broken file lists every
problem with its entry and field."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from tickets.policy_parse import PolicyError, policy_parse
from tickets.sla import DurationUnit, EscalationAction, TargetKind, escalation_due_at

POLICIES = Path(__file__).resolve().parents[2] / "tickets" / "policies"
YEARS = range(2025, 2028)
SHIPPED = sorted(path.name for path in POLICIES.glob("*.yaml"))


def load(name: str):
    return policy_parse((POLICIES / name).read_text(), source=name, years=YEARS)


def targets_by_kind(policy, severity: str, package: str) -> dict:
    return {t.spec.kind: t for t in policy.targets_for(severity, package)}


def test_five_policies_ship():
    assert SHIPPED == [
        "cso_enhanced.yaml",
        "standard_support.yaml",
        "vendor_dedicated_support.yaml",
        "vendor_priority_plan.yaml",
        "vendor_uptime_sla.yaml",
    ]


@pytest.mark.parametrize("name", SHIPPED)
def test_each_shipped_policy_loads_and_writes_down_its_choices(name):
    # When
    policy = load(name)

    # Then
    assert 3 <= len(policy.severities) <= 5
    assert policy.targets and policy.applies_to and policy.source
    assert "choice" in policy.notes.lower() or "choices" in policy.notes.lower()


def test_cso_enhanced_follows_table_8():
    # Given the CSO enhanced policy
    policy = load("cso_enhanced.yaml")

    # Then it covers the three tiers Table 8 gives SLAs to
    assert policy.applies_to == ("premier", "expert", "strategic")
    premier_p1 = targets_by_kind(policy, "P1", "premier")
    assert str(premier_p1[TargetKind.FIRST_RESPONSE].spec.duration) == "1 hour"
    assert str(premier_p1[TargetKind.PERIODIC_UPDATE].spec.duration) == "2 hours"
    assert premier_p1[TargetKind.PERIODIC_UPDATE].recurs
    resolution = premier_p1[TargetKind.RESOLUTION].spec
    assert (str(resolution.duration), resolution.non_bug_only) == ("12 hours", True)
    assert str(premier_p1[TargetKind.ROOT_CAUSE_ANALYSIS].spec.duration) == "3 business days"
    expert_p1 = targets_by_kind(policy, "P1", "expert")
    assert expert_p1[TargetKind.FIRST_RESPONSE].spec.duration.as_timedelta() == timedelta(
        minutes=30
    )
    strategic_p1 = targets_by_kind(policy, "P1", "strategic")
    assert str(strategic_p1[TargetKind.ROOT_CAUSE_ANALYSIS].spec.duration) == "2 business days"
    # P3 RCA is N/A
    assert TargetKind.ROOT_CAUSE_ANALYSIS not in targets_by_kind(policy, "P3", "premier")
    assert policy.targets_for("P1", "foundations") == ()


def test_cso_business_days_run_on_the_new_york_office_calendar():
    # Given the RCA target's calendar (the choice written in the policy's notes)
    policy = load("cso_enhanced.yaml")
    rca = targets_by_kind(policy, "P2", "premier")[TargetKind.ROOT_CAUSE_ANALYSIS].spec

    # Then it is New York office hours, closed on US holidays
    assert rca.calendar.time_zone == "America/New_York"
    assert datetime(2026, 7, 3).date() in rca.calendar.holidays  # Independence Day observed
    assert "New York" in policy.notes


def test_standard_support_serves_the_tiers_without_enhanced_slas():
    # When
    policy = load("standard_support.yaml")

    # Then
    assert policy.applies_to == ("foundations", "fundamentals")
    severity_2 = targets_by_kind(policy, "2", "fundamentals")
    update = severity_2[TargetKind.PERIODIC_UPDATE].spec
    assert update.duration.unit is DurationUnit.BUSINESS_DAYS
    assert update.calendar.name == "new_york_business_days"
    severity_1 = targets_by_kind(policy, "1", "foundations")
    assert str(severity_1[TargetKind.ROOT_CAUSE_ANALYSIS].spec.duration) == "3 business days"


def test_priority_plan_elevates_priority_2_after_8_hours():
    # Given the other vendor's priority plan
    policy = load("vendor_priority_plan.yaml")

    # When a priority 2 ticket opens
    (elevation,) = policy.escalations_for("2", "support_plus")
    opened = datetime(2026, 3, 6, 22, 0, tzinfo=UTC)

    # Then it is elevated to Level 2 eight hours later, and priority 1 at once
    assert elevation.rule.action is EscalationAction.RAISE_LEVEL
    assert elevation.rule.target == "Level 2"
    assert escalation_due_at(elevation.rule, opened) == opened + timedelta(hours=8)
    (immediate,) = policy.escalations_for("1", "support_plus")
    assert escalation_due_at(immediate.rule, opened) == opened
    assert policy.escalations_for("3", "support_plus") == ()
    time_to_open = targets_by_kind(policy, "3", "support_plus")[TargetKind.TIME_TO_OPEN]
    assert str(time_to_open.spec.duration) == "8 hours"


def test_uptime_sla_diverts_unless_restored_within_30_minutes():
    # When
    policy = load("vendor_uptime_sla.yaml")

    # Then critical runs round the clock, the others on Mon-Fri 8am-8pm
    (divert,) = policy.escalations_for("critical", "standard")
    assert divert.unless_met is TargetKind.RESTORE
    assert divert.rule.action is EscalationAction.NOTIFY
    assert "backup data centre" in divert.rule.target
    assert str(divert.rule.after) == "30 minutes"
    high = targets_by_kind(policy, "high", "standard")[TargetKind.ACKNOWLEDGEMENT].spec
    assert high.duration.amount == Decimal("0.5")
    assert [str(o) for o in high.calendar.weekly_hours[0]] == ["08:00-20:00"]
    assert high.calendar.weekly_hours[5] == ()


def test_dedicated_support_has_five_severities_on_a_9_to_5_cet_calendar():
    # When
    policy = load("vendor_dedicated_support.yaml")

    # Then
    assert [s.code for s in policy.severities] == ["1", "2", "3", "4", "5"]
    office = policy.calendars["central_europe_office"]
    assert office.time_zone == "Europe/Berlin"
    assert [str(o) for o in office.weekly_hours[4]] == ["09:00-17:00"]
    winter = datetime(2026, 1, 15, 9, tzinfo=office.zone)
    assert winter.utcoffset() == timedelta(hours=1)  # CET
    severity_3 = targets_by_kind(policy, "3", "all_inclusive")
    assert str(severity_3[TargetKind.FIRST_RESPONSE].spec.duration) == "2 business hours"
    assert str(severity_3[TargetKind.FOLLOW_UP].spec.duration) == "2 business days"
    assert TargetKind.FOLLOW_UP not in targets_by_kind(policy, "5", "all_inclusive")


BROKEN = """
name: Broken
source: test
applies_to: [premier]
calendars:
  office:
    time_zone: Mars/Olympus
    hours:
      mon-fri: "08:00-12:00, 11:00-13:00"
      funday: "09:00-10:00"
    holidays: {country: XX}
severities:
  - {code: P1, name: Critical, definition: Down}
  - {code: P1, name: Again, definition: Twice}
targets:
  P1:
    premier:
      - {kind: first_reply, duration: 1 hour, calendar: 24x7}
      - {kind: resolution, duration: soon, calendar: nowhere}
      - {kind: first_response, duration: 1 hour, calendar: 24x7, recurs: true}
    gold:
      - {kind: resolution, duration: 1 day, calendar: 24x7}
escalations:
  P1:
    premier:
      - {after: 2 business minutes, calendar: 24x7, action: shout, target: Level 2}
"""


def test_a_broken_policy_lists_every_problem_with_its_path():
    # When
    with pytest.raises(PolicyError) as raised:
        policy_parse(BROKEN, source="broken.yaml", years=YEARS)

    # Then
    problems = raised.value.problems
    expected = [
        'calendars.office.time_zone: "Mars/Olympus" is not a known time zone',
        "calendars.office.hours.mon-fri: Business hours overlap on mon: 08:00-12:00, 11:00-13:00.",
        'calendars.office.hours.funday: Days are written "mon-fri" or "sat, sun", not "funday".',
        "calendars.office.holidays: no public holidays are known for XX",
        "severities: a policy has 3 to 5 severities, not 2",
        "severities[1] (P1).code: duplicate code 'P1' (also severities[0] (P1))",
        "targets.P1.premier[0].kind: unknown kind 'first_reply'; use one of: first_response, "
        "acknowledgement, periodic_update, resolution, restore, root_cause_analysis, "
        "time_to_open, follow_up",
        'targets.P1.premier[1].duration: "soon" is not a duration: write it like "30 minutes", '
        '"4 hours", "1 day", "4 business hours" or "2 business days".',
        "targets.P1.premier[1].calendar: unknown calendar 'nowhere'; use one of: 24x7, office",
        "targets.P1.premier[2].recurs: only periodic updates recur, not first_response",
        "targets.P1.gold: unknown package 'gold'; use one of: premier, all",
        'escalations.P1.premier[0].after: "2 business minutes" is not a duration: use business '
        "hours or business days.",
    ]
    assert problems == expected


def test_two_severities_and_six_severities_are_refused():
    severity = "  - {{code: S{0}, name: S{0}, definition: d}}\n"
    for count in (2, 6):
        text = "name: n\nsource: s\napplies_to: [x]\ncalendars: {}\nseverities:\n"
        text += "".join(severity.format(n) for n in range(count))
        text += "targets:\n" + "".join(
            f"  S{n}: {{all: [{{kind: restore, duration: 1 hour, calendar: 24x7}}]}}\n"
            for n in range(count)
        )
        with pytest.raises(PolicyError) as raised:
            policy_parse(text, source="p.yaml", years=YEARS)
        assert raised.value.problems == [f"severities: a policy has 3 to 5 severities, not {count}"]


def test_a_repeated_target_kind_and_a_severity_without_targets_are_named():
    text = """
name: n
source: s
applies_to: [premier]
calendars: {}
severities:
  - {code: A, name: A, definition: a}
  - {code: B, name: B, definition: b}
  - {code: C, name: C, definition: c}
targets:
  A:
    all: [{kind: restore, duration: 1 hour, calendar: 24x7}]
    premier: [{kind: restore, duration: 2 hours, calendar: 24x7}]
  B:
    all: [{kind: restore, duration: 1 hour, calendar: 24x7}]
"""
    with pytest.raises(PolicyError) as raised:
        policy_parse(text, source="p.yaml", years=YEARS)
    assert raised.value.problems == [
        "targets.A.premier[0]: a second restore target (also targets.A.all[0])",
        "targets.C: the severity has no targets",
    ]


def test_bad_yaml_names_line_and_column():
    text = "name: n\nseverities:\n  - {code: P1\n  name: x\n"
    with pytest.raises(PolicyError) as raised:
        policy_parse(text, source="bad.yaml", years=YEARS)
    (problem,) = raised.value.problems
    assert problem.startswith("bad.yaml, line 4, column ")
    assert "not valid YAML" in problem


def test_a_repeated_key_is_bad_yaml():
    with pytest.raises(PolicyError) as raised:
        policy_parse("name: a\nname: b\n", source="dup.yaml", years=YEARS)
    assert raised.value.problems == [
        "dup.yaml, line 2, column 1: not valid YAML (found duplicate key 'name')"
    ]


def test_a_periodic_update_that_says_it_does_not_recur_is_refused():
    from pathlib import Path

    from tickets.policy_parse import PolicyError, policy_parse

    text = (Path(__file__).resolve().parents[2] / "tickets/policies/cso_enhanced.yaml").read_text()
    text = text.replace("calendar: 24x7, recurs: true}", "calendar: 24x7, recurs: false}", 1)

    with pytest.raises(PolicyError) as refused:
        policy_parse(text, source="cso_enhanced.yaml", years=range(2026, 2027))
    assert refused.value.problems == [
        "targets.P1.premier[1].recurs: periodic updates always recur; leave recurs out"
    ]
