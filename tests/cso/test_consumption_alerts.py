import threading
from datetime import date, timedelta
from unittest import mock

import pytest
from django.core import mail
from django.db import connection

from cso.models import ConsumptionAlert, Program
from cso.services.consumption_alerts import (
    consumption_alerts_send,
    consumption_alerts_sweep,
    subscriptions_due_consumption_alerts,
)
from cso.services.time_entries import EntryFields, time_entry_log
from tests.conftest import NOW


def log_hours(subscription, csm, first_day, total, per_day=20):
    program = Program.objects.get(code="operational_consulting")
    day, left = first_day, total
    while left > 0:
        hours = min(left, per_day)
        time_entry_log(
            subscription=subscription,
            fields=EntryFields(worked_on=day, hours=str(hours), program=program),
            logged_by=csm,
            now=NOW,
        )
        day, left = day + timedelta(days=1), left - hours


def alerts(subscription):
    return list(
        ConsumptionAlert.objects.filter(subscription=subscription).values_list(
            "period_kind", "period_index", "threshold_percent"
        )
    )


def test_logging_queues_the_alert_check_only_after_commit(
    premier, csm, django_capture_on_commit_callbacks
):
    with mock.patch("cso.tasks.check_consumption_alerts.delay") as delay:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            log_hours(premier, csm, date(2026, 4, 1), 10)
        delay.assert_not_called()
        for callback in callbacks:
            callback()

    delay.assert_called_once_with(premier.pk)


def test_80_percent_of_the_quarter_alerts_the_csm_and_customer_admins_once(
    premier, csm, customer_admin
):
    log_hours(premier, csm, date(2026, 4, 1), 91)  # 80.5% of 113

    assert consumption_alerts_send(subscription_id=premier.pk, now=NOW) == 1
    assert consumption_alerts_send(subscription_id=premier.pk, now=NOW) == 0

    assert alerts(premier) == [("quarter", 2, 80)]
    [email] = mail.outbox
    assert email.to == ["ada@northwind.example", "casey@vendor.example"]
    assert email.subject == ("Northwind: 80% of the quarter's hours used (Premier, NW-2026)")
    assert "has used 91.00 of the 113.00 hours of contract quarter 2" in email.body


def test_a_jump_past_100_percent_sends_one_alert_and_counts_80_as_told(premier, csm):
    log_hours(premier, csm, date(2026, 4, 1), 120)

    consumption_alerts_send(subscription_id=premier.pk, now=NOW)

    assert alerts(premier) == [("quarter", 2, 80), ("quarter", 2, 100)]
    [email] = mail.outbox
    assert "100% of the quarter's hours" in email.subject
    assert "7.00 hours are beyond the quarter's hours and billed as overage" in email.body


def test_the_year_threshold_is_its_own_alert(premier, csm):
    for quarter_start in (date(2026, 1, 5), date(2026, 4, 6), date(2026, 7, 6)):
        log_hours(premier, csm, quarter_start, 113)  # 339 of 455 = 74.5%
    consumption_alerts_send(subscription_id=premier.pk, now=NOW)
    mail.outbox.clear()

    log_hours(premier, csm, date(2026, 10, 5), 30)  # 369 = 81.1% of the year
    consumption_alerts_send(subscription_id=premier.pk, now=NOW)

    assert ("year", 1, 80) in alerts(premier)
    assert [email.subject for email in mail.outbox] == [
        "Northwind: 80% of the year's hours used (Premier, NW-2026)"
    ]


def test_the_sweep_catches_up_on_alerts_whose_task_never_ran(
    premier, csm, django_assert_max_num_queries
):
    log_hours(premier, csm, date(2026, 4, 1), 95)
    assert subscriptions_due_consumption_alerts(now=NOW) == [premier.pk]

    with django_assert_max_num_queries(3):
        subscriptions_due_consumption_alerts(now=NOW)
    assert consumption_alerts_sweep(now=NOW) == 1
    assert consumption_alerts_sweep(now=NOW) == 0
    assert subscriptions_due_consumption_alerts(now=NOW) == []
    assert len(mail.outbox) == 1


@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_send_one_alert(premier, csm):
    log_hours(premier, csm, date(2026, 4, 1), 100)
    barrier = threading.Barrier(2)
    results = []

    def worker():
        barrier.wait()
        try:
            results.append(consumption_alerts_send(subscription_id=premier.pk, now=NOW))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(results) == [0, 1]
    assert len(mail.outbox) == 1
    assert alerts(premier) == [("quarter", 2, 80)]
