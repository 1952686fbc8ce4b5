"""Loading SLA policy files (`manage.py load_sla_policies`): all or nothing, each catalog
package served by one policy, an unchanged file changes nothing, and a changed one raises the
policy's version and recalculates its open tickets, each change logged."""

from datetime import UTC, datetime, timedelta
from io import StringIO
from pathlib import Path

import pytest
import time_machine
from django.core.management import CommandError, call_command

from tests.tickets.conftest import OPENED
from tickets.models import SlaPolicy, SlaRecalculation
from tickets.policy_parse import PolicyError
from tickets.services.clocks import policy_tickets_recalculate
from tickets.services.policies import (
    policies_load,
    policy_files,
    policy_for_package,
    policy_parsed,
)
from tickets.services.tickets import ticket_open, ticket_status_set

SHIPPED = Path(__file__).resolve().parents[2] / "tickets" / "policies"
LOADED_AT = datetime(2026, 11, 1, tzinfo=UTC)
CATALOG = "expert, foundations, fundamentals, premier, strategic"
H = timedelta(hours=1)


def _copy(tmp_path: Path, name: str, *, as_name: str | None = None, edit=None) -> Path:
    """A copy of a shipped policy file in tmp_path, optionally edited (old, new)."""
    text = (SHIPPED / name).read_text()
    if edit is not None:
        old, new = edit
        assert old in text
        text = text.replace(old, new, 1)
    path = tmp_path / (as_name or name)
    path.write_text(text)
    return path


def _problems(paths) -> list[str]:
    with pytest.raises(PolicyError) as refused:
        policies_load(paths=paths, now=LOADED_AT)
    return refused.value.problems


def test_the_five_shipped_policies_load(catalog):
    # When every shipped file is loaded
    result = policies_load(paths=policy_files(), now=LOADED_AT)

    # Then each becomes a policy named after its file, at version 1
    codes = [
        "cso_enhanced",
        "standard_support",
        "vendor_dedicated_support",
        "vendor_priority_plan",
        "vendor_uptime_sla",
    ]
    assert sorted(result.created) == codes
    assert list(SlaPolicy.objects.values_list("code", "version")) == [(c, 1) for c in codes]
    # every catalog package is served, Table 8's tiers by the enhanced policy
    served = {code: policy_for_package(code).code for code in CATALOG.split(", ")}
    assert served == {
        "expert": "cso_enhanced",
        "foundations": "standard_support",
        "fundamentals": "standard_support",
        "premier": "cso_enhanced",
        "strategic": "cso_enhanced",
    }
    # and each one reads back as the arithmetic of its file
    for policy in result.policies:
        assert policy_parsed(policy).name == policy.name


def test_another_vendors_plan_loads_although_no_catalog_package_is_its(catalog):
    result = policies_load(paths=[SHIPPED / "vendor_uptime_sla.yaml"], now=LOADED_AT)
    assert result.created == ["vendor_uptime_sla"]
    assert SlaPolicy.objects.get().applies_to == ["standard"]


def test_a_file_mixing_an_unknown_package_with_catalog_ones_is_refused_whole(catalog, tmp_path):
    # Given a copy of the enhanced policy that also names a package the catalog does not have
    mixed = _copy(
        tmp_path,
        "cso_enhanced.yaml",
        edit=(
            "applies_to: [premier, expert, strategic]",
            "applies_to: [premier, expert, strategic, platinum]",
        ),
    )

    # When it is loaded with a good file
    problems = _problems([SHIPPED / "standard_support.yaml", mixed])

    # Then the problem names the file, the field and the catalog's packages, and nothing is
    # written, not even the good file
    assert problems == [
        "cso_enhanced.yaml: applies_to: 'platinum' is not a package of the catalog "
        f"(known: {CATALOG})."
    ]
    assert not SlaPolicy.objects.exists()


def test_a_package_served_by_two_files_is_refused(catalog, tmp_path):
    # Given a second file serving the standard policy's packages
    twin = _copy(tmp_path, "standard_support.yaml", as_name="standard_twin.yaml")

    # When both are loaded together, the later one in file order is refused
    problems = _problems([twin, SHIPPED / "standard_support.yaml"])
    assert problems == [
        "standard_support.yaml: applies_to: 'foundations' is already served by standard_twin.yaml.",
        "standard_support.yaml: applies_to: 'fundamentals' is already served by "
        "standard_twin.yaml.",
    ]
    assert not SlaPolicy.objects.exists()


def test_a_package_served_by_a_loaded_policy_is_refused_to_another_file(sla_policies, tmp_path):
    twin = _copy(tmp_path, "standard_support.yaml", as_name="standard_twin.yaml")
    assert _problems([twin]) == [
        "standard_twin.yaml: applies_to: 'foundations' is already served by the loaded policy "
        "'standard_support'.",
        "standard_twin.yaml: applies_to: 'fundamentals' is already served by the loaded policy "
        "'standard_support'.",
    ]
    assert not SlaPolicy.objects.filter(code="standard_twin").exists()


def test_a_broken_file_is_reported_by_the_command_and_nothing_is_loaded(catalog, tmp_path):
    broken = _copy(
        tmp_path, "vendor_priority_plan.yaml", edit=("duration: 1 hour", "duration: soon")
    )
    errors = StringIO()
    with pytest.raises(CommandError, match=r"No policy was loaded: fix the 1 problem\(s\) above"):
        call_command("load_sla_policies", str(broken), stderr=errors)
    assert "vendor_priority_plan.yaml: targets.1.all[0].duration" in errors.getvalue()
    assert not SlaPolicy.objects.exists()


def test_loading_unchanged_files_again_changes_nothing(premier, sla_policies, customer_admin):
    # Given the loaded policies and an open ticket
    ticket_open(
        subscription=premier, subject="x", severity="P1", opened_by=customer_admin, now=OPENED
    )
    before = list(SlaPolicy.objects.values())

    # When the same files are loaded again
    out = StringIO()
    call_command("load_sla_policies", stdout=out)

    # Then nothing changed and nothing was recalculated
    assert "created 0, updated 0, unchanged 5" in out.getvalue()
    assert list(SlaPolicy.objects.values()) == before
    assert not SlaRecalculation.objects.exists()


@pytest.fixture
def open_and_closed(premier, sla_policies, customer_admin, engineer):
    """Two Premier P1 tickets on the enhanced policy: one open, one closed."""

    def opened(subject):
        return ticket_open(
            subscription=premier,
            subject=subject,
            severity="P1",
            opened_by=customer_admin,
            now=OPENED,
        )

    running, done = opened("Running"), opened("Done")
    ticket_status_set(ticket=done, status="resolved", by=engineer, now=OPENED + H)
    ticket_status_set(ticket=done, status="closed", by=engineer, now=OPENED + 2 * H)
    return running, done


def test_a_changed_file_raises_the_version_and_recalculates_open_tickets(open_and_closed, tmp_path):
    running, done = open_and_closed
    # Given the enhanced policy edited: Premier P1 first response in 2 hours, not 1
    edited = _copy(
        tmp_path,
        "cso_enhanced.yaml",
        edit=(
            "- {kind: first_response, duration: 1 hour, calendar: 24x7}",
            "- {kind: first_response, duration: 2 hours, calendar: 24x7}",
        ),
    )

    # When it is loaded, at 15:00
    out = StringIO()
    with time_machine.travel(OPENED + H, tick=False):
        call_command("load_sla_policies", str(edited), stdout=out)

    # Then the policy is at version 2 with the new text
    policy = SlaPolicy.objects.get(code="cso_enhanced")
    assert policy.version == 2
    assert "first_response, duration: 2 hours" in policy.text
    assert "cso_enhanced: recalculated 1 open ticket(s)." in out.getvalue()
    # the open ticket's first response moved from 15:00 to 16:00, and the move is logged
    assert running.targets.get(kind="first_response").due_at == OPENED + 2 * H
    log = SlaRecalculation.objects.get()
    assert (log.ticket, log.at, log.actor, log.reason) == (
        running,
        OPENED + H,
        None,
        "SLA policy cso_enhanced v2",
    )
    assert log.changes == [
        {
            "target": "first_response",
            "cycle": 0,
            "before": "2026-11-23T15:00:00+00:00",
            "after": "2026-11-23T16:00:00+00:00",
        }
    ]
    # and the closed ticket keeps the clocks it closed with
    assert done.targets.get(kind="first_response").due_at == OPENED + H


def test_a_changed_calendar_moves_the_rca_of_a_resolved_ticket(open_and_closed, engineer, tmp_path):
    # Given the open ticket resolved Monday 16:00 UTC: its RCA is due Friday 27th 17:00 EST
    # (3 New York business days, Thanksgiving skipped) = 22:00 UTC
    running, _done = open_and_closed
    ticket_status_set(ticket=running, status="resolved", by=engineer, now=OPENED + 2 * H)
    assert running.targets.get(kind="root_cause_analysis").due_at == datetime(
        2026, 11, 27, 22, tzinfo=UTC
    )

    # When the New York office is said to close at 18:00
    edited = _copy(
        tmp_path, "cso_enhanced.yaml", edit=('mon-fri: "09:00-17:00"', 'mon-fri: "09:00-18:00"')
    )
    with time_machine.travel(OPENED + 3 * H, tick=False):
        call_command("load_sla_policies", str(edited), verbosity=0)

    # Then the resolved ticket (still live) is recalculated: its RCA is due at 18:00 EST
    log = SlaRecalculation.objects.get()
    assert log.changes == [
        {
            "target": "root_cause_analysis",
            "cycle": 0,
            "before": "2026-11-27T22:00:00+00:00",
            "after": "2026-11-27T23:00:00+00:00",
        }
    ]


def test_recalculating_a_policy_logs_every_live_ticket_even_unmoved(open_and_closed, engineer):
    running, _done = open_and_closed
    policy = SlaPolicy.objects.get(code="cso_enhanced")

    count = policy_tickets_recalculate(
        policy=policy, now=OPENED + H, reason="Calendar checked", actor=engineer
    )

    assert count == 1
    log = SlaRecalculation.objects.get()
    assert (log.ticket, log.actor, log.reason, log.changes) == (
        running,
        engineer,
        "Calendar checked",
        [],
    )


def test_the_policy_directory_lists_its_yaml_files(tmp_path):
    _copy(tmp_path, "vendor_uptime_sla.yaml")
    (tmp_path / "README.md").write_text("not a policy")
    assert [path.name for path in policy_files(tmp_path)] == ["vendor_uptime_sla.yaml"]


def test_a_new_version_may_not_drop_a_severity_open_tickets_stand_on(open_and_closed, tmp_path):
    # Given open Premier P1 tickets, and the enhanced policy edited to rename P1
    edited = _copy(tmp_path, "cso_enhanced.yaml", edit=("  - code: P1\n", "  - code: S1\n"))
    text = edited.read_text().replace("\n  P1:\n", "\n  S1:\n")
    edited.write_text(text)

    # When it is loaded, it is refused and the loaded version stays
    problems = _problems([edited])
    assert problems == [
        "cso_enhanced.yaml: severities: open tickets have severity 'P1', which the file no "
        "longer defines."
    ]
    assert SlaPolicy.objects.get(code="cso_enhanced").version == 1


def test_a_file_name_that_cannot_be_a_code_is_refused(catalog, tmp_path):
    path = _copy(tmp_path, "vendor_priority_plan.yaml", as_name="Priority Plan.yaml")

    assert _problems([path]) == [
        "Priority Plan.yaml: name the file with lower-case letters, digits, - and _ only "
        "(it becomes the policy's code)."
    ]
