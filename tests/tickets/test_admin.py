"""Tickets and SLA policies in the admin: support works tickets through the services, every
refusal on its field; policies are read only, and their open tickets recalculated on demand."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.contrib.messages import get_messages
from django.urls import reverse

from accounts.models import User
from tests.factories import UserFactory
from tests.tickets.conftest import OPENED
from tickets.models import SlaRecalculation, Ticket, TicketMessage
from tickets.services.tickets import ticket_open, ticket_reply, ticket_status_set

H = timedelta(hours=1)
LATER = OPENED + 3 * H  # the P1's first response (due after 1 hour) is breached by then
CHANGELIST = reverse("admin:tickets_ticket_changelist")
ADD = reverse("admin:tickets_ticket_add")


def change_url(ticket) -> str:
    return reverse("admin:tickets_ticket_change", args=[ticket.pk])


def open_p1(subscription, by, subject="Chat is down", **extra):
    return ticket_open(
        subscription=subscription,
        subject=subject,
        severity="P1",
        opened_by=by,
        now=OPENED,
        channel="phone",
        **extra,
    )


@pytest.fixture
def p1(premier, sla_policies, engineer):
    return open_p1(premier, engineer)


@pytest.fixture
def as_engineer(client, engineer):
    client.force_login(engineer)
    with time_machine.travel(LATER, tick=False):
        yield client


@pytest.fixture
def as_csm(client, csm):
    client.force_login(csm)
    with time_machine.travel(LATER, tick=False):
        yield client


def work(client, ticket, **values):
    """Post the ticket's page as the browser does: its inlines' management forms and the work
    form, with `values` filled in."""
    page = client.get(change_url(ticket))
    data = {
        "action": "reply",
        "body": "",
        "assign_to": "",
        "new_severity": "",
        "new_kind": "",
        "new_policy": "",
    }
    for inline in page.context["inline_admin_formsets"]:
        management = inline.formset.management_form
        data.update({f"{management.prefix}-{k}": v for k, v in management.initial.items()})
    return client.post(change_url(ticket), data | values)


def form_errors(response) -> dict:
    return response.context["adminform"].form.errors


# The list ----------------------------------------------------------------------------------


def test_the_list_takes_the_same_few_queries_for_one_ticket_or_many(
    p1, premier, engineer, as_engineer, django_assert_max_num_queries
):
    with django_assert_max_num_queries(12) as one:
        page = as_engineer.get(CHANGELIST)
    for number in range(5):
        open_p1(premier, engineer, subject=f"Another {number}", assignee=engineer)

    with django_assert_max_num_queries(len(one.captured_queries)):
        busier = as_engineer.get(CHANGELIST)

    assert page.status_code == busier.status_code == 200
    assert busier.context["cl"].result_count == 6
    row = page.context["cl"].result_list[0]
    assert (row.next_due, row.is_breached) == (OPENED + H, True)  # first response, unmet
    content = page.content.decode()
    assert "Chat is down" in content and "Northwind" in content and "Premier" in content
    assert reverse("admin:tickets_slapolicy_attainment") in content  # the report is linked


def test_the_list_filters_breached_tickets_and_searches(
    p1, premier, engineer, as_engineer, customer_admin
):
    # Given a second P1 answered within its hour and updated within 2 hours of that
    answered = open_p1(premier, engineer, subject="Slow reports")
    ticket_reply(ticket=answered, author=engineer, body="On it", now=OPENED + H / 2)
    ticket_reply(ticket=answered, author=engineer, body="Found it", now=OPENED + 2 * H)

    breached = as_engineer.get(CHANGELIST, {"breached": "yes"})
    on_time = as_engineer.get(CHANGELIST, {"breached": "no"})
    found = as_engineer.get(CHANGELIST, {"q": "slow"})

    assert [t.subject for t in breached.context["cl"].result_list] == ["Chat is down"]
    assert [t.subject for t in on_time.context["cl"].result_list] == ["Slow reports"]
    assert [t.subject for t in found.context["cl"].result_list] == ["Slow reports"]


# Opening a ticket -----------------------------------------------------------------------


def test_staff_open_a_historic_ticket_whose_clocks_start_at_its_opening(
    premier, sla_policies, engineer, as_engineer
):
    response = as_engineer.post(
        ADD,
        {
            "subscription": premier.pk,
            "subject": "Reported by phone last week",
            "severity": "P2",
            "kind": "non_bug",
            "channel": "phone",
            "opened_at_0": "2026-11-16",
            "opened_at_1": "09:00:00",
            "assignee": engineer.pk,
        },
    )

    assert response.status_code == 302, form_errors(response)
    ticket = Ticket.objects.get()
    opened = datetime(2026, 11, 16, 9, tzinfo=UTC)
    assert (ticket.opened_at, ticket.assignee, ticket.created_by) == (opened, engineer, engineer)
    assert ticket.status == Ticket.Status.OPEN
    # Premier P2: first response within 3 hours of the opening (Table 8).
    assert ticket.targets.get(kind="first_response").due_at == opened + 3 * H


def test_the_services_refusals_come_back_on_their_fields(
    premier, sla_policies, as_engineer, django_assert_max_num_queries
):
    response = as_engineer.post(
        ADD,
        {
            "subscription": premier.pk,
            "subject": "Wrong",
            "severity": "1",  # a standard support severity, not one of CSO enhanced
            "kind": "bug",
            "channel": "phone",
            "opened_at_0": "2026-12-01",
            "opened_at_1": "09:00:00",
        },
    )

    assert response.status_code == 200
    assert not Ticket.objects.exists()
    assert form_errors(response) == {
        "opened_at": ["A ticket cannot be opened in the future."],
        "severity": ['"1" is not a severity of CSO enhanced support: use P1, P2, P3.'],
    }


# Working a ticket --------------------------------------------------------------------------


def test_the_page_shows_clocks_and_both_replies_and_notes(p1, engineer, as_engineer):
    work(as_engineer, p1, action="reply", body="We are on it.")
    work(as_engineer, p1, action="note", body="Looks like the load balancer.")

    page = as_engineer.get(change_url(p1))

    content = page.content.decode()
    assert "We are on it." in content and "Looks like the load balancer." in content
    assert "Internal note" in content and "Public reply" in content
    assert "Met late" in content  # the first response, 3 hours after the opening
    assert "first_response" in content and "periodic_update" in content
    assert [m.is_public for m in TicketMessage.objects.order_by("pk")] == [True, False]
    p1.refresh_from_db()
    assert p1.first_response_at == LATER


def test_waiting_resolving_and_closing_go_through_the_services(p1, as_engineer):
    waiting = work(as_engineer, p1, action="wait", body="Which site is affected?")
    p1.refresh_from_db()
    assert waiting.status_code == 302 and p1.status == Ticket.Status.WAITING_ON_CUSTOMER

    too_soon = work(as_engineer, p1, action="close")
    assert form_errors(too_soon) == {"action": ["Resolve the ticket before closing it."]}

    work(as_engineer, p1, action="resolve")
    closed = work(as_engineer, p1, action="close")

    p1.refresh_from_db()
    assert closed.status_code == 302
    assert p1.status == Ticket.Status.CLOSED and p1.resolved_at == p1.closed_at == LATER
    # A closed ticket is a record: its page offers nothing to do.
    page = as_engineer.get(change_url(p1))
    assert "Work the ticket" not in page.content.decode()
    assert as_engineer.post(change_url(p1), {"action": "reopen"}).status_code == 403


def test_what_an_action_does_not_use_is_refused_rather_than_lost(p1, engineer, as_engineer):
    response = work(
        as_engineer, p1, action="resolve", body="Fixed", assign_to=engineer.pk, new_kind="bug"
    )

    assert form_errors(response) == {
        "body": ["Choose a reply or an internal note to send this message."],
        "assign_to": ["Choose “Assign” to assign the ticket."],
        "__all__": ["Choose “Change severity, kind or SLA policy” to change them."],
    }
    p1.refresh_from_db()
    assert p1.status == Ticket.Status.NEW and not p1.messages.exists()


def test_an_empty_reply_and_an_rca_before_resolution_are_refused(p1, as_engineer):
    empty = work(as_engineer, p1, action="reply", body="  ")
    early = work(as_engineer, p1, action="reply", body="Cause", is_root_cause_analysis="on")

    assert form_errors(empty) == {"body": ["Write a message."]}
    assert form_errors(early) == {
        "is_root_cause_analysis": ["The root cause analysis follows the resolution."]
    }


def test_assigning_restoring_and_retargeting(p1, premier, csm, as_engineer):
    other_engineer = UserFactory(email="kim@vendor.example", role=User.Role.SUPPORT)

    work(as_engineer, p1, action="assign", assign_to=other_engineer.pk)
    work(as_engineer, p1, action="restored")
    bad = work(as_engineer, p1, action="retarget", new_severity="2")
    work(as_engineer, p1, action="retarget", new_severity="P2", new_kind="bug")

    p1.refresh_from_db()
    assert (p1.assignee, p1.status, p1.restored_at) == (other_engineer, "open", LATER)
    assert form_errors(bad) == {
        "new_severity": ['"2" is not a severity of CSO enhanced support: use P1, P2, P3.']
    }
    assert (p1.severity, p1.kind) == ("P2", "bug")
    logged = SlaRecalculation.objects.get(ticket=p1)
    assert logged.reason == "severity P1 → P2; kind non_bug → bug"
    assert {"target": "first_response", "cycle": 0} | {
        "before": (OPENED + H).isoformat(),
        "after": (OPENED + 3 * H).isoformat(),
    } in logged.changes
    assert "severity P1 → P2" in as_engineer.get(change_url(p1)).content.decode()


def test_finance_reads_tickets_but_neither_opens_nor_works_them(p1, client, finance):
    client.force_login(finance)

    assert client.get(CHANGELIST).status_code == 200
    assert client.get(ADD).status_code == 403
    page = client.get(change_url(p1))
    assert page.status_code == 200 and "Work the ticket" not in page.content.decode()
    assert client.get(reverse("admin:tickets_ticket_import")).status_code == 403


# SLA policies ------------------------------------------------------------------------------


def test_policies_are_read_only_with_their_notes_and_file(sla_policies, as_csm):
    policy = sla_policies["cso_enhanced"]

    listing = as_csm.get(reverse("admin:tickets_slapolicy_changelist"))
    page = as_csm.get(reverse("admin:tickets_slapolicy_change", args=[policy.pk]))

    assert "premier, expert, strategic" in listing.content.decode()
    content = page.content.decode()
    assert "Table 8 gives no SLA to Foundations and Fundamentals" in content
    assert "new_york_business_days:" in content  # the file as loaded
    assert as_csm.post(reverse("admin:tickets_slapolicy_add"), {}).status_code == 403
    assert 'name="_save"' not in content


def test_recalculating_a_policys_open_tickets_logs_each(p1, premier, engineer, csm, as_csm):
    closed = open_p1(premier, engineer, subject="Done")
    ticket_status_set(ticket=closed, status="resolved", by=engineer, now=OPENED + H)
    ticket_status_set(ticket=closed, status="closed", by=engineer, now=OPENED + H)
    policy = p1.sla_policy

    response = as_csm.post(
        reverse("admin:tickets_slapolicy_changelist"),
        {"action": "recalculate_open_tickets", "_selected_action": [policy.pk]},
        follow=True,
    )

    assert "CSO enhanced support: recalculated 1 open ticket." in [
        str(m) for m in get_messages(response.wsgi_request)
    ]
    logged = SlaRecalculation.objects.get()
    assert (logged.ticket, logged.actor, logged.at) == (p1, csm, LATER)
    assert logged.reason.startswith("CSO enhanced support version 1 recalculated by")


def test_finance_cannot_recalculate(sla_policies, client, finance):
    client.force_login(finance)

    page = client.get(reverse("admin:tickets_slapolicy_changelist"))

    assert page.status_code == 200
    assert "recalculate_open_tickets" not in page.content.decode()
