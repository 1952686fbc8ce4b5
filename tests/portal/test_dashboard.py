from datetime import date
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse

from cso.models import Deliverable, Entitlement
from cso.services.contracts import SubscriptionSpec, contract_create
from tests.factories import (
    CsmFactory,
    LineOfBusinessFactory,
    MembershipFactory,
    OrganizationFactory,
    PackageFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_customers():
    package = PackageFactory(code="premier", name="Premier", quarterly_hours=113, annual_hours=455)
    deliverable = Deliverable.objects.create(
        code="customer_account_plan",
        name="Customer Account Plan",
        category=Deliverable.Category.PERFORMANCE_MANAGEMENT,
        source_table=2,
    )
    Entitlement.objects.create(
        package=package, deliverable=deliverable, kind="frequency", frequency="twice_monthly"
    )
    customers = []
    for name in ("Northwind Traders", "Contoso Bank"):
        organization = OrganizationFactory(name=name)
        line = LineOfBusinessFactory(organization=organization, name="Retail")
        contract_create(
            organization=organization,
            term_start=date(2026, 3, 15),
            overage_rate=Decimal("175"),
            subscriptions=[SubscriptionSpec("premier", [line])],
        )
        customers.append(organization)
    return customers


@time_machine.travel("2026-11-23 10:00Z", tick=False)
def test_a_customer_sees_only_its_own_packages(client, two_customers):
    northwind, _ = two_customers
    member = MembershipFactory(organization=northwind).user
    client.force_login(member)

    page = client.get(reverse("home")).content.decode()

    assert "Northwind Traders" in page and "Contoso Bank" not in page
    assert "Premier package" in page
    assert "Q3: 15 Sep to 14 Dec 2026" in page
    assert "Customer Account Plan" in page and "Twice monthly" in page
    assert "175.00 USD per hour" in page


@time_machine.travel("2026-11-23 10:00Z", tick=False)
def test_staff_see_every_customer(client, two_customers):
    client.force_login(CsmFactory())

    page = client.get(reverse("home")).content.decode()

    assert "Northwind Traders" in page and "Contoso Bank" in page


def test_a_customer_without_a_contract_in_force_is_told_so(client, two_customers):
    client.force_login(UserFactory())

    page = client.get(reverse("home")).content.decode()

    assert "No package is in force for your organization today." in page


def test_signed_out_visitors_are_sent_to_sign_in(client):
    response = client.get(reverse("home"))

    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_sign_in_page_renders_in_the_portal_layout(client):
    page = client.get(reverse("account_login")).content.decode()

    assert "Customer Success Portal" in page and 'name="login"' in page


@time_machine.travel("2026-11-23 10:00Z", tick=False)
def test_dashboard_queries_do_not_grow_with_packages(
    client, two_customers, django_assert_max_num_queries
):
    client.force_login(CsmFactory())

    with django_assert_max_num_queries(12):
        client.get(reverse("home"))
