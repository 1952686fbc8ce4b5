"""Review reminders: each goes out once per occurrence and kind, on the customer's own day."""

import threading
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.db import connection
from icalendar import Calendar

from accounts.models import Membership
from cso.models import Deliverable, Entitlement, Occurrence, OccurrenceReminder
from cso.services.contracts import SubscriptionSpec, contract_create
from cso.services.review_reminders import review_reminders_send
from cso.services.schedules import occurrence_deliver, occurrence_reschedule, occurrence_skip
from cso.tasks import send_review_reminders
from portal.celery import app as celery_app
from tests.factories import (
    LineOfBusinessFactory,
    MembershipFactory,
    OrganizationFactory,
    PackageFactory,
    UserFactory,
)

# Signed before the term, so every review of 2026 has its reminders ahead of it.
SIGNED = datetime(2025, 12, 1, 12, tzinfo=UTC)
# A sweep's batch runs: savepoint, locking select, active CSMs, contacts, reminders sent, insert
# of the reminders, update of the plans, release.
SWEEP_QUERIES = 8


@pytest.fixture
def reviews(db):
    """A package with a monthly review (due on each month's last day) and a monthly deliverable
    that is not a review."""
    package = PackageFactory(code="premier", name="Premier", quarterly_hours=113, annual_hours=455)
    for rank, (code, name, is_review) in enumerate(
        [
            ("monthly_business_review", "Monthly Business Review", True),
            ("health_check", "Health Check", False),
        ]
    ):
        deliverable = Deliverable.objects.create(
            code=code,
            name=name,
            category=Deliverable.Category.PERFORMANCE_MANAGEMENT,
            source_table=2,
            rank=rank,
            is_review=is_review,
        )
        Entitlement.objects.create(
            package=package, deliverable=deliverable, kind="frequency", frequency="monthly"
        )
    return package


def sign(name, csm, *, time_zone="UTC", first_days=7, last_days=1, signed_at=SIGNED):
    """A customer with its CSM, an admin and a member, and a 2026 contract for the package."""
    slug = name.lower().replace(" ", "-")
    organization = OrganizationFactory(
        name=name,
        slug=slug,
        time_zone=time_zone,
        review_reminder_days=first_days,
        review_reminder_last_days=last_days,
    )
    organization.csms.add(csm)
    for role in (Membership.Role.ADMIN, Membership.Role.MEMBER):
        MembershipFactory(
            organization=organization, role=role, user=UserFactory(email=f"{role}@{slug}.example")
        )
    contract_create(
        organization=organization,
        term_start=date(2026, 1, 1),
        overage_rate=Decimal("150"),
        subscriptions=[
            SubscriptionSpec("premier", [LineOfBusinessFactory(organization=organization)])
        ],
        reference=f"{slug.upper()}-2026",
        signed_at=signed_at,
    )
    return organization


def review(organization, month):
    return Occurrence.objects.get(
        subscription__contract__organization=organization, is_review=True, due_on__month=month
    )


def sent(occurrence):
    """The reminders recorded for an occurrence: (kind, day sent)."""
    return [
        (reminder.kind, reminder.sent_at.date())
        for reminder in OccurrenceReminder.objects.filter(occurrence=occurrence).order_by("sent_at")
    ]


def at(day, hour=12):
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def days(first, last):
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def subjects_about(month_text):
    return [m.subject for m in mail.outbox if month_text in m.subject]


def test_each_reminder_goes_out_once_on_its_day_and_a_rerun_sends_nothing(reviews, csm):
    northwind = sign("Northwind", csm)
    march = review(northwind, 3)

    reruns = []
    for day in days(date(2026, 3, 20), date(2026, 4, 3)):
        review_reminders_send(now=at(day, 9))
        reruns.append(review_reminders_send(now=at(day, 18)))

    assert reruns == [0] * len(reruns)
    assert sent(march) == [
        ("ahead", date(2026, 3, 24)),
        ("last", date(2026, 3, 30)),
        ("due", date(2026, 3, 31)),
        ("overdue", date(2026, 4, 1)),
    ]
    # One email to the CSM and one to the customer's contacts per reminder.
    assert subjects_about("31 Mar 2026") == [
        "Review in 7 days: Monthly Business Review for Northwind, Tue 31 Mar 2026",
        "Review in 7 days: Monthly Business Review for Northwind, Tue 31 Mar 2026",
        "Review tomorrow: Monthly Business Review for Northwind, Tue 31 Mar 2026",
        "Review tomorrow: Monthly Business Review for Northwind, Tue 31 Mar 2026",
        "Review due today: Monthly Business Review for Northwind, Tue 31 Mar 2026",
        "Review due today: Monthly Business Review for Northwind, Tue 31 Mar 2026",
        "Review overdue by 1 day: Monthly Business Review for Northwind, Tue 31 Mar 2026",
        "Review overdue by 1 day: Monthly Business Review for Northwind, Tue 31 Mar 2026",
    ]
    march.refresh_from_db()
    assert (march.next_reminder_on, march.next_reminder_kind) == (None, "")


def test_deliverables_that_are_not_reviews_are_never_reminded(reviews, csm):
    northwind = sign("Northwind", csm)

    review_reminders_send(now=at(date(2026, 12, 31)))

    assert not OccurrenceReminder.objects.filter(occurrence__is_review=False).exists()
    assert (
        OccurrenceReminder.objects.count()
        == Occurrence.objects.filter(
            subscription__contract__organization=northwind, is_review=True
        ).count()
    )


@pytest.mark.django_db(transaction=True)
def test_two_sweeps_at_once_send_each_reminder_once(reviews, csm):
    customers = [sign(name, csm) for name in ("Northwind", "Contoso", "Fabrikam")]
    now = at(date(2026, 10, 26))  # January to September overdue, October a week ahead
    due = Occurrence.objects.filter(is_review=True, due_on__lte=date(2026, 10, 31)).count()
    barrier = threading.Barrier(2)
    counts, errors = [], []

    def worker():
        try:
            barrier.wait()
            counts.append(review_reminders_send(now=now, batch_size=4))
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
    assert sum(counts) == due == 3 * 10
    assert OccurrenceReminder.objects.count() == due
    sent_to = [(m.subject, tuple(m.to)) for m in mail.outbox]
    assert len(sent_to) == len(set(sent_to)) == 2 * due
    assert {m.subject.split(": ")[1].split(",")[0] for m in mail.outbox} == {
        f"Monthly Business Review for {customer.name}" for customer in customers
    }


def test_a_retried_task_sends_no_duplicate(reviews, csm):
    sign("Northwind", csm)

    with time_machine.travel(at(date(2026, 3, 24)), tick=False):
        first = send_review_reminders.apply().get()
        retried = send_review_reminders.apply().get()

    assert (first, retried) == (3, 0)  # January and February overdue, March a week ahead
    assert len(mail.outbox) == 2 * 3


class RefusingBackend(BaseEmailBackend):
    """A mail server that is down."""

    def send_messages(self, messages):
        raise ConnectionRefusedError("The mail server refused the connection.")


def test_a_sweep_whose_emails_fail_keeps_nothing_and_the_next_run_sends_them(
    reviews, csm, settings
):
    northwind = sign("Northwind", csm, signed_at=at(date(2026, 3, 10)))
    march = review(northwind, 3)
    settings.EMAIL_BACKEND = "tests.cso.test_review_reminders.RefusingBackend"

    with pytest.raises(ConnectionRefusedError):
        review_reminders_send(now=at(date(2026, 3, 24)))
    march.refresh_from_db()

    assert sent(march) == []
    assert (march.next_reminder_kind, march.next_reminder_on) == ("ahead", date(2026, 3, 24))

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert review_reminders_send(now=at(date(2026, 3, 24), 13)) == 1
    assert sent(march) == [("ahead", date(2026, 3, 24))]
    assert len(mail.outbox) == 2


def test_after_downtime_the_latest_owed_reminder_goes_out_and_the_plan_continues(reviews, csm):
    northwind = sign("Northwind", csm, signed_at=at(date(2026, 3, 10)))
    march = review(northwind, 3)

    # Nothing ran from before the first reminder (24 March) until the due day.
    assert review_reminders_send(now=at(date(2026, 3, 31))) == 1
    march.refresh_from_db()
    plan_after_catch_up = (march.next_reminder_kind, march.next_reminder_on)
    review_reminders_send(now=at(date(2026, 4, 1)))

    assert plan_after_catch_up == ("overdue", date(2026, 4, 1))
    assert sent(march) == [("due", date(2026, 3, 31)), ("overdue", date(2026, 4, 1))]
    assert subjects_about("31 Mar 2026") == [
        "Review due today: Monthly Business Review for Northwind, Tue 31 Mar 2026",
        "Review due today: Monthly Business Review for Northwind, Tue 31 Mar 2026",
        "Review overdue by 1 day: Monthly Business Review for Northwind, Tue 31 Mar 2026",
        "Review overdue by 1 day: Monthly Business Review for Northwind, Tue 31 Mar 2026",
    ]


def test_a_delivered_or_skipped_review_gets_no_more_reminders(reviews, csm):
    northwind = sign("Northwind", csm, signed_at=at(date(2026, 3, 10)))
    march, april, may = (review(northwind, month) for month in (3, 4, 5))
    review_reminders_send(now=at(date(2026, 3, 24)))

    occurrence_deliver(
        occurrence=march, delivered_on=date(2026, 3, 26), by=csm, now=at(date(2026, 3, 26))
    )
    occurrence_skip(occurrence=april, reason="Merged with the May review", by=csm)
    for day in days(date(2026, 3, 25), date(2026, 6, 2)):
        review_reminders_send(now=at(day))

    assert sent(march) == [("ahead", date(2026, 3, 24))]
    assert sent(april) == []
    assert [kind for kind, _ in sent(may)] == ["ahead", "last", "due", "overdue"]


def test_a_customers_own_reminder_days_are_honoured(reviews, csm):
    northwind = sign("Northwind", csm, first_days=14, last_days=3)
    contoso = sign("Contoso", csm)

    for day in days(date(2026, 3, 10), date(2026, 3, 31)):
        review_reminders_send(now=at(day))

    assert sent(review(northwind, 3)) == [
        ("ahead", date(2026, 3, 17)),
        ("last", date(2026, 3, 28)),
        ("due", date(2026, 3, 31)),
    ]
    assert sent(review(contoso, 3)) == [
        ("ahead", date(2026, 3, 24)),
        ("last", date(2026, 3, 30)),
        ("due", date(2026, 3, 31)),
    ]
    assert "Review in 14 days: Monthly Business Review for Northwind, Tue 31 Mar 2026" in (
        subjects_about("31 Mar 2026")
    )


def test_the_customers_time_zone_decides_the_day(reviews, csm):
    auckland = sign("Auckland Co", csm, time_zone="Pacific/Auckland")  # UTC+13 in March
    london = sign("London Co", csm, time_zone="UTC")
    seattle = sign("Seattle Co", csm, time_zone="America/Los_Angeles")  # UTC-7 in March
    first_reminder = {}

    for now in (
        datetime(2026, 3, 23, 10, 59, tzinfo=UTC),  # 23:59 on 23 March in Auckland
        datetime(2026, 3, 23, 11, 0, tzinfo=UTC),  # midnight in Auckland
        datetime(2026, 3, 24, 0, 0, tzinfo=UTC),  # midnight in London
        datetime(2026, 3, 24, 6, 59, tzinfo=UTC),  # 23:59 on 23 March in Seattle
        datetime(2026, 3, 24, 7, 0, tzinfo=UTC),  # midnight in Seattle
    ):
        review_reminders_send(now=now)
        for customer in (auckland, london, seattle):
            if sent(review(customer, 3)):
                first_reminder.setdefault(customer.name, now)

    assert first_reminder == {
        "Auckland Co": datetime(2026, 3, 23, 11, 0, tzinfo=UTC),
        "London Co": datetime(2026, 3, 24, 0, 0, tzinfo=UTC),
        "Seattle Co": datetime(2026, 3, 24, 7, 0, tzinfo=UTC),
    }


@pytest.mark.parametrize(
    ("customers", "now", "due_each"),
    [
        (1, at(date(2026, 1, 24)), 1),  # January's review, a week ahead
        (3, at(date(2026, 10, 26)), 10),  # January to September overdue, October ahead
    ],
)
def test_a_sweep_runs_a_fixed_number_of_queries(
    reviews, csm, customers, now, due_each, django_assert_max_num_queries
):
    for index in range(customers):
        sign(f"Customer {index}", csm)

    with django_assert_max_num_queries(SWEEP_QUERIES):
        count = review_reminders_send(now=now)

    assert count == customers * due_each
    assert len(mail.outbox) == 2 * customers * due_each


def test_batches_cover_every_due_review(reviews, csm):
    for name in ("Northwind", "Contoso", "Fabrikam"):
        sign(name, csm)

    assert review_reminders_send(now=at(date(2026, 10, 26)), batch_size=7) == 30
    assert review_reminders_send(now=at(date(2026, 10, 26), 13), batch_size=7) == 0


def test_the_email_says_what_when_which_customer_and_carries_an_invite(reviews, csm, settings):
    settings.PORTAL_BASE_URL = "https://portal.example.com"
    northwind = sign("Northwind", csm, signed_at=at(date(2026, 3, 10)))
    MembershipFactory(
        organization=northwind, user=UserFactory(email="gone@northwind.example", is_active=False)
    )
    sign("Contoso", csm, signed_at=at(date(2026, 3, 10)))
    march = review(northwind, 3)

    review_reminders_send(now=at(date(2026, 3, 24)))
    to_csm, to_customer = [m for m in mail.outbox if "Northwind" in m.subject]

    subject = "Review in 7 days: Monthly Business Review for Northwind, Tue 31 Mar 2026"
    assert (to_csm.subject, to_customer.subject) == (subject, subject)
    assert to_csm.to == ["casey@vendor.example"]
    assert to_customer.to == ["admin@northwind.example", "member@northwind.example"]
    facts = (
        "The Monthly Business Review of Northwind is due in 7 days, on Tuesday 31 March 2026.\n\n"
        "What: Monthly Business Review, monthly\n"
        "When: due Tuesday 31 March 2026; it may move within its period, Sunday 1 March 2026 "
        "to Tuesday 31 March 2026\n"
        "Customer: Northwind\n"
        "Package: Premier, contract NORTHWIND-2026 (Thursday 1 January 2026 to Thursday 31 "
        "December 2026)\n"
    )
    assert to_csm.body.startswith(facts) and to_customer.body.startswith(facts)
    assert (
        "Mark it delivered, move it within its period or skip it with a reason: "
        f"https://portal.example.com/admin/cso/occurrence/{march.pk}/change/\n"
    ) in to_csm.body
    assert "Your customer success manager: Casey Lee <casey@vendor.example>" in to_customer.body
    assert (
        f"Your package dashboard: https://portal.example.com/#subscription-{march.subscription_id}"
        in to_customer.body
    )
    assert (
        "Subscribe to all of Northwind's reviews in Outlook or Google Calendar: "
        f"https://portal.example.com/calendar/{northwind.calendar_token}.ics"
    ) in to_customer.body

    (attachment,) = to_customer.attachments
    invite = Calendar.from_ical(attachment.content)
    (event,) = invite.walk("VEVENT")
    assert attachment.mimetype == "text/calendar; method=REQUEST"
    assert str(invite["METHOD"]) == "REQUEST"
    assert event.decoded("DTSTART") == date(2026, 3, 31)
    assert event.decoded("DTEND") == date(2026, 4, 1)
    assert str(event["UID"]) == f"occurrence-{march.pk}@portal.example.com"
    assert str(event["SUMMARY"]) == "Monthly Business Review: Northwind"
    assert "When: due Tuesday 31 March 2026" in str(event["DESCRIPTION"])
    assert sorted(str(a) for a in event["ATTENDEE"]) == [
        "mailto:admin@northwind.example",
        "mailto:member@northwind.example",
    ]
    assert event.decoded("SEQUENCE") == 0


def test_a_later_invite_updates_the_event_of_the_earlier_one(reviews, csm, settings):
    settings.PORTAL_BASE_URL = "http://localhost:8000"
    northwind = sign("Northwind", csm, signed_at=at(date(2026, 3, 10)))
    march = review(northwind, 3)

    review_reminders_send(now=at(date(2026, 3, 24)))
    review_reminders_send(now=at(date(2026, 3, 30)))
    first, last = (
        Calendar.from_ical(m.attachments[0].content).walk("VEVENT")[0]
        for m in (mail.outbox[0], mail.outbox[-1])
    )

    assert str(first["UID"]) == str(last["UID"]) == f"occurrence-{march.pk}@localhost"
    assert (first.decoded("SEQUENCE"), last.decoded("SEQUENCE")) == (0, 1)


def test_a_moved_review_is_reminded_of_its_new_date_and_never_twice_of_one_kind(reviews, csm):
    northwind = sign("Northwind", csm, signed_at=at(date(2026, 3, 10)))
    march = review(northwind, 3)
    occurrence_reschedule(
        occurrence=march, due_on=date(2026, 3, 15), by=csm, now=at(date(2026, 3, 12))
    )
    review_reminders_send(now=at(date(2026, 3, 14)))

    occurrence_reschedule(
        occurrence=march, due_on=date(2026, 3, 31), by=csm, now=at(date(2026, 3, 14), 15)
    )
    for day in days(date(2026, 3, 15), date(2026, 4, 1)):
        review_reminders_send(now=at(day))
    invites = [
        Calendar.from_ical(m.attachments[0].content).walk("VEVENT")[0]
        for m in mail.outbox
        if m.to == ["casey@vendor.example"]
    ]

    # The last reminder went out before the move; the plan goes on without it.
    assert sent(march) == [
        ("last", date(2026, 3, 14)),
        ("ahead", date(2026, 3, 24)),
        ("due", date(2026, 3, 31)),
        ("overdue", date(2026, 4, 1)),
    ]
    assert [(i.decoded("DTSTART"), i.decoded("SEQUENCE")) for i in invites] == [
        (date(2026, 3, 15), 0),
        (date(2026, 3, 31), 1),
        (date(2026, 3, 31), 2),
        (date(2026, 3, 31), 3),
    ]


def test_beat_runs_the_sweep_every_quarter_hour():
    entry = celery_app.conf.beat_schedule["review-reminders"]

    assert entry["task"] == send_review_reminders.name
    assert entry["schedule"].minute == {0, 15, 30, 45}
