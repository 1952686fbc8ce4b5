"""Ticket services: opening (who, when, which channel), replies, pauses, resolution, reopening
and re-targeting, each ending with the ticket's clocks stored as the SLA policy says.

Due times are worked out by hand in the comments; OPENED is Monday 23 November 2026 14:00 UTC
(09:00 in New York).
"""

from datetime import UTC, date, datetime, timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from accounts.models import Membership
from cso.services.contracts import SubscriptionSpec, contract_create
from tests.conftest import NOW
from tests.factories import LineOfBusinessFactory, MembershipFactory, OrganizationFactory
from tests.tickets.conftest import OPENED
from tickets.models import SlaRecalculation, Ticket, TicketEscalation
from tickets.services.clocks import ticket_clocks_refresh
from tickets.services.tickets import (
    ticket_assign,
    ticket_open,
    ticket_reply,
    ticket_restored,
    ticket_retarget,
    ticket_status_set,
)

H = timedelta(hours=1)
M = timedelta(minutes=1)
S = timedelta(seconds=1)


def _due(ticket, kind, cycle=0):
    return ticket.targets.get(kind=kind, cycle=cycle).due_at


def _target(ticket, kind, cycle=0):
    return ticket.targets.get(kind=kind, cycle=cycle)


def _utc(*fields) -> datetime:
    return datetime(*fields, tzinfo=UTC)


def _subscription(package: str, name: str, **organization):
    """A signed 2026 subscription to `package` for a new customer, with one member."""
    customer = OrganizationFactory(name=name, **organization)
    line = LineOfBusinessFactory(organization=customer, name="Retail")
    contract = contract_create(
        organization=customer,
        term_start=date(2026, 1, 1),
        overage_rate="150.00",
        subscriptions=[SubscriptionSpec(package, [line])],
        reference=f"{name}-2026",
        signed_at=NOW,
    )
    MembershipFactory(organization=customer, role=Membership.Role.ADMIN)
    return contract.subscriptions.get()


def _member(subscription):
    return subscription.contract.organization.memberships.get().user


@pytest.fixture
def p1(premier, sla_policies, customer_admin):
    return ticket_open(
        subscription=premier,
        subject="Chat is down",
        severity="P1",
        opened_by=customer_admin,
        now=OPENED,
    )


@pytest.fixture
def fundamentals(catalog):
    return _subscription("fundamentals", "Fabrikam")


def _on_policy(subscription, policy, severity, engineer, opened_at, **extra):
    """A ticket support puts on a policy explicitly (another vendor's plan)."""
    return ticket_open(
        subscription=subscription,
        subject="Incident",
        severity=severity,
        opened_by=engineer,
        opened_at=opened_at,
        now=opened_at,
        sla_policy=policy,
        **extra,
    )


# --- opening: the CSO enhanced policy -------------------------------------------------------


def test_a_premier_p1_gets_table_8s_targets_from_its_opening(p1):
    assert p1.sla_policy.code == "cso_enhanced"
    assert p1.sla_package == "premier"
    assert p1.status == Ticket.Status.NEW
    assert _due(p1, "first_response") == OPENED + 1 * H
    assert _due(p1, "periodic_update") == OPENED + 2 * H
    assert _due(p1, "resolution") == OPENED + 12 * H
    assert _due(p1, "root_cause_analysis") is None  # due only after the resolution
    # the sweep's next job on each is the warning, at three quarters of the time
    assert _target(p1, "first_response").next_alert_at == OPENED + 45 * M


def test_an_expert_ticket_goes_to_the_primary_engineer_and_may_come_by_messaging(
    sla_policies, engineer
):
    # Given an Expert customer whose primary engineer is Sam
    expert = _subscription("expert", "Contoso", primary_support_engineer=engineer)

    # When the customer messages its primary engineer
    ticket = ticket_open(
        subscription=expert,
        subject="Routing question",
        severity="P1",
        opened_by=_member(expert),
        now=OPENED,
        channel="messaging",
    )

    # Then the ticket is Sam's from its opening, on Expert's column of Table 8
    assert (ticket.assignee, ticket.status, ticket.assigned_at) == (
        engineer,
        Ticket.Status.OPEN,
        OPENED,
    )
    assert _due(ticket, "first_response") == OPENED + 30 * M


def test_a_premier_ticket_is_not_given_to_a_primary_engineer(premier, sla_policies, engineer):
    # Given Northwind (Premier) with a primary engineer named anyway
    organization = premier.contract.organization
    organization.primary_support_engineer = engineer
    organization.save()

    # Then its tickets wait in the queue: Premier does not include a primary engineer
    ticket = ticket_open(
        subscription=premier, subject="x", severity="P2", opened_by=engineer, now=OPENED
    )
    assert (ticket.assignee, ticket.status) == (None, Ticket.Status.NEW)


def test_messaging_needs_a_primary_engineer_assigned(sla_policies):
    expert = _subscription("expert", "Contoso")
    with pytest.raises(ValidationError) as refused:
        ticket_open(
            subscription=expert,
            subject="x",
            severity="P2",
            opened_by=_member(expert),
            now=OPENED,
            channel="messaging",
        )
    assert refused.value.message_dict["channel"] == [
        "Contoso has no primary engineer assigned yet; open the case on the web."
    ]


# --- opening: what is refused ---------------------------------------------------------------


def _refusal(field, **given) -> list[str]:
    with pytest.raises(ValidationError) as refused:
        ticket_open(**{"subject": "x", "now": OPENED, **given})
    return refused.value.message_dict[field]


def test_a_ticket_cannot_be_opened_in_the_future(premier, sla_policies, engineer):
    assert _refusal(
        "opened_at",
        subscription=premier,
        severity="P2",
        opened_by=engineer,
        opened_at=OPENED + M,
    ) == ["A ticket cannot be opened in the future."]


def test_the_opening_time_needs_its_time_zone(premier, sla_policies, engineer):
    assert _refusal(
        "opened_at",
        subscription=premier,
        severity="P2",
        opened_by=engineer,
        opened_at=datetime(2026, 11, 23, 9),
    ) == ["Give the opening time with its time zone."]


def test_a_ticket_is_opened_within_the_contract_term(premier, sla_policies, engineer):
    assert _refusal(
        "subscription",
        subscription=premier,
        severity="P2",
        opened_by=engineer,
        opened_at=_utc(2025, 12, 31, 23),
    ) == ["Contract NW-2026 runs 2026-01-01 to 2026-12-31; it does not cover 2025-12-31."]


def test_the_line_of_business_must_be_covered(premier, sla_policies, customer_admin):
    outlet = LineOfBusinessFactory(organization=premier.contract.organization, name="Outlet")
    assert _refusal(
        "line_of_business",
        subscription=premier,
        severity="P2",
        opened_by=customer_admin,
        line_of_business=outlet,
    ) == ["Outlet is not covered by this subscription."]


def test_an_unknown_severity_lists_the_policys_codes(premier, sla_policies, customer_admin):
    assert _refusal("severity", subscription=premier, severity="1", opened_by=customer_admin) == [
        '"1" is not a severity of CSO enhanced support: use P1, P2, P3.'
    ]


def test_only_staff_choose_the_opening_time_or_the_policy(premier, sla_policies, customer_admin):
    with pytest.raises(PermissionDenied):
        ticket_open(
            subscription=premier,
            subject="x",
            severity="P2",
            opened_by=customer_admin,
            now=OPENED,
            sla_policy=sla_policies["standard_support"],
        )


def test_a_customer_cannot_open_a_ticket_for_another_organization(fundamentals, premier):
    with pytest.raises(PermissionDenied):
        ticket_open(
            subscription=fundamentals,
            subject="x",
            severity="2",
            opened_by=premier.contract.organization.memberships.get().user,
            now=OPENED,
        )


def test_customers_open_cases_on_the_web_or_by_messaging_only(p1, customer_admin):
    assert "entered by support" in str(
        _refusal(
            "channel",
            subscription=p1.subscription,
            severity="P3",
            opened_by=customer_admin,
            channel="phone",
        )
    )


def test_web_case_creation_needs_premier_or_above(fundamentals, sla_policies):
    assert _refusal(
        "channel", subscription=fundamentals, severity="2", opened_by=_member(fundamentals)
    ) == [
        "The Fundamentals package does not include direct web case creation (Premier and "
        "above), so a case cannot be opened by web. Open it by phone, chat, email."
    ]


def test_phone_needs_fundamentals_or_above(sla_policies, engineer):
    foundations = _subscription("foundations", "Tailspin")
    refused = _refusal(
        "channel", subscription=foundations, severity="2", opened_by=engineer, channel="phone"
    )
    assert refused == [
        "The Foundations package does not include phone support (Fundamentals and above), so "
        "a case cannot be opened by phone. Open it by chat, email."
    ]
    # support enters the customer's chat instead
    chat = ticket_open(
        subscription=foundations,
        subject="x",
        severity="2",
        opened_by=engineer,
        now=OPENED,
        channel="chat",
    )
    assert chat.sla_policy.code == "standard_support"


def test_messaging_needs_expert_or_above(premier, sla_policies, customer_admin):
    [refused] = _refusal(
        "channel",
        subscription=premier,
        severity="P2",
        opened_by=customer_admin,
        channel="messaging",
    )
    assert "does not include the messaging channel to a primary engineer" in refused


def test_an_unknown_channel_is_refused_even_to_support(premier, sla_policies, engineer):
    assert _refusal(
        "channel", subscription=premier, severity="P2", opened_by=engineer, channel="fax"
    ) == ['"fax" is not a channel: use web, phone, chat, messaging, email.']


def test_a_ticket_is_assigned_to_support_staff_only(
    premier, sla_policies, engineer, customer_admin
):
    assert _refusal(
        "assignee",
        subscription=premier,
        severity="P2",
        opened_by=engineer,
        assignee=customer_admin,
    ) == [f"{customer_admin} is not on the support staff."]


def test_support_enters_a_fundamentals_phone_case(fundamentals, sla_policies, engineer):
    ticket = ticket_open(
        subscription=fundamentals,
        subject="Cannot log in",
        severity="2",
        opened_by=engineer,
        now=OPENED,
        channel="phone",
    )
    assert (ticket.sla_policy.code, ticket.sla_package) == ("standard_support", "fundamentals")
    assert ticket.assignee is None  # no primary engineer below Expert


# --- replies, pauses, breaches --------------------------------------------------------------


def test_waiting_on_the_customer_moves_the_deadlines_by_the_time_paused(
    p1, engineer, customer_admin
):
    ticket_reply(
        ticket=p1, author=engineer, body="Which site?", now=OPENED + H / 2, wait_on_customer=True
    )
    p1.refresh_from_db()
    assert p1.status == Ticket.Status.WAITING_ON_CUSTOMER
    assert _due(p1, "resolution") is None  # paused: no deadline while the customer holds it
    # the first response, met by the question, keeps its due time
    assert _due(p1, "first_response") == OPENED + H
    ticket_reply(ticket=p1, author=customer_admin, body="All of them", now=OPENED + 3 * H)
    p1.refresh_from_db()
    assert p1.status == Ticket.Status.OPEN
    assert _due(p1, "resolution") == OPENED + 12 * H + (3 * H - H / 2)
    assert _target(p1, "first_response").met_at == OPENED + H / 2
    assert _due(p1, "first_response") == OPENED + H


def test_each_target_records_whether_and_by_how_much_it_was_breached(p1, engineer):
    # When the first response comes 90 seconds late and nothing else happens for 13 hours
    ticket_reply(ticket=p1, author=engineer, body="Looking", now=OPENED + H + 90 * S)
    ticket_reply(ticket=p1, author=engineer, body="Still looking", now=OPENED + 13 * H)

    # Then the first response is late by 90 s, for good
    first = _target(p1, "first_response")
    assert (first.met_at, first.breached, first.seconds_late) == (OPENED + H + 90 * S, True, 90)
    assert first.next_alert_at is None
    # the unmet resolution (due at 12 h) is an hour late as of the last change
    resolution = _target(p1, "resolution")
    assert (resolution.met_at, resolution.breached, resolution.seconds_late) == (None, True, 3600)
    # and the update cycle met at 13 h (due at 1 h 01 m 30 s + 2 h) was late by 9 h 58 m 30 s
    cycle = _target(p1, "periodic_update", 1)
    assert cycle.breached and cycle.seconds_late == 10 * 3600 - 90


def test_an_internal_note_updates_nothing_and_cannot_ask_the_customer(p1, engineer):
    ticket_reply(
        ticket=p1, author=engineer, body="Checking logs", now=OPENED + H / 2, is_public=False
    )
    assert _target(p1, "first_response").met_at is None
    with pytest.raises(ValidationError) as refused:
        ticket_reply(
            ticket=p1,
            author=engineer,
            body="Checking",
            now=OPENED + H,
            is_public=False,
            wait_on_customer=True,
        )
    assert refused.value.message_dict["wait_on_customer"] == [
        "Ask the customer in a public reply: an internal note does not reach them."
    ]
    p1.refresh_from_db()
    assert p1.status == Ticket.Status.NEW


def test_a_customer_cannot_write_internal_notes(p1, customer_admin):
    with pytest.raises(PermissionDenied):
        ticket_reply(ticket=p1, author=customer_admin, body="x", now=OPENED, is_public=False)


def test_each_public_update_restarts_the_update_clock_until_resolution(p1, engineer):
    for minutes in (30, 150, 180):
        ticket_reply(ticket=p1, author=engineer, body="Update", now=OPENED + minutes * M)
    ticket_status_set(ticket=p1, status="resolved", by=engineer, now=OPENED + 4 * H)

    cycles = list(
        p1.targets.filter(kind="periodic_update").values_list("started_at", "due_at", "met_at")
    )
    assert cycles == [
        (OPENED, OPENED + 2 * H, OPENED + 30 * M),
        (OPENED + 30 * M, OPENED + 150 * M, OPENED + 150 * M),  # met exactly at its due time
        (OPENED + 150 * M, OPENED + 270 * M, OPENED + 180 * M),
        (OPENED + 180 * M, OPENED + 300 * M, OPENED + 4 * H),  # met by the resolution
    ]
    assert not p1.targets.filter(breached=True).exists()


def test_resolution_starts_the_rca_clock_in_new_york_business_days(p1, engineer):
    ticket_status_set(ticket=p1, status="resolved", by=engineer, now=OPENED + 2 * H)
    p1.refresh_from_db()
    # Resolved Monday 2026-11-23 16:00 UTC; Premier P1 RCA: 3 business days -> Thursday 17:00
    # New York... but Thursday 26 November is Thanksgiving, so Friday 27th 17:00 EST.
    assert _due(p1, "root_cause_analysis").isoformat() == "2026-11-27T22:00:00+00:00"
    # and the resolution target keeps its due time, met at 2 h
    resolution = _target(p1, "resolution")
    assert (resolution.due_at, resolution.met_at, resolution.breached) == (
        OPENED + 12 * H,
        OPENED + 2 * H,
        False,
    )


def test_an_rca_follows_the_resolution_and_meets_its_target(p1, engineer):
    with pytest.raises(ValidationError) as refused:
        ticket_reply(
            ticket=p1, author=engineer, body="RCA", now=OPENED + H, is_root_cause_analysis=True
        )
    assert refused.value.message_dict["is_root_cause_analysis"] == [
        "The root cause analysis follows the resolution."
    ]
    ticket_status_set(ticket=p1, status="resolved", by=engineer, now=OPENED + 2 * H)
    ticket_reply(
        ticket=p1, author=engineer, body="RCA", now=OPENED + 24 * H, is_root_cause_analysis=True
    )
    rca = _target(p1, "root_cause_analysis")
    assert (rca.met_at, rca.breached) == (OPENED + 24 * H, False)


def test_a_bug_gets_no_table_8_resolution_target(premier, sla_policies, engineer):
    ticket = ticket_open(
        subscription=premier,
        subject="Widget misaligned",
        severity="P2",
        opened_by=engineer,
        now=OPENED,
        kind="bug",
    )
    assert _due(ticket, "resolution") is None
    assert _due(ticket, "first_response") == OPENED + 3 * H


# --- reopening ------------------------------------------------------------------------------


def test_reopening_counts_the_time_resolved_as_paused_and_restarts_the_updates(
    p1, engineer, customer_admin
):
    # Given a reply at 1 h, a resolution at 2 h and an RCA at 3 h
    ticket_reply(ticket=p1, author=engineer, body="On it", now=OPENED + H)
    ticket_status_set(ticket=p1, status="resolved", by=engineer, now=OPENED + 2 * H)
    ticket_reply(
        ticket=p1, author=engineer, body="RCA", now=OPENED + 3 * H, is_root_cause_analysis=True
    )

    # When the customer reopens it at 5 h
    ticket_status_set(ticket=p1, status="open", by=customer_admin, now=OPENED + 5 * H)

    # Then the resolution runs again, 3 hours (the time resolved) later than 12 h
    p1.refresh_from_db()
    assert (p1.status, p1.resolved_at, p1.rca_delivered_at) == (Ticket.Status.OPEN, None, None)
    resolution = _target(p1, "resolution")
    assert (resolution.due_at, resolution.met_at) == (OPENED + 15 * H, None)
    # updates are due 2 hours from the reopening
    assert _target(p1, "periodic_update", 2).started_at == OPENED + 5 * H
    assert _due(p1, "periodic_update", 2) == OPENED + 7 * H
    # and the RCA waits for the next resolution
    rca = _target(p1, "root_cause_analysis")
    assert (rca.due_at, rca.met_at) == (None, None)

    # When it is resolved again at 8 h (Monday 22:00 UTC) and a new RCA follows at 9 h
    ticket_status_set(ticket=p1, status="resolved", by=engineer, now=OPENED + 8 * H)
    ticket_reply(
        ticket=p1, author=engineer, body="RCA 2", now=OPENED + 9 * H, is_root_cause_analysis=True
    )

    # Then the RCA is due from the second resolution (Tue, Wed, Fri 27th 17:00 EST) and met
    rca = _target(p1, "root_cause_analysis")
    assert (rca.started_at, rca.due_at, rca.met_at) == (
        OPENED + 8 * H,
        _utc(2026, 11, 27, 22),
        OPENED + 9 * H,
    )


def test_a_closed_ticket_is_final(p1, engineer, customer_admin):
    ticket_status_set(ticket=p1, status="resolved", by=engineer, now=OPENED + H)
    ticket_status_set(ticket=p1, status="closed", by=customer_admin, now=OPENED + 2 * H)
    with pytest.raises(ValidationError) as refused:
        ticket_reply(ticket=p1, author=customer_admin, body="Again", now=OPENED + 3 * H)
    assert refused.value.message_dict["status"] == ["The ticket is closed; open a new one."]


# --- re-targeting ---------------------------------------------------------------------------


def test_a_severity_change_retargets_from_the_opening_and_is_logged(p1, engineer):
    # When support lowers the P1 to P2 an hour and a half after its opening
    ticket_retarget(ticket=p1, by=engineer, now=OPENED + 90 * M, severity="P2")

    # Then P2's times run from the opening: 3 hours, 12 hours, 3 days
    assert _due(p1, "first_response") == OPENED + 3 * H
    assert _due(p1, "periodic_update") == OPENED + 12 * H
    assert _due(p1, "resolution") == OPENED + 72 * H
    # and the change is logged with each due time before and after
    log = SlaRecalculation.objects.get(ticket=p1)
    assert (log.reason, log.actor, log.at) == ("severity P1 → P2", engineer, OPENED + 90 * M)
    assert sorted(log.changes, key=lambda c: c["target"]) == [
        {
            "target": "first_response",
            "cycle": 0,
            "before": "2026-11-23T15:00:00+00:00",
            "after": "2026-11-23T17:00:00+00:00",
        },
        {
            "target": "periodic_update",
            "cycle": 0,
            "before": "2026-11-23T16:00:00+00:00",
            "after": "2026-11-24T02:00:00+00:00",
        },
        {
            "target": "resolution",
            "cycle": 0,
            "before": "2026-11-24T02:00:00+00:00",
            "after": "2026-11-26T14:00:00+00:00",
        },
    ]


def test_a_policy_change_logs_the_targets_it_adds_and_removes(fundamentals, sla_policies, engineer):
    # Given a severity 1 standard support ticket (no resolution target)
    ticket = ticket_open(
        subscription=fundamentals,
        subject="Down",
        severity="1",
        opened_by=engineer,
        now=OPENED,
        channel="phone",
    )

    # When support puts it on the CSO enhanced policy as P1
    ticket_retarget(
        ticket=ticket,
        by=engineer,
        now=OPENED + H / 2,
        severity="P1",
        sla_policy=sla_policies["cso_enhanced"],
    )

    # Then it runs on that policy's first package, and the new resolution target is logged
    ticket.refresh_from_db()
    assert (ticket.sla_policy.code, ticket.sla_package) == ("cso_enhanced", "premier")
    log = SlaRecalculation.objects.get(ticket=ticket)
    assert log.reason == "severity 1 → P1; policy standard_support → cso_enhanced"
    assert {
        "target": "resolution",
        "cycle": 0,
        "before": None,
        "after": "2026-11-24T02:00:00+00:00",
    } in log.changes
    # (Premier P1 and standard severity 1 share 1 h and 2 h: nothing else moved)
    assert [c["target"] for c in log.changes] == ["resolution"]


def test_a_retarget_that_changes_nothing_logs_nothing(p1, engineer):
    ticket_retarget(ticket=p1, by=engineer, now=OPENED + H, severity="P1")
    assert not SlaRecalculation.objects.exists()


def test_a_retarget_to_an_unknown_severity_is_refused(p1, engineer):
    with pytest.raises(ValidationError) as refused:
        ticket_retarget(ticket=p1, by=engineer, now=OPENED + H, severity="P4")
    assert refused.value.message_dict["severity"] == [
        '"P4" is not a severity of CSO enhanced support: use P1, P2, P3.'
    ]


# --- another vendor's plans, end to end -----------------------------------------------------


def test_the_priority_plan_times_the_opening_and_escalates_at_once(premier, sla_policies, engineer):
    # Given a priority 1 ticket support puts on the Support Plus plan at OPENED (14:00 UTC)
    ticket = _on_policy(premier, sla_policies["vendor_priority_plan"], "1", engineer, OPENED)
    assert ticket.sla_package == "support_plus"

    # Then time to open and acknowledgement are due in an hour (15:00), updates every 4 hours
    # (18:00), and "elevate immediately to Level 2" is due at the opening itself
    assert _due(ticket, "time_to_open") == _utc(2026, 11, 23, 15)
    assert _due(ticket, "acknowledgement") == _utc(2026, 11, 23, 15)
    assert _due(ticket, "periodic_update") == _utc(2026, 11, 23, 18)
    escalation = ticket.escalations.get()
    assert (escalation.action, escalation.target, escalation.due_at) == (
        "raise_level",
        "Level 2",
        OPENED,
    )
    assert escalation.next_alert_at == OPENED

    # When it is assigned at 14:20 and acknowledged late at 15:10
    ticket_assign(ticket=ticket, assignee=engineer, by=engineer, now=OPENED + 20 * M)
    ticket_reply(ticket=ticket, author=engineer, body="Ack", now=OPENED + 70 * M)

    # Then the time to open was met, the acknowledgement missed by 10 minutes, and the next
    # update is due 4 hours after it (19:10)
    time_to_open = _target(ticket, "time_to_open")
    assert (time_to_open.met_at, time_to_open.breached) == (OPENED + 20 * M, False)
    acknowledgement = _target(ticket, "acknowledgement")
    assert (acknowledgement.breached, acknowledgement.seconds_late) == (True, 600)
    assert _due(ticket, "periodic_update", 1) == _utc(2026, 11, 23, 19, 10)


def test_an_escalation_fires_once(premier, sla_policies, engineer):
    # Given a priority 1 Support Plus ticket whose escalation the sweep has fired
    ticket = _on_policy(premier, sla_policies["vendor_priority_plan"], "1", engineer, OPENED)
    TicketEscalation.objects.filter(ticket=ticket).update(fired_at=OPENED + M, next_alert_at=None)

    # When its clocks move again (a reply, then the resolution)
    ticket_reply(ticket=ticket, author=engineer, body="Ack", now=OPENED + 10 * M)
    ticket_status_set(ticket=ticket, status="resolved", by=engineer, now=OPENED + H)

    # Then the escalation stays fired and owes nothing more
    escalation = ticket.escalations.get()
    assert (escalation.fired_at, escalation.next_alert_at, escalation.stopped_at) == (
        OPENED + M,
        None,
        None,
    )


def test_a_priority_2_escalation_is_stopped_by_an_earlier_resolution(
    premier, sla_policies, engineer
):
    ticket = _on_policy(premier, sla_policies["vendor_priority_plan"], "2", engineer, OPENED)
    assert ticket.escalations.get().next_alert_at == OPENED + 8 * H
    ticket_status_set(ticket=ticket, status="resolved", by=engineer, now=OPENED + 2 * H)
    escalation = ticket.escalations.get()
    assert (escalation.due_at, escalation.stopped_at, escalation.next_alert_at) == (
        OPENED + 8 * H,
        OPENED + 2 * H,
        None,
    )


def test_the_uptime_sla_stops_its_backup_escalation_once_service_is_restored(
    premier, sla_policies, engineer
):
    # Given a critical incident on the uptime SLA at OPENED (14:00 UTC)
    ticket = _on_policy(premier, sla_policies["vendor_uptime_sla"], "critical", engineer, OPENED)
    assert ticket.sla_package == "standard"

    # Then acknowledgement is due at 14:15, restore at 14:30, and operations are to be told to
    # divert to the backup data centre at 14:30 unless service is restored by then
    assert _due(ticket, "acknowledgement") == _utc(2026, 11, 23, 14, 15)
    assert _due(ticket, "restore") == _utc(2026, 11, 23, 14, 30)
    escalation = ticket.escalations.get()
    assert (escalation.action, escalation.unless_met) == ("notify", "restore")
    assert escalation.next_alert_at == _utc(2026, 11, 23, 14, 30)

    # When support acknowledges at 14:10 and restores service at 14:25
    ticket_reply(ticket=ticket, author=engineer, body="Investigating", now=OPENED + 10 * M)
    ticket_restored(ticket=ticket, by=engineer, now=OPENED + 25 * M)

    # Then both targets are met and the escalation is stopped, owing nothing
    assert _target(ticket, "restore").met_at == OPENED + 25 * M
    escalation = ticket.escalations.get()
    assert (escalation.stopped_at, escalation.next_alert_at) == (OPENED + 25 * M, None)


def test_the_uptime_sla_counts_a_weekend_pause_in_sydney_business_time(
    premier, sla_policies, engineer, customer_admin
):
    # Given a High incident opened Friday 20 November 2026 at 19:45 in Sydney (08:45 UTC);
    # business hours are 08:00-20:00 Sydney, Monday to Friday
    opened = _utc(2026, 11, 20, 8, 45)
    ticket = _on_policy(premier, sla_policies["vendor_uptime_sla"], "high", engineer, opened)

    # When support asks the customer at 19:50 and the customer answers Monday at 09:00 Sydney
    # (Sunday 22:00 UTC)
    ticket_reply(
        ticket=ticket, author=engineer, body="Logs?", now=opened + 5 * M, wait_on_customer=True
    )
    ticket_reply(ticket=ticket, author=customer_admin, body="Sent", now=_utc(2026, 11, 22, 22))

    # Then the acknowledgement (0.5 business hours) was due Monday 08:15 Sydney = Sunday
    # 21:15 UTC (15 min Friday, 15 min Monday) and met at once
    acknowledgement = _target(ticket, "acknowledgement")
    assert (acknowledgement.due_at, acknowledgement.met_at) == (
        _utc(2026, 11, 22, 21, 15),
        opened + 5 * M,
    )
    # and the follow-up (1 business day: Monday 20:00 Sydney) moves by the 70 business minutes
    # paused (Fri 19:50-20:00, Mon 08:00-09:00), not by the 62 hours of wall time: Tuesday
    # 08:00 + 1 h 10 = 09:10 Sydney = Monday 22:10 UTC
    assert _due(ticket, "follow_up") == _utc(2026, 11, 23, 22, 10)


def test_dedicated_support_runs_on_berlin_office_hours(premier, sla_policies, engineer):
    # Given a severity 3 ticket on the dedicated support add-on, opened Friday 20 November
    # 2026 at 16:00 in Berlin (15:00 UTC); the office is open 09:00-17:00 on weekdays
    opened = _utc(2026, 11, 20, 15)
    policy = sla_policies["vendor_dedicated_support"]
    ticket = _on_policy(premier, policy, "3", engineer, opened)
    assert ticket.sla_package == "all_inclusive"

    # Then the first response (2 business hours) is due Monday 10:00 (1 h Friday, 1 h Monday)
    # = 09:00 UTC, and the follow-up (2 business days) Tuesday 17:00 = 16:00 UTC
    assert _due(ticket, "first_response") == _utc(2026, 11, 23, 9)
    assert _due(ticket, "follow_up") == _utc(2026, 11, 24, 16)

    # When support answers Monday 09:30 and follows up Tuesday 15:00 Berlin
    ticket_reply(ticket=ticket, author=engineer, body="Hello", now=_utc(2026, 11, 23, 8, 30))
    ticket_reply(ticket=ticket, author=engineer, body="Fixed", now=_utc(2026, 11, 24, 14))

    # Then both are met in time
    assert not ticket.targets.filter(breached=True).exists()
    assert _target(ticket, "follow_up").met_at == _utc(2026, 11, 24, 14)


def test_raising_a_dedicated_support_ticket_to_critical_retargets_from_its_opening(
    premier, sla_policies, engineer
):
    opened = _utc(2026, 11, 20, 15)  # Friday 16:00 Berlin
    ticket = _on_policy(premier, sla_policies["vendor_dedicated_support"], "3", engineer, opened)

    ticket_retarget(ticket=ticket, by=engineer, now=opened + 30 * M, severity="1")

    # Severity 1 runs round the clock: first response 1 hour, follow-up 4 hours from 15:00 UTC
    assert _due(ticket, "first_response") == _utc(2026, 11, 20, 16)
    assert _due(ticket, "follow_up") == _utc(2026, 11, 20, 19)
    changes = SlaRecalculation.objects.get(ticket=ticket).changes
    assert {c["target"]: (c["before"], c["after"]) for c in changes} == {
        "first_response": ("2026-11-23T09:00:00+00:00", "2026-11-20T16:00:00+00:00"),
        "follow_up": ("2026-11-24T16:00:00+00:00", "2026-11-20T19:00:00+00:00"),
    }


# --- standard support: New York business days -----------------------------------------------


def test_standard_support_updates_run_across_the_spring_change_in_new_york(
    fundamentals, sla_policies, engineer
):
    # Given a severity 2 phone case opened Friday 6 March 2026 at 10:00 EST (15:00 UTC); New
    # York moves to EDT on Sunday 8 March
    opened = _utc(2026, 3, 6, 15)
    ticket = ticket_open(
        subscription=fundamentals,
        subject="Slow",
        severity="2",
        opened_by=engineer,
        opened_at=opened,
        now=OPENED,
        channel="phone",
    )

    # Then the first response (3 hours, round the clock) is due 18:00 UTC, and the update
    # (1 business day) at Monday 9th 17:00 EDT = 21:00 UTC
    assert _due(ticket, "first_response") == _utc(2026, 3, 6, 18)
    assert _due(ticket, "periodic_update") == _utc(2026, 3, 9, 21)
    # The ticket was entered long after: every unmet target is breached as of now
    assert _target(ticket, "first_response").breached


def test_standard_support_waiting_over_a_night_counts_business_time_only(
    fundamentals, sla_policies, engineer
):
    # Given a severity 3 case opened Monday 16 November 2026 at 16:00 New York (21:00 UTC):
    # first response in 3 business days, Thursday 19th 17:00 EST = 22:00 UTC
    opened = _utc(2026, 11, 16, 21)
    ticket = ticket_open(
        subscription=fundamentals,
        subject="Report",
        severity="3",
        opened_by=engineer,
        opened_at=opened,
        now=opened,
        channel="phone",
    )
    assert _due(ticket, "first_response") == _utc(2026, 11, 19, 22)

    # When support sets it waiting on the customer from 16:30 to Tuesday 10:00 New York
    ticket_status_set(ticket=ticket, status="waiting_on_customer", by=engineer, now=opened + 30 * M)
    ticket_status_set(ticket=ticket, status="open", by=engineer, now=_utc(2026, 11, 17, 15))

    # Then the pause held 1 h 30 of business time (16:30-17:00, 09:00-10:00), not 17 h 30:
    # Thursday 17:00 + 1 h 30 = Friday 20th 10:30 EST = 15:30 UTC
    assert _due(ticket, "first_response") == _utc(2026, 11, 20, 15, 30)


def test_a_standard_rca_skips_thanksgiving(fundamentals, sla_policies, engineer):
    ticket = ticket_open(
        subscription=fundamentals,
        subject="Down",
        severity="1",
        opened_by=engineer,
        now=OPENED,
        channel="phone",
    )
    # Resolved Wednesday 25 November at 10:00 EST; Thursday 26th is Thanksgiving: 3 business
    # days are Fri 27, Mon 30, Tue 1 December, 17:00 EST = 22:00 UTC
    ticket_status_set(ticket=ticket, status="resolved", by=engineer, now=_utc(2026, 11, 25, 15))
    assert _due(ticket, "root_cause_analysis") == _utc(2026, 12, 1, 22)


# --- refreshing -----------------------------------------------------------------------------


def test_refreshing_unchanged_facts_changes_nothing(p1, engineer, django_assert_max_num_queries):
    ticket_reply(ticket=p1, author=engineer, body="On it", now=OPENED + H / 2)
    before = list(p1.targets.values())
    with django_assert_max_num_queries(8):
        changes = ticket_clocks_refresh(ticket=p1, now=OPENED + H)
    assert changes == []
    assert list(p1.targets.values()) == before


@pytest.mark.parametrize(
    ("subject", "message"),
    [("  ", "Say in a few words what the problem is."), ("x" * 201, "Keep the subject to 200")],
)
def test_a_ticket_needs_a_short_subject(premier, sla_policies, customer_admin, subject, message):
    with pytest.raises(ValidationError) as refused:
        ticket_open(
            subscription=premier,
            subject=subject,
            severity="P2",
            opened_by=customer_admin,
            now=OPENED,
        )
    assert refused.value.message_dict["subject"][0].startswith(message)


def test_asking_for_the_status_a_ticket_has_is_refused(p1, engineer):
    ticket_status_set(ticket=p1, status="waiting_on_customer", by=engineer, now=OPENED + H)
    with pytest.raises(ValidationError) as refused:
        ticket_status_set(ticket=p1, status="waiting_on_customer", by=engineer, now=OPENED + H)
    assert refused.value.message_dict == {"status": ["The ticket is already waiting on customer."]}


def test_a_closed_ticket_leaves_the_sweep_with_its_rca_still_owed(p1, engineer):
    ticket_status_set(ticket=p1, status="resolved", by=engineer, now=OPENED + H)
    rca = p1.targets.get(kind="root_cause_analysis")
    assert rca.next_alert_at is not None

    ticket_status_set(ticket=p1, status="closed", by=engineer, now=OPENED + 2 * H)

    assert not p1.targets.filter(next_alert_at__isnull=False).exists()
    assert not p1.escalations.filter(next_alert_at__isnull=False).exists()
