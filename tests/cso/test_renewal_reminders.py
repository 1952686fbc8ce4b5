from datetime import UTC, date, datetime

import pytest
import time_machine
from django.core import mail

from cso.models import Contract
from cso.services.renewals import renewal_reminders_send
from cso.tasks import send_renewal_reminders
from tests.factories import ContractFactory, OrganizationFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def ending_on(term_end, csm, **kwargs):
    organization = OrganizationFactory(name=kwargs.pop("name", "Northwind"))
    organization.csms.add(csm)
    return ContractFactory(
        organization=organization, term_start=date(2026, 1, 1), term_end=term_end, **kwargs
    )


def test_reminds_assigned_csm_of_a_term_ending_within_the_window(
    csm, django_capture_on_commit_callbacks
):
    contract = ending_on(date(2027, 1, 31), csm)
    ending_on(date(2027, 6, 30), csm, name="Later Co")

    with django_capture_on_commit_callbacks(execute=True):
        sent = renewal_reminders_send(now=NOW, days_ahead=90)

    assert sent == 1
    assert [m.to for m in mail.outbox] == [["casey@vendor.example"]]
    assert mail.outbox[0].subject == "Renewal due: Northwind ends 31 Jan 2027"
    assert "ends on Sunday 31 January 2027, in 69 days" in mail.outbox[0].body
    assert f"/admin/cso/contract/{contract.pk}/change/" in mail.outbox[0].body
    contract.refresh_from_db()
    assert contract.renewal_reminder_sent_at == NOW


def test_a_rerun_sends_nothing_twice(csm, django_capture_on_commit_callbacks):
    ending_on(date(2027, 1, 31), csm)

    with django_capture_on_commit_callbacks(execute=True):
        first = renewal_reminders_send(now=NOW, days_ahead=90)
        second = renewal_reminders_send(now=NOW, days_ahead=90)

    assert (first, second) == (1, 0)
    assert len(mail.outbox) == 1


def test_renewed_and_ended_contracts_are_not_reminded(csm):
    renewed = ending_on(date(2027, 1, 31), csm)
    ContractFactory(
        organization=renewed.organization,
        term_start=date(2027, 2, 1),
        term_end=date(2028, 1, 31),
        previous_term=renewed,
    )
    ending_on(date(2026, 11, 22), csm, name="Ended Co")

    assert renewal_reminders_send(now=NOW, days_ahead=90) == 0


def test_a_sweep_after_downtime_catches_up(csm, django_capture_on_commit_callbacks):
    """Nothing ran for weeks: every contract now inside the window is reminded once."""
    ending_on(date(2026, 12, 1), csm, name="Soon Co")
    ending_on(date(2027, 2, 1), csm, name="Later Co")

    with django_capture_on_commit_callbacks(execute=True):
        assert renewal_reminders_send(now=NOW, days_ahead=90) == 2

    assert sorted(m.subject for m in mail.outbox) == [
        "Renewal due: Later Co ends 01 Feb 2027",
        "Renewal due: Soon Co ends 01 Dec 2026",
    ]


def test_the_task_reads_the_clock_and_calls_the_sweep(csm, settings):
    settings.RENEWAL_REMINDER_DAYS = 90
    contract = ending_on(date(2027, 1, 31), csm)

    with time_machine.travel(NOW, tick=False):
        assert send_renewal_reminders.apply().get() == 1

    assert Contract.objects.get(pk=contract.pk).renewal_reminder_sent_at == NOW


@pytest.mark.parametrize("due_count", [1, 25])
def test_sweep_runs_a_fixed_number_of_queries(csm, due_count, django_assert_max_num_queries):
    for index in range(due_count):
        ending_on(date(2027, 1, 1), csm, name=f"Customer {index}")

    # Savepoint, locking select, prefetch of CSMs, claiming update, release.
    with django_assert_max_num_queries(5):
        assert renewal_reminders_send(now=NOW, days_ahead=90) == due_count


def test_a_customer_without_a_csm_is_reminded_once_one_is_assigned(
    csm, django_capture_on_commit_callbacks
):
    contract = ContractFactory(term_start=date(2026, 1, 1), term_end=date(2027, 1, 31))

    with django_capture_on_commit_callbacks(execute=True):
        assert renewal_reminders_send(now=NOW, days_ahead=90) == 0
        contract.organization.csms.add(csm)
        assert renewal_reminders_send(now=NOW, days_ahead=90) == 1

    assert [m.to for m in mail.outbox] == [["casey@vendor.example"]]
