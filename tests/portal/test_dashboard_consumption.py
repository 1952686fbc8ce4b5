"""The dashboard's hour bank: hours used this quarter and year, and the expansion scopes and T&E
awaiting the customer, which its admins decide from the page."""

import html
import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from accounts.models import Membership
from cso.models import ExpansionScope, ExpansionUse, Program, TravelExpense
from cso.services.contracts import SubscriptionSpec, contract_create
from cso.services.expansion import expansion_scope_propose
from cso.services.expenses import travel_expense_request
from cso.services.time_entries import EntryFields, time_entry_log
from tests.conftest import NOW
from tests.factories import LineOfBusinessFactory, MembershipFactory, OrganizationFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False):
        yield


def log_days(subscription, csm, first_day, days, hours="20", program="performance_management"):
    program = Program.objects.get(code=program)
    for offset in range(days):
        fields = EntryFields(
            worked_on=first_day + timedelta(days=offset), hours=hours, program=program
        )
        time_entry_log(subscription=subscription, fields=fields, logged_by=csm, now=NOW)


def scope_for(subscription, csm, title="Wholesale messaging", hours="40"):
    return expansion_scope_propose(
        subscription=subscription,
        title=title,
        use=ExpansionUse.objects.get(code="new_lines_of_business"),
        hours=Decimal(hours),
        by=csm,
        now=NOW,
    )


def expense_for(subscription, csm, description="On-site QBR in Seattle"):
    return travel_expense_request(
        subscription=subscription,
        incurred_on=date(2026, 12, 2),
        description=description,
        amount="1250.00",
        by=csm,
        now=NOW,
    )


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def text_of(response) -> str:
    """The page as a reader sees it: tags dropped, whitespace collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.content.decode())).split())


@pytest.fixture
def member(premier):
    return MembershipFactory(organization=premier.contract.organization).user


def test_the_dashboard_shows_this_quarters_and_this_years_hours(premier, csm, customer_admin):
    log_days(premier, csm, date(2026, 1, 5), 6)  # quarter 1: 120 hours, 7 of them overage
    log_days(premier, csm, date(2026, 10, 5), 4, hours="10")  # this quarter: 40 hours
    log_days(premier, csm, date(2026, 11, 2), 1, hours="8", program="operational_consulting")

    page = text_of(signed_in(customer_admin).get(reverse("home")))

    assert "This quarter: Q4, 1 Oct to 31 Dec 2026" in page
    assert "48 of 113 hours used (42.5%)" in page
    assert "Remaining 65 h Overage 0 h" in page
    assert "This year: year 1, 1 Jan 2026 to 31 Dec 2026" in page
    assert "168 of 455 hours used (36.9%)" in page
    assert "Remaining 294 h Overage 7 h" in page
    assert "Performance Management & Success Planning 40 0 Operational Consulting 8 0" in page
    assert "Performance Management & Success Planning 160 7" in page


def test_the_bar_turns_to_a_warning_at_the_first_alert_threshold(
    premier, csm, customer_admin, settings
):
    settings.CONSUMPTION_ALERT_THRESHOLDS = (100, 50)
    log_days(premier, csm, date(2026, 10, 5), 1, hours="12.5")

    page = signed_in(customer_admin).get(reverse("home")).content.decode()

    assert '<meter min="0" max="113.00" value="12.50" high="56.50"' in page


def test_an_admin_sees_what_awaits_a_decision_with_its_buttons(premier, csm, customer_admin):
    scope = scope_for(premier, csm)
    expense = expense_for(premier, csm)

    response = signed_in(customer_admin).get(reverse("home"))

    page = text_of(response)
    assert "Awaiting your decision" in page
    assert "Expansion scope: Wholesale messaging , 40 hours for expansions to new" in page
    assert "Travel and expenses: On-site QBR in Seattle , 1250.00 USD on 2 Dec 2026" in page
    html = response.content.decode()
    assert reverse("decide-expansion-scope", args=[scope.pk]) in html
    assert reverse("decide-travel-expense", args=[expense.pk]) in html
    for button in ("Approve", "Fund", "Request change", "Decline"):
        assert f">{button}</button>" in html


def test_a_member_sees_what_awaits_but_no_buttons(premier, csm, member):
    scope_for(premier, csm)

    response = signed_in(member).get(reverse("home"))

    assert "Expansion scope: Wholesale messaging" in text_of(response)
    assert '<button type="submit" name="decision"' not in response.content.decode()


def test_the_admin_approves_a_scope_from_the_dashboard(premier, csm, customer_admin):
    scope = scope_for(premier, csm)
    client = signed_in(customer_admin)

    response = client.post(
        reverse("decide-expansion-scope", args=[scope.pk]), {"decision": "approve"}, follow=True
    )

    assert response.redirect_chain == [(f"/#subscription-{premier.pk}", 302)]
    assert "You approved 'Wholesale messaging' (40.00 hours)." in text_of(response)
    assert ExpansionScope.objects.get(pk=scope.pk).status == ExpansionScope.Status.APPROVED
    assert "Awaiting your decision" not in text_of(response)


def test_the_admin_funds_hours_beyond_the_pack(premier, csm, customer_admin):
    scope = scope_for(premier, csm, "Three deployments", hours="70")

    response = signed_in(customer_admin).post(
        reverse("decide-expansion-scope", args=[scope.pk]), {"decision": "fund"}, follow=True
    )

    assert (
        "You approved 'Three deployments' (70.00 hours) and funded 10.00 hours beyond the "
        "expansion pack." in text_of(response)
    )
    assert ExpansionScope.objects.get(pk=scope.pk).funded_hours == Decimal("10")


def test_a_change_request_without_a_note_is_refused_with_the_reason(premier, csm, customer_admin):
    scope = scope_for(premier, csm)
    client = signed_in(customer_admin)
    url = reverse("decide-expansion-scope", args=[scope.pk])

    refused = client.post(url, {"decision": "request_change"}, follow=True)
    asked = client.post(url, {"decision": "request_change", "note": "Split per line"}, follow=True)

    assert "Say what should change." in text_of(refused)
    assert "You asked for a change to 'Wholesale messaging'" in text_of(asked)
    scope.refresh_from_db()
    assert (scope.status, scope.customer_note) == ("change_requested", "Split per line")


def test_the_admin_approves_and_declines_t_and_e(premier, csm, customer_admin):
    trip = expense_for(premier, csm)
    other = expense_for(premier, csm, "Workshop in Austin")
    client = signed_in(customer_admin)

    approved = client.post(
        reverse("decide-travel-expense", args=[trip.pk]), {"approve": "yes"}, follow=True
    )
    declined = client.post(
        reverse("decide-travel-expense", args=[other.pk]), {"approve": "no"}, follow=True
    )

    assert "You approved 'On-site QBR in Seattle' (1250.00)." in text_of(approved)
    assert "You declined 'Workshop in Austin' (1250.00)." in text_of(declined)
    assert list(TravelExpense.objects.order_by("pk").values_list("status", flat=True)) == [
        "approved",
        "declined",
    ]


def test_a_member_is_told_only_admins_decide(premier, csm, member):
    scope = scope_for(premier, csm)

    response = signed_in(member).post(
        reverse("decide-expansion-scope", args=[scope.pk]), {"decision": "approve"}, follow=True
    )

    assert "Only the customer's admins decide on expansion scopes." in text_of(response)
    assert ExpansionScope.objects.get(pk=scope.pk).status == ExpansionScope.Status.PROPOSED


def test_another_customers_admin_gets_not_found(premier, csm):
    scope = scope_for(premier, csm)
    expense = expense_for(premier, csm)
    outsider = MembershipFactory(role=Membership.Role.ADMIN).user
    client = signed_in(outsider)

    on_scope = client.post(reverse("decide-expansion-scope", args=[scope.pk]), {"decision": "x"})
    on_expense = client.post(reverse("decide-travel-expense", args=[expense.pk]), {})

    assert on_scope.status_code == on_expense.status_code == 404


def test_decisions_need_the_pages_csrf_token(premier, csm, customer_admin):
    scope = scope_for(premier, csm)
    client = Client(enforce_csrf_checks=True)
    client.force_login(customer_admin)
    url = reverse("decide-expansion-scope", args=[scope.pk])

    forged = client.post(url, {"decision": "approve"})
    client.get(reverse("home"))
    token = client.cookies["csrftoken"].value
    genuine = client.post(url, {"decision": "approve", "csrfmiddlewaretoken": token})

    assert forged.status_code == 403
    assert genuine.status_code == 302
    assert ExpansionScope.objects.get(pk=scope.pk).status == ExpansionScope.Status.APPROVED


def test_decisions_are_posted_not_fetched(premier, csm, customer_admin):
    scope = scope_for(premier, csm)

    response = signed_in(customer_admin).get(reverse("decide-expansion-scope", args=[scope.pk]))

    assert response.status_code == 405


@pytest.mark.parametrize("customers", [1, 3])
def test_the_dashboards_queries_do_not_grow_with_packages_entries_or_requests(
    catalog, csm, customers, django_assert_max_num_queries
):
    admin = MembershipFactory(role=Membership.Role.ADMIN).user
    for number in range(customers):
        organization = OrganizationFactory()
        organization.csms.add(csm)
        Membership.objects.create(user=admin, organization=organization, role=Membership.Role.ADMIN)
        line = LineOfBusinessFactory(organization=organization)
        contract = contract_create(
            organization=organization,
            term_start=date(2026, 1, 1),
            overage_rate="150.00",
            subscriptions=[SubscriptionSpec("premier", [line]), SubscriptionSpec("expert", [line])],
            reference=f"Q-{number}",
        )
        for subscription in contract.subscriptions.all():
            log_days(subscription, csm, date(2026, 10, 5), 3, hours="5")
            scope_for(subscription, csm)
            expense_for(subscription, csm)

    for viewer in (admin, csm):
        client = signed_in(viewer)
        with django_assert_max_num_queries(10):
            page = text_of(client.get(reverse("home")))
        assert page.count("15 of 113 hours used") == customers
        assert page.count("Expansion scope: Wholesale messaging") == 2 * customers
