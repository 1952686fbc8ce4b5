"""SLA alerts: a warning before each target is breached, a notice when it is, and the policy's
escalations, each sent exactly once to the assignee and the customer's CSMs."""

import threading
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.db import connection

from cso.services.contracts import SubscriptionSpec, contract_create
from portal.celery import app as celery_app
from tests.conftest import NOW
from tests.factories import CsmFactory, LineOfBusinessFactory, OrganizationFactory, UserFactory
from tests.tickets.conftest import OPENED
from tickets.models import Ticket, TicketEscalation, TicketTarget
from tickets.services.sla_alerts import SlaSweepResult, sla_alerts_sweep
from tickets.services.tickets import (
    ticket_open,
    ticket_reply,
    ticket_restored,
    ticket_status_set,
)
from tickets.tasks import sla_alerts_sweep_task

M = timedelta(minutes=1)
H = timedelta(hours=1)
# A batch of targets: savepoint, locking read, the customers' CSMs, the policies, the update of
# the warned rows, of the breached rows, of their lateness, release (8); then a batch of
# escalations: savepoint, locking read, the lock of their tickets, CSMs, policies, the groups'
# members, the update of the fired rules, of the raised tickets (one per level), release (9).
SWEEP_QUERIES = 17
NOTHING = SlaSweepResult()


@pytest.fixture
def open_ticket(premier, sla_policies, engineer):
    """Opens tickets at OPENED, assigned to Sam, on Northwind's Premier subscription (or
    another) and its policy (or another, as staff may choose)."""

    def open_(severity="P1", *, subscription=None, policy=None, assignee=engineer):
        return ticket_open(
            subscription=subscription or premier,
            subject=f"{severity} trouble",
            severity=severity,
            opened_by=engineer,
            now=OPENED,
            assignee=assignee,
            sla_policy=sla_policies[policy] if policy else None,
        )

    return open_


def subscribe(name, csm):
    """Another customer with its own CSM and a Premier subscription for 2026."""
    organization = OrganizationFactory(name=name, slug=name.lower())
    organization.csms.add(csm)
    contract = contract_create(
        organization=organization,
        term_start=date(2026, 1, 1),
        currency="USD",
        overage_rate="150.00",
        subscriptions=[
            SubscriptionSpec("premier", [LineOfBusinessFactory(organization=organization)])
        ],
        reference=f"{name.upper()}-2026",
        signed_at=NOW,
    )
    return contract.subscriptions.get()


def target(ticket, kind, cycle=0):
    return TicketTarget.objects.get(ticket=ticket, kind=kind, cycle=cycle)


def subjects():
    return [message.subject for message in mail.outbox]


def sweep(moment, **options):
    return sla_alerts_sweep(now=moment, **options)


def test_the_warning_comes_at_three_quarters_and_the_breach_after_the_due_time(open_ticket):
    ticket = open_ticket()  # Premier P1: first response within 1 hour, due 15:00 UTC

    before_warning = sweep(OPENED + 44 * M)
    warned = sweep(OPENED + 45 * M)
    rerun = sweep(OPENED + 46 * M)
    at_due_time = sweep(OPENED + 60 * M)  # met exactly at its due time is on time
    breached = sweep(OPENED + 61 * M)
    rerun_after_breach = sweep(OPENED + 62 * M)

    assert before_warning == rerun == at_due_time == rerun_after_breach == NOTHING
    assert warned == SlaSweepResult(warnings=1, emails=1)
    assert breached == SlaSweepResult(breaches=1, emails=1)
    about = f"ticket #{ticket.pk} (Northwind, P1 Critical)"
    assert subjects() == [
        f"SLA warning: first response on {about} due in 15 minutes",
        f"SLA breached: first response on {about} is 1 minute late",
    ]
    assert [message.to for message in mail.outbox] == [
        ["casey@vendor.example", "sam@vendor.example"]
    ] * 2
    first_response = target(ticket, "first_response")
    assert (first_response.warned_at, first_response.breach_notified_at) == (
        OPENED + 45 * M,
        OPENED + 61 * M,
    )
    assert (first_response.breached, first_response.seconds_late) == (True, 60)
    assert first_response.next_alert_at is None


def test_after_downtime_only_the_breach_goes_out(open_ticket):
    ticket = open_ticket()  # first response due 15:00, first periodic update due 16:00

    # The sweep was down from before the first warning (14:45) until 16:30.
    caught_up = sweep(OPENED + 150 * M)
    rerun = sweep(OPENED + 151 * M)

    assert caught_up == SlaSweepResult(breaches=2, emails=2)
    assert rerun == NOTHING
    assert subjects() == [
        f"SLA breached: first response on ticket #{ticket.pk} (Northwind, P1 Critical) is "
        "1 hour 30 minutes late",
        f"SLA breached: periodic update on ticket #{ticket.pk} (Northwind, P1 Critical) is "
        "30 minutes late",
    ]
    first_response = target(ticket, "first_response")
    assert first_response.warned_at == first_response.breach_notified_at == OPENED + 150 * M


def test_a_target_met_in_time_gets_no_breach_notice(open_ticket, engineer):
    ticket = open_ticket()
    sweep(OPENED + 45 * M)  # the first response's warning

    ticket_reply(ticket=ticket, author=engineer, body="Looking into it", now=OPENED + 50 * M)
    after_due_time = sweep(OPENED + 61 * M)

    assert after_due_time == NOTHING
    assert subjects() == [
        f"SLA warning: first response on ticket #{ticket.pk} (Northwind, P1 Critical) due in "
        "15 minutes"
    ]
    assert target(ticket, "first_response").next_alert_at is None


def test_clocks_paused_while_waiting_on_the_customer_owe_nothing(open_ticket, engineer):
    ticket = open_ticket()
    ticket_reply(
        ticket=ticket,
        author=engineer,
        body="Which site?",
        now=OPENED + 10 * M,
        wait_on_customer=True,
    )

    a_day_later = sweep(OPENED + 24 * H)

    assert a_day_later == NOTHING
    assert mail.outbox == []
    unmet = TicketTarget.objects.filter(ticket=ticket, met_at__isnull=True)
    assert unmet.exists() and not unmet.exclude(due_at=None).exists()


def test_a_resolved_ticket_owes_only_its_root_cause_analysis(open_ticket, engineer):
    ticket = open_ticket()
    ticket_reply(ticket=ticket, author=engineer, body="Found it", now=OPENED + 10 * M)
    ticket_status_set(ticket=ticket, status="resolved", by=engineer, now=OPENED + 20 * M)

    # Resolved Monday 14:20 UTC (09:20 in New York): the RCA is due at the close of the third
    # New York business day after, Friday 17:00 (Thursday is Thanksgiving), 31 h 40 of business
    # time; its warning comes 23 h 45 in, Friday 09:05 New York time. Updates stopped.
    tuesday_night = sweep(OPENED + 30 * H)
    friday_warning = datetime(2026, 11, 27, 14, 5, tzinfo=UTC)
    before_warning = sweep(friday_warning - M)
    at_warning = sweep(friday_warning)

    assert tuesday_night == before_warning == NOTHING
    updates = TicketTarget.objects.filter(ticket=ticket, kind="periodic_update")
    assert not updates.exclude(next_alert_at=None).exists()
    assert at_warning == SlaSweepResult(warnings=1, emails=1)
    assert subjects() == [
        f"SLA warning: root cause analysis on ticket #{ticket.pk} (Northwind, P1 Critical) "
        "due in 7 hours 55 minutes"
    ]


def test_a_closed_tickets_rows_are_cleared_and_send_nothing(open_ticket, engineer):
    ticket = open_ticket()
    ticket_reply(ticket=ticket, author=engineer, body="Found it", now=OPENED + 10 * M)
    ticket_status_set(ticket=ticket, status="resolved", by=engineer, now=OPENED + 20 * M)
    rca_due = target(ticket, "root_cause_analysis").next_alert_at
    ticket_status_set(ticket=ticket, status="closed", by=engineer, now=OPENED + 30 * M)
    # Closing clears the owed notices; a row left behind (closed before that rule) is cleared by
    # the sweep, with nothing sent.
    assert target(ticket, "root_cause_analysis").next_alert_at is None
    ticket.targets.filter(kind="root_cause_analysis").update(next_alert_at=rca_due)

    a_week_later = sweep(OPENED + 7 * 24 * H)

    assert a_week_later == NOTHING
    assert target(ticket, "root_cause_analysis").next_alert_at is None


def test_the_warning_share_is_configurable(open_ticket, settings):
    settings.SLA_WARNING_SHARE = "0.5"
    ticket = open_ticket()

    assert sweep(OPENED + 29 * M) == NOTHING
    assert sweep(OPENED + 30 * M) == SlaSweepResult(warnings=1, emails=1)
    assert subjects() == [
        f"SLA warning: first response on ticket #{ticket.pk} (Northwind, P1 Critical) due in "
        "30 minutes"
    ]


def test_the_email_says_which_ticket_customer_target_and_due_time(
    open_ticket, premier, engineer, settings
):
    settings.PORTAL_BASE_URL = "https://portal.example.com"
    northwind = premier.contract.organization
    northwind.time_zone = "America/New_York"
    northwind.save()
    ticket = open_ticket()

    sweep(OPENED + 45 * M)
    sweep(OPENED + 61 * M)
    warning, breach = mail.outbox

    facts = (
        f"Ticket: #{ticket.pk} P1 trouble\n"
        "Customer: Northwind\n"
        "Severity: P1 Critical\n"
        "Status: Open, Level 1\n"
        f"Assignee: {engineer.get_full_name()} <sam@vendor.example>\n"
        "Target: first response within 1 hour (24x7)\n"
        "Due: Mon 23 Nov 2026 10:00 EST (America/New_York), 15:00 UTC\n"
    )
    link = f"Open the ticket: https://portal.example.com/admin/tickets/ticket/{ticket.pk}/change/\n"
    assert warning.body == (
        f"The first response target of ticket #{ticket.pk} will be breached in 15 minutes.\n\n"
        f"{facts}Time left: 15 minutes\n\n{link}"
    )
    assert breach.body == (
        f"The first response target of ticket #{ticket.pk} was breached: it is 1 minute late.\n\n"
        f"{facts}Late by: 1 minute\n\n{link}"
    )


def test_only_active_people_with_an_email_are_told_and_nobody_means_no_email(
    open_ticket, premier, csm
):
    northwind = premier.contract.organization
    northwind.csms.add(CsmFactory(email="gone@vendor.example", is_active=False))
    told = open_ticket()
    csm.is_active = False
    csm.save()
    nobody = open_ticket(assignee=None)

    result = sweep(OPENED + 45 * M)

    assert result == SlaSweepResult(warnings=2, emails=1)
    assert [(m.subject.split(" on ")[1].split(" ")[1], m.to) for m in mail.outbox] == [
        (f"#{told.pk}", ["sam@vendor.example"])
    ]
    # Nobody to tell: recorded all the same, so a CSM assigned later gets no stale warning.
    assert target(nobody, "first_response").warned_at == OPENED + 45 * M


class RefusingBackend(BaseEmailBackend):
    """A mail server that is down."""

    def send_messages(self, messages):
        raise ConnectionRefusedError("The mail server refused the connection.")


def test_a_failed_send_keeps_nothing_and_the_next_run_sends_it(open_ticket, settings):
    ticket = open_ticket()
    settings.EMAIL_BACKEND = "tests.tickets.test_sla_alerts.RefusingBackend"

    with pytest.raises(ConnectionRefusedError):
        sweep(OPENED + 45 * M)
    kept = target(ticket, "first_response")
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    retried = sweep(OPENED + 46 * M)

    assert (kept.warned_at, kept.next_alert_at) == (None, OPENED + 45 * M)
    assert retried == SlaSweepResult(warnings=1, emails=1)
    assert target(ticket, "first_response").warned_at == OPENED + 46 * M


def test_batches_cover_every_due_target(open_ticket):
    tickets = [open_ticket() for _ in range(5)]

    assert sweep(OPENED + 45 * M, batch_size=2) == SlaSweepResult(warnings=5, emails=5)
    assert sweep(OPENED + 46 * M, batch_size=2) == NOTHING
    assert not TicketTarget.objects.filter(
        ticket__in=tickets, kind="first_response", warned_at=None
    ).exists()


# --- Escalations --------------------------------------------------------------------------------


def escalations(ticket):
    return [
        (row.action, row.target, row.fired_at, row.next_alert_at)
        for row in TicketEscalation.objects.filter(ticket=ticket)
    ]


def escalation_subjects():
    return [subject for subject in subjects() if subject.startswith("Escalation")]


def test_a_raise_level_rule_raises_the_ticket_once(open_ticket):
    # Priority plan, priority 2: elevate to Level 2 if not resolved within 8 hours.
    ticket = open_ticket("2", policy="vendor_priority_plan")

    before = sweep(OPENED + 8 * H - M)
    fired = sweep(OPENED + 8 * H)
    rerun = sweep(OPENED + 8 * H + M)

    assert before.escalations == rerun.escalations == 0
    assert fired.escalations == 1
    ticket.refresh_from_db()
    assert ticket.support_level == "Level 2"
    assert escalations(ticket) == [("raise_level", "Level 2", OPENED + 8 * H, None)]
    assert escalation_subjects() == [
        f"Escalation: ticket #{ticket.pk} (Northwind, 2 High) raised to Level 2"
    ]
    (email,) = [m for m in mail.outbox if m.subject.startswith("Escalation")]
    assert email.to == ["casey@vendor.example", "sam@vendor.example"]
    assert "Rule: after 8 hours, raise to Level 2\n" in email.body
    assert "The ticket is raised from Level 1 to Level 2." in email.body
    assert (
        f"Ticket #{ticket.pk} reached an escalation of its SLA policy: the ticket was not "
        "resolved in time." in email.body
    )


def test_a_rule_never_lowers_a_ticket_already_above_its_level(open_ticket):
    ticket = open_ticket("2", policy="vendor_priority_plan")
    Ticket.objects.filter(pk=ticket.pk).update(support_level="Level 3")

    assert sweep(OPENED + 8 * H).escalations == 1

    ticket.refresh_from_db()
    assert ticket.support_level == "Level 3"
    (email,) = [m for m in mail.outbox if m.subject.startswith("Escalation")]
    assert "The ticket stays at Level 3, already at or above Level 2." in email.body


def test_a_ticket_resolved_in_time_is_not_escalated(open_ticket, engineer):
    ticket = open_ticket("2", policy="vendor_priority_plan")
    ticket_status_set(ticket=ticket, status="resolved", by=engineer, now=OPENED + 2 * H)

    assert sweep(OPENED + 9 * H).escalations == 0
    ticket.refresh_from_db()
    assert ticket.support_level == "Level 1"
    assert escalation_subjects() == []


def test_a_notify_rule_tells_the_group_it_names(open_ticket):
    operations = Group.objects.create(name="Operations")
    UserFactory(email="ops@vendor.example").groups.add(operations)
    UserFactory(email="ops-gone@vendor.example", is_active=False).groups.add(operations)
    # Uptime SLA, critical: notify operations to divert to the backup data centre unless service
    # is restored within 30 minutes.
    ticket = open_ticket("critical", policy="vendor_uptime_sla")

    assert sweep(OPENED + 29 * M).escalations == 0
    assert sweep(OPENED + 30 * M).escalations == 1
    assert sweep(OPENED + 31 * M).escalations == 0

    (email,) = [m for m in mail.outbox if m.subject.startswith("Escalation")]
    assert email.subject == (
        f"Escalation: ticket #{ticket.pk} (Northwind, Critical): notify operations (divert to "
        "the backup data centre)"
    )
    assert email.to == ["casey@vendor.example", "ops@vendor.example", "sam@vendor.example"]
    assert "the service restoration target was not met in time" in email.body
    assert "Sent to the operations group too." in email.body
    ticket.refresh_from_db()
    assert ticket.support_level == "Level 1"


def test_a_notify_rule_without_its_group_asks_the_people_to_pass_it_on(open_ticket):
    open_ticket("critical", policy="vendor_uptime_sla")

    sweep(OPENED + 30 * M)

    (email,) = [m for m in mail.outbox if m.subject.startswith("Escalation")]
    assert email.to == ["casey@vendor.example", "sam@vendor.example"]
    assert (
        'No group is named "operations": pass this on to operations (divert to the backup data '
        "centre)." in email.body
    )


def test_service_restored_in_time_stops_the_notify_rule(open_ticket, engineer):
    ticket = open_ticket("critical", policy="vendor_uptime_sla")
    ticket_restored(ticket=ticket, by=engineer, now=OPENED + 20 * M)

    assert sweep(OPENED + 31 * M).escalations == 0
    assert escalation_subjects() == []


def test_after_downtime_each_rule_fires_once(open_ticket):
    # Priority 1: elevate to Level 2 immediately.
    ticket = open_ticket("1", policy="vendor_priority_plan")

    caught_up = sweep(OPENED + 3 * H)
    rerun = sweep(OPENED + 3 * H + M)

    assert (caught_up.escalations, rerun) == (1, NOTHING)
    assert escalations(ticket) == [("raise_level", "Level 2", OPENED + 3 * H, None)]


# --- Exactly once, whatever runs it -------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_sweeps_at_once_send_each_notice_once(open_ticket, csm):
    others = [subscribe(name, csm) for name in ("Contoso", "Fabrikam")]
    tickets = [open_ticket() for _ in range(3)]
    tickets += [open_ticket(subscription=s) for s in others for _ in range(2)]
    tickets += [open_ticket("2", policy="vendor_priority_plan") for _ in range(3)]
    # At 23:00: the P1s' first responses and first updates are breached, their resolutions
    # warned; the priority 2 tickets are raised to Level 2 and their acknowledgements breached.
    now = OPENED + 9 * H
    barrier = threading.Barrier(2)
    results, errors = [], []

    def worker():
        try:
            barrier.wait()
            results.append(sla_alerts_sweep(now=now, batch_size=2))
        except Exception as error:  # noqa: BLE001 - surfaced by the assertion below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    total = SlaSweepResult(
        *(sum(getattr(r, name) for r in results) for name in SlaSweepResult.__annotations__)
    )
    assert total == SlaSweepResult(warnings=7, breaches=17, escalations=3, emails=27)
    assert len(subjects()) == len(set(subjects())) == 27
    assert Ticket.objects.filter(support_level="Level 2").count() == 3
    assert sla_alerts_sweep(now=now + M) == NOTHING


def test_a_retried_task_sends_no_duplicate(open_ticket):
    open_ticket()

    with time_machine.travel(OPENED + 45 * M, tick=False):
        first = sla_alerts_sweep_task.apply().get()
        retried = sla_alerts_sweep_task.apply().get()

    assert first == {"warnings": 1, "breaches": 0, "escalations": 0, "emails": 1}
    assert retried == {"warnings": 0, "breaches": 0, "escalations": 0, "emails": 0}


@pytest.mark.parametrize("customers", [1, 30])
def test_a_sweep_runs_a_fixed_number_of_queries(
    open_ticket, customers, django_assert_max_num_queries
):
    # Given, per customer and its own CSM, at 15:35: a Premier P1 whose first response is
    # breached and whose first update warns; a priority 1 ticket raised at once whose
    # acknowledgement is breached; a critical incident whose acknowledgement and restoration
    # are breached and whose notify rule tells the Operations group.
    UserFactory(email="ops@vendor.example").groups.add(Group.objects.create(name="Operations"))
    for n in range(customers):
        subscription = subscribe(f"Customer{n}", CsmFactory())
        open_ticket(subscription=subscription)
        open_ticket("1", subscription=subscription, policy="vendor_priority_plan")
        open_ticket("critical", subscription=subscription, policy="vendor_uptime_sla")

    with django_assert_max_num_queries(SWEEP_QUERIES):
        result = sweep(OPENED + 95 * M)

    assert result == SlaSweepResult(
        warnings=customers, breaches=4 * customers, escalations=2 * customers, emails=7 * customers
    )


def test_beat_runs_the_sweep_every_minute():
    entry = celery_app.conf.beat_schedule["sla-alerts"]

    assert entry["task"] == sla_alerts_sweep_task.name
    assert entry["schedule"].minute == set(range(60))
    assert entry["schedule"].hour == set(range(24))
