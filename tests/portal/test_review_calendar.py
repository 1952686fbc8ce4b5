"""The customer's review calendar feed, and where the dashboard shows its address."""

from datetime import date

import pytest
import time_machine
from django.urls import reverse
from icalendar import Calendar

from accounts.models import Membership
from cso.models import Occurrence
from cso.services.contracts import SubscriptionSpec, contract_create
from cso.services.schedules import occurrence_deliver, occurrence_skip
from tests.conftest import NOW
from tests.factories import LineOfBusinessFactory, MembershipFactory, OrganizationFactory

pytestmark = pytest.mark.django_db


def feed_url(organization):
    return reverse("review-calendar", args=[organization.calendar_token])


def events(response):
    calendar = Calendar.from_ical(response.content)
    return calendar, {str(event["UID"]): event for event in calendar.walk("VEVENT")}


@pytest.fixture(autouse=True)
def portal_address(settings):
    settings.PORTAL_BASE_URL = "https://portal.example.com"


def uid(occurrence):
    return f"occurrence-{occurrence.pk}@portal.example.com"


def reviews_of(subscription):
    return Occurrence.objects.filter(subscription=subscription, is_review=True).order_by("due_on")


def sign(organization, term_start, reference):
    line = LineOfBusinessFactory(organization=organization, name=f"Line {reference}")
    contract = contract_create(
        organization=organization,
        term_start=term_start,
        overage_rate="150.00",
        subscriptions=[SubscriptionSpec("premier", [line])],
        reference=reference,
        signed_at=NOW,
    )
    return contract.subscriptions.get()


def test_an_unknown_token_is_not_found(client, premier):
    assert client.get("/calendar/not-a-token.ics").status_code == 404
    assert client.get(reverse("review-calendar", args=["x" * 43])).status_code == 404


@time_machine.travel(NOW, tick=False)
def test_the_feed_lists_the_customers_reviews_without_sign_in(client, premier, csm):
    organization = premier.contract.organization
    first, second, *_ = reviews_of(premier)
    occurrence_deliver(occurrence=first, delivered_on=date(2026, 1, 14), by=csm, now=NOW)
    occurrence_skip(occurrence=second, reason="The customer declined it", by=csm)
    upcoming = reviews_of(premier).filter(due_on__gt=NOW.date()).first()
    not_a_review = Occurrence.objects.filter(subscription=premier, is_review=False).first()

    response = client.get(feed_url(organization))
    calendar, by_uid = events(response)

    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    assert str(calendar["METHOD"]) == "PUBLISH"
    assert str(calendar["X-WR-CALNAME"]) == "Northwind reviews"
    assert len(by_uid) == reviews_of(premier).count() - 1
    assert uid(second) not in by_uid  # skipped
    assert uid(not_a_review) not in by_uid
    event = by_uid[uid(upcoming)]
    assert event.decoded("DTSTART") == upcoming.due_on
    assert str(event["SUMMARY"]) == f"{upcoming.entitlement.deliverable.name}: Northwind"
    assert str(event["STATUS"]) == "CONFIRMED"
    assert "Package: Premier, contract NW-2026" in str(event["DESCRIPTION"])
    assert by_uid[uid(first)].decoded("DTSTART") == date(2026, 1, 14)  # delivered


@time_machine.travel(NOW, tick=False)
def test_other_customers_and_ended_contracts_stay_out_of_the_feed(client, premier):
    northwind = premier.contract.organization
    ended = sign(northwind, date(2025, 1, 1), "NW-2025")
    renewal = sign(northwind, date(2027, 1, 1), "NW-2027")
    contoso = OrganizationFactory(name="Contoso")
    theirs = sign(contoso, date(2026, 1, 1), "CO-2026")

    _, by_uid = events(client.get(feed_url(northwind)))

    assert uid(reviews_of(renewal).first()) in by_uid  # a future contract's reviews
    assert uid(reviews_of(ended).last()) not in by_uid
    assert uid(reviews_of(theirs).last()) not in by_uid
    assert len(by_uid) == reviews_of(premier).count() + reviews_of(renewal).count()


@time_machine.travel(NOW, tick=False)
def test_the_feed_runs_two_queries_however_many_reviews(
    client, premier, django_assert_max_num_queries
):
    northwind = premier.contract.organization
    sign(northwind, date(2027, 1, 1), "NW-2027")

    # The customer by its token, then its reviews with everything they show.
    with django_assert_max_num_queries(2):
        response = client.get(feed_url(northwind))

    assert len(events(response)[1]) > 100


@time_machine.travel(NOW, tick=False)
def test_the_dashboard_shows_customers_the_address_to_subscribe_to(client, premier, customer_admin):
    northwind = premier.contract.organization
    member = MembershipFactory(organization=northwind, role=Membership.Role.MEMBER).user

    for person in (customer_admin, member):
        client.force_login(person)
        page = client.get(reverse("home")).content.decode()

        assert f"http://testserver/calendar/{northwind.calendar_token}.ics" in page
        assert "Subscribe to this address in Outlook or Google Calendar" in page


@time_machine.travel(NOW, tick=False)
def test_staff_are_not_shown_the_customers_secret_address(client, premier, csm):
    client.force_login(csm)

    page = client.get(reverse("home")).content.decode()

    assert "Northwind" in page
    assert premier.contract.organization.calendar_token not in page
