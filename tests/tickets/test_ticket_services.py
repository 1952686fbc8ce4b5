from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from tests.tickets.conftest import OPENED
from tickets.models import Ticket
from tickets.services.tickets import ticket_open, ticket_reply, ticket_status_set

H = timedelta(hours=1)


def _due(ticket, kind, cycle=0):
    return ticket.targets.get(kind=kind, cycle=cycle).due_at


@pytest.fixture
def p1(premier, sla_policies, customer_admin):
    return ticket_open(
        subscription=premier,
        subject="Chat is down",
        severity="P1",
        opened_by=customer_admin,
        now=OPENED,
    )


def test_a_premier_p1_gets_table_8s_targets_from_its_opening(p1):
    assert p1.sla_policy.code == "cso_enhanced"
    assert p1.status == Ticket.Status.NEW
    assert _due(p1, "first_response") == OPENED + 1 * H
    assert _due(p1, "periodic_update") == OPENED + 2 * H
    assert _due(p1, "resolution") == OPENED + 12 * H
    assert _due(p1, "root_cause_analysis") is None  # due only after the resolution


def test_waiting_on_the_customer_moves_the_deadlines_by_the_time_paused(
    p1, engineer, customer_admin
):
    ticket_reply(
        ticket=p1, author=engineer, body="Which site?", now=OPENED + H / 2, wait_on_customer=True
    )
    p1.refresh_from_db()
    assert p1.status == Ticket.Status.WAITING_ON_CUSTOMER
    assert _due(p1, "resolution") is None  # paused: no deadline while the customer holds it
    ticket_reply(ticket=p1, author=customer_admin, body="All of them", now=OPENED + 3 * H)
    p1.refresh_from_db()
    assert p1.status == Ticket.Status.OPEN
    assert _due(p1, "resolution") == OPENED + 12 * H + (3 * H - H / 2)
    assert p1.targets.get(kind="first_response").met_at == OPENED + H / 2


def test_a_customer_cannot_write_internal_notes(p1, customer_admin):
    with pytest.raises(PermissionDenied):
        ticket_reply(ticket=p1, author=customer_admin, body="x", now=OPENED, is_public=False)


def test_resolution_starts_the_rca_clock_in_new_york_business_days(p1, engineer):
    ticket_status_set(ticket=p1, status="resolved", by=engineer, now=OPENED + 2 * H)
    p1.refresh_from_db()
    # Resolved Monday 2026-11-23 16:00 UTC; Premier P1 RCA: 3 business days -> Thursday 17:00
    # New York... but Thursday 26 November is Thanksgiving, so Friday 27th 17:00 EST.
    assert _due(p1, "root_cause_analysis").isoformat() == "2026-11-27T22:00:00+00:00"


def test_phone_is_refused_to_a_foundations_customer(p1, customer_admin):
    with pytest.raises(ValidationError) as refused:
        ticket_open(
            subscription=p1.subscription,
            subject="x",
            severity="P3",
            opened_by=customer_admin,
            now=OPENED,
            channel="phone",
        )
    assert "entered by support" in str(refused.value.message_dict["channel"])
