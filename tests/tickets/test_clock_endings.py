"""How clocks end: a resolution answers what was still owed, closing freezes lateness, a
re-target is a new promise with its own notices, and a ticket entered after the fact does not
email history."""

from datetime import timedelta

import pytest
from django.core import mail
from django.db.models import Prefetch

from tests.tickets.conftest import OPENED
from tickets.api.serializers import ticket_clock_view
from tickets.models import Ticket, TicketPause
from tickets.selectors import sla_attainment
from tickets.services.sla_alerts import sla_alerts_sweep
from tickets.services.tickets import ticket_open, ticket_retarget, ticket_status_set

H = timedelta(hours=1)


@pytest.fixture
def p1(premier, sla_policies, customer_admin):
    return ticket_open(
        subscription=premier, subject="Down", severity="P1", opened_by=customer_admin, now=OPENED
    )


def _as_read(ticket):
    """The ticket as the API reads it (targets and open pauses prefetched)."""
    open_pauses = Prefetch(
        "pauses", queryset=TicketPause.objects.filter(ended_at__isnull=True), to_attr="open_pauses"
    )
    return Ticket.objects.prefetch_related("targets", open_pauses).get(pk=ticket.pk)


def _target(ticket, kind):
    return ticket.targets.get(kind=kind, cycle=0)


def test_a_resolution_meets_the_first_response_still_owed_and_stops_its_lateness(p1, engineer):
    # Premier P1: first response due 15:00; resolved without a reply at 19:00 (4 hours late)
    ticket_status_set(ticket=p1, status="resolved", by=engineer, now=OPENED + 5 * H)

    first = _target(p1, "first_response")
    assert first.met_at == OPENED + 5 * H
    assert (first.breached, first.seconds_late) == (True, 4 * 3600)
    later = ticket_clock_view(_as_read(p1), OPENED + 90 * 24 * H)
    shown = next(t for t in later["targets"] if t["kind"] == "first_response")
    assert shown["seconds_late"] == 4 * 3600  # not growing for ever


def test_closing_freezes_the_lateness_of_an_undelivered_rca(p1, engineer):
    # Resolved Monday 15:00 UTC: the Premier P1 RCA (3 New York business days) is due Friday
    # 27 November 17:00 EST = 22:00 UTC (Thursday is Thanksgiving); closed a day after that.
    ticket_status_set(ticket=p1, status="resolved", by=engineer, now=OPENED + H)
    rca_due = _target(p1, "root_cause_analysis").due_at
    closed_at = rca_due + 24 * H
    ticket_status_set(ticket=p1, status="closed", by=engineer, now=closed_at)

    rca = _target(p1, "root_cause_analysis")
    assert (rca.breached, rca.seconds_late) == (True, 24 * 3600)
    shown = ticket_clock_view(_as_read(p1), closed_at + 90 * 24 * H)
    assert (
        next(t for t in shown["targets"] if t["kind"] == "root_cause_analysis")["seconds_late"]
        == 24 * 3600
    )
    (row,) = [r for r in sla_attainment(now=closed_at + 90 * 24 * H) if r.breached]
    assert row.worst_seconds_late == 24 * 3600


def test_a_retargeted_target_gets_its_own_breach_notice(p1, engineer):
    # The P1 first response (due 15:00) is breached and told at 15:30
    sla_alerts_sweep(now=OPENED + 1.5 * H)
    assert _target(p1, "first_response").breach_notified_at is not None
    # Lowered to P3 at 15:36: the first response is due in 2 days, a new promise
    ticket_retarget(ticket=p1, severity="P3", by=engineer, now=OPENED + 1.6 * H)
    first = _target(p1, "first_response")
    assert first.due_at == OPENED + 48 * H
    assert (first.warned_at, first.breach_notified_at) == (None, None)
    mail.outbox.clear()

    # When the new promise is broken too, its breach is told
    result = sla_alerts_sweep(now=OPENED + 49 * H)
    assert result.breaches >= 1
    assert any("first response" in message.subject for message in mail.outbox)


def test_a_ticket_entered_after_the_fact_does_not_email_its_history(
    premier, sla_policies, engineer
):
    # Reported 20 hours ago, entered now: first response, update and resolution are past due
    now = OPENED + 20 * H
    ticket = ticket_open(
        subscription=premier,
        subject="Reported by phone yesterday",
        severity="P1",
        opened_by=engineer,
        opened_at=OPENED,
        now=now,
        channel="phone",
    )

    assert sla_alerts_sweep(now=now + H).breaches == 0
    assert mail.outbox == []
    first = _target(ticket, "first_response")
    assert first.breached and first.breach_notified_at == now  # recorded, not emailed
