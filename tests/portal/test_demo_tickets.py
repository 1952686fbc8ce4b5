from datetime import UTC, datetime

import pytest
import time_machine
from django.core.management import call_command

from tickets.models import Ticket, TicketTarget

NOW = datetime(2026, 11, 23, 15, tzinfo=UTC)


@pytest.mark.django_db
@time_machine.travel(NOW, tick=False)
def test_the_demo_has_tickets_in_every_state_on_real_clocks():
    call_command("load_demo", verbosity=0)

    by_subject = {ticket.subject: ticket for ticket in Ticket.objects.all()}
    assert {ticket.status for ticket in by_subject.values()} >= {
        "resolved",
        "open",
        "waiting_on_customer",
    }
    outage = by_subject["Chat widget down on the retail site"]
    assert outage.sla_policy.code == "cso_enhanced"
    assert outage.targets.get(kind="root_cause_analysis").due_at is not None
    waiting = by_subject["Transcript export misses attachments"]
    assert waiting.targets.get(kind="first_response").met_at is not None
    assert waiting.targets.get(kind="periodic_update", cycle=1).due_at is None  # paused
    forgotten = by_subject["Question about routing rules"]
    first = forgotten.targets.get(kind="first_response")
    assert first.met_at is None and first.due_at < NOW  # breached; the sweep sends the notice
    phone = by_subject["Cannot log in to the agent workspace"]
    assert phone.sla_policy.code == "standard_support"

    call_command("load_demo", verbosity=0)  # again: nothing added
    assert Ticket.objects.count() == len(by_subject)
    assert TicketTarget.objects.filter(ticket__in=by_subject.values()).exists()
