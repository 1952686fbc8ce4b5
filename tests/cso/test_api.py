"""The CSO API: the catalog for every signed-in user, contracts only for those who may see them."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import time_machine
from rest_framework.test import APIClient

from cso.models import Deliverable, Entitlement, ExpansionPack, ExpansionUse, Program, Severity
from cso.services.contracts import SubscriptionSpec, contract_create, overage_rate_set
from tests.factories import (
    CsmFactory,
    FinanceFactory,
    LineOfBusinessFactory,
    MembershipFactory,
    OrganizationFactory,
    PackageFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def client():
    return APIClient()


@pytest.fixture
def customer_client(client, northwind):
    client.force_authenticate(MembershipFactory(organization=northwind).user)
    return client


@pytest.fixture
def qbr():
    return Deliverable.objects.create(
        code="quarterly_business_review",
        name="Quarterly Business Review",
        category=Deliverable.Category.PERFORMANCE_MANAGEMENT,
        source_table=2,
        rank=1,
        is_review=True,
    )


@pytest.fixture
def health_check():
    return Deliverable.objects.create(
        code="solution_health_check",
        name="Solution Health Check",
        category=Deliverable.Category.SOLUTIONS_ENGINEERING,
        source_table=4,
        rank=1,
    )


@pytest.fixture
def expert(qbr, health_check):
    package = PackageFactory(
        code="expert", rank=4, quarterly_hours=Decimal("246"), annual_hours=Decimal("985")
    )
    Entitlement.objects.create(
        package=package,
        deliverable=qbr,
        kind="frequency",
        frequency="up_to_n_per_year",
        max_per_year=4,
    )
    Entitlement.objects.create(
        package=package,
        deliverable=health_check,
        kind="hour_allowance",
        hours=Decimal("24"),
        note="Scheduled with the customer.",
    )
    ExpansionPack.objects.create(
        package=package, level="intermediate", deployments=2, hours=Decimal("60")
    )
    return package


@pytest.fixture
def premier(qbr):
    package = PackageFactory(
        code="premier", rank=3, quarterly_hours=Decimal("123.5"), annual_hours=Decimal("494")
    )
    Entitlement.objects.create(
        package=package, deliverable=qbr, kind="frequency", frequency="semi_annual"
    )
    return package


@pytest.fixture
def northwind():
    organization = OrganizationFactory(name="Northwind", slug="northwind")
    LineOfBusinessFactory(organization=organization, name="Retail")
    LineOfBusinessFactory(organization=organization, name="Wholesale")
    return organization


@pytest.fixture
def contoso():
    organization = OrganizationFactory(name="Contoso", slug="contoso")
    LineOfBusinessFactory(organization=organization, name="Banking")
    return organization


def sign(organization, package="expert", term_start=date(2026, 1, 1), rate="175.00", **extra):
    return contract_create(
        organization=organization,
        term_start=term_start,
        overage_rate=Decimal(rate),
        subscriptions=[SubscriptionSpec(package, list(organization.lines_of_business.all()))],
        **extra,
    )


def references(response):
    assert response.status_code == 200, response.content
    return [item["reference"] for item in response.json()["results"]]


# --- Catalog ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/api/v1/catalog/packages/", "/api/v1/contracts/", "/api/v1/catalog/severities/"]
)
def test_anonymous_requests_are_refused(client, path):
    response = client.get(path)

    assert response.status_code in (401, 403)
    assert response.json() == {"detail": "Authentication credentials were not provided."}


def test_package_shows_hours_entitlements_and_expansion_pack(customer_client, expert):
    response = customer_client.get("/api/v1/catalog/packages/expert/")

    assert response.status_code == 200
    assert response.json() == {
        "code": "expert",
        "name": "Expert",
        "rank": 4,
        "quarterly_hours": "246.00",
        "annual_hours": "985.00",
        "catalog_version": "test",
        "entitlements": [
            {
                "deliverable": {
                    "code": "quarterly_business_review",
                    "name": "Quarterly Business Review",
                    "category": "performance_management",
                    "source_table": 2,
                },
                "kind": "frequency",
                "frequency": "up_to_n_per_year",
                "max_per_year": 4,
                "hours": None,
                "within_package_hours": True,
                "description": "Up to 4x per year",
                "note": "",
            },
            {
                "deliverable": {
                    "code": "solution_health_check",
                    "name": "Solution Health Check",
                    "category": "solutions_engineering",
                    "source_table": 4,
                },
                "kind": "hour_allowance",
                "frequency": "",
                "max_per_year": None,
                "hours": "24.00",
                "within_package_hours": True,
                "description": "24 hours per year",
                "note": "Scheduled with the customer.",
            },
        ],
        "expansion_pack": {
            "level": "intermediate",
            "deployments": 2,
            "hours": "60.00",
            "within_package_hours": True,
        },
    }


def test_packages_list_smallest_first_and_unknown_code_is_404(customer_client, expert, premier):
    response = customer_client.get("/api/v1/catalog/packages/")

    packages = response.json()["results"]
    assert [(p["code"], p["quarterly_hours"]) for p in packages] == [
        ("premier", "123.50"),
        ("expert", "246.00"),
    ]
    assert packages[0]["expansion_pack"] is None
    assert customer_client.get("/api/v1/catalog/packages/platinum/").status_code == 404


def test_package_list_query_count_does_not_grow_with_packages(
    customer_client, expert, premier, django_assert_max_num_queries
):
    # count, packages with version and pack, entitlements with deliverables
    with django_assert_max_num_queries(3):
        assert len(customer_client.get("/api/v1/catalog/packages/").json()["results"]) == 2


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ["quarterly_business_review", "solution_health_check"]),
        ("?category=solutions_engineering", ["solution_health_check"]),
        ("?source_table=2", ["quarterly_business_review"]),
        ("?is_review=true", ["quarterly_business_review"]),
        ("?is_review=false&source_table=2", []),
    ],
)
def test_deliverables_filter(customer_client, qbr, health_check, query, expected):
    response = customer_client.get(f"/api/v1/catalog/deliverables/{query}")

    assert [d["code"] for d in response.json()["results"]] == expected


def test_deliverable_filter_names_an_unknown_category(customer_client, qbr):
    response = customer_client.get("/api/v1/catalog/deliverables/?category=marketing")

    assert response.status_code == 400
    assert response.json() == {
        "category": ["Select a valid choice. marketing is not one of the available choices."]
    }


def test_programs_severities_and_expansion_uses_are_listed(customer_client):
    program = Program.objects.create(code="adoption", name="Adoption", rank=1)
    Deliverable.objects.create(
        code="adoption_review",
        name="Adoption review",
        category="training",
        source_table=10,
        program=program,
    )
    Severity.objects.create(code="S1", rank=1, definition="Production down.")
    ExpansionUse.objects.create(code="new_site", description="Deploy a new site", allowed=True)
    ExpansionUse.objects.create(code="bug_fixes", description="Fix product bugs", allowed=False)

    programs = customer_client.get("/api/v1/catalog/programs/").json()["results"]
    severities = customer_client.get("/api/v1/catalog/severities/").json()["results"]
    uses = customer_client.get("/api/v1/catalog/expansion-uses/").json()["results"]
    deliverable = customer_client.get("/api/v1/catalog/deliverables/adoption_review/").json()

    assert programs == [{"code": "adoption", "name": "Adoption", "description": "", "rank": 1}]
    assert severities == [{"code": "S1", "rank": 1, "definition": "Production down."}]
    assert [(u["code"], u["allowed"]) for u in uses] == [("new_site", True), ("bug_fixes", False)]
    assert deliverable["program"] == "adoption"


def test_catalog_is_read_only_even_for_csms(client, expert):
    client.force_authenticate(CsmFactory())

    response = client.delete("/api/v1/catalog/packages/expert/")

    assert response.status_code == 405


# --- Contracts ----------------------------------------------------------------------------------


@time_machine.travel(datetime(2026, 5, 1, 12, tzinfo=UTC), tick=False)
def test_contract_shows_packages_as_signed_and_overage_rates(customer_client, northwind, expert):
    # Given a signed contract whose catalog package later changes
    contract = sign(northwind, reference="NW-2026")
    expert.entitlements.filter(deliverable__code="quarterly_business_review").update(max_per_year=2)
    overage_rate_set(
        contract=contract,
        hourly_rate=Decimal("190.00"),
        effective_from=date(2026, 4, 1),
        agreement_reference="Letter of 20 March 2026",
    )

    # When the customer reads it
    response = customer_client.get(f"/api/v1/contracts/{contract.pk}/")

    # Then it shows the terms as signed, both rates and the one in force today
    assert response.status_code == 200
    body = response.json()
    subscription = contract.subscriptions.get()
    assert {key: body[key] for key in ("reference", "term_start", "term_end", "currency")} == {
        "reference": "NW-2026",
        "term_start": "2026-01-01",
        "term_end": "2026-12-31",
        "currency": "USD",
    }
    assert body["organization"] == {"id": northwind.pk, "name": "Northwind", "slug": "northwind"}
    [signed] = body["subscriptions"]
    assert signed["id"] == subscription.pk
    assert signed["package"] == {"code": "expert", "name": "Expert"}
    assert [line["name"] for line in signed["lines_of_business"]] == ["Retail", "Wholesale"]
    assert (signed["quarterly_hours"], signed["annual_hours"]) == ("246.00", "985.00")
    assert signed["catalog_version"] == "test"
    assert [e["description"] for e in signed["entitlements"]] == [
        "Up to 4x per year",
        "24 hours per year",
    ]
    assert signed["expansion_pack"] == {
        "level": "intermediate",
        "deployments": 2,
        "hours": "60.00",
    }
    assert body["overage_rates"] == [
        {
            "effective_from": "2026-01-01",
            "hourly_rate": "175.00",
            "currency": "USD",
            "agreement_reference": "",
        },
        {
            "effective_from": "2026-04-01",
            "hourly_rate": "190.00",
            "currency": "USD",
            "agreement_reference": "Letter of 20 March 2026",
        },
    ]
    assert body["current_overage_rate"]["hourly_rate"] == "190.00"


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (date(2025, 12, 1), "175.00"),  # not started yet: its first rate
        (date(2026, 3, 31), "175.00"),
        (date(2026, 4, 1), "190.00"),
        (date(2027, 6, 1), "190.00"),  # ended: its last rate
    ],
)
def test_current_overage_rate_follows_the_day(customer_client, northwind, expert, today, expected):
    contract = sign(northwind)
    overage_rate_set(contract=contract, hourly_rate="190.00", effective_from=date(2026, 4, 1))

    with time_machine.travel(datetime.combine(today, datetime.min.time()), tick=False):
        response = customer_client.get(f"/api/v1/contracts/{contract.pk}/")

    assert response.json()["current_overage_rate"]["hourly_rate"] == expected


def test_customer_sees_only_own_contracts(customer_client, northwind, contoso, expert):
    sign(northwind, reference="NW-2026")
    sign(contoso, reference="CO-2026")

    assert references(customer_client.get("/api/v1/contracts/")) == ["NW-2026"]


def test_customer_gets_404_not_403_for_another_customers_contract(
    customer_client, northwind, contoso, expert
):
    theirs = sign(contoso)

    response = customer_client.get(f"/api/v1/contracts/{theirs.pk}/")

    assert response.status_code == 404
    assert response.json() == {"detail": "No Contract matches the given query."}


def test_customer_without_membership_sees_no_contracts(client, northwind, expert):
    sign(northwind)
    client.force_authenticate(UserFactory())

    assert references(client.get("/api/v1/contracts/")) == []


@pytest.mark.parametrize("staff_factory", [CsmFactory, FinanceFactory])
def test_staff_see_every_contract(client, northwind, contoso, expert, staff_factory):
    sign(northwind, reference="NW-2026")
    contoso_contract = sign(contoso, reference="CO-2026")
    client.force_authenticate(staff_factory())

    assert references(client.get("/api/v1/contracts/")) == ["CO-2026", "NW-2026"]
    assert client.get(f"/api/v1/contracts/{contoso_contract.pk}/").status_code == 200


def test_finance_cannot_change_a_contract(client, northwind, expert):
    contract = sign(northwind)
    client.force_authenticate(FinanceFactory())

    response = client.patch(f"/api/v1/contracts/{contract.pk}/", {"notes": "x"}, format="json")

    assert response.status_code == 403


def test_contracts_filter_by_organization_active_day_and_package(
    client, northwind, contoso, expert, premier
):
    # Given two Northwind terms and a Contoso contract for another package
    first = sign(northwind, reference="NW-2026")
    sign(
        northwind,
        reference="NW-2027",
        term_start=date(2027, 1, 1),
        previous_term=first,
    )
    sign(contoso, package="premier", reference="CO-2026")
    client.force_authenticate(CsmFactory())

    def filtered(query):
        return references(client.get(f"/api/v1/contracts/?{query}"))

    # Then each filter narrows the list, and they combine
    assert filtered(f"organization={northwind.pk}") == ["NW-2027", "NW-2026"]
    assert filtered("active_on=2027-03-01") == ["NW-2027"]
    assert filtered("active_on=2026-12-31") == ["CO-2026", "NW-2026"]
    assert filtered("active_on=2028-01-01") == []
    assert filtered("package=premier") == ["CO-2026"]
    assert filtered(f"package=expert&active_on=2026-06-01&organization={northwind.pk}") == [
        "NW-2026"
    ]


def test_contract_with_a_package_bought_twice_is_listed_once(client, northwind, expert):
    retail, wholesale = northwind.lines_of_business.all()
    contract_create(
        organization=northwind,
        term_start=date(2026, 1, 1),
        overage_rate=Decimal("175"),
        subscriptions=[
            SubscriptionSpec("expert", [retail]),
            SubscriptionSpec("expert", [wholesale]),
        ],
        reference="NW-2026",
    )
    client.force_authenticate(CsmFactory())

    response = client.get("/api/v1/contracts/?package=expert")

    assert references(response) == ["NW-2026"]
    assert len(response.json()["results"][0]["subscriptions"]) == 2


def test_customer_cannot_filter_by_another_customers_organization(customer_client, contoso, expert):
    sign(contoso)

    response = customer_client.get(f"/api/v1/contracts/?organization={contoso.pk}")

    assert response.status_code == 400
    assert response.json() == {
        "organization": ["Select a valid choice. That choice is not one of the available choices."]
    }


def test_bad_active_on_date_is_named(customer_client):
    response = customer_client.get("/api/v1/contracts/?active_on=31/12/2026")

    assert response.status_code == 400
    assert response.json() == {"active_on": ["Enter a valid date."]}


def test_contract_list_query_count_does_not_grow_with_contracts(
    client, expert, premier, django_assert_max_num_queries
):
    def sign_customer(n):
        organization = OrganizationFactory()
        LineOfBusinessFactory(organization=organization)
        LineOfBusinessFactory(organization=organization)
        retail, wholesale = organization.lines_of_business.all()
        contract = contract_create(
            organization=organization,
            term_start=date(2026, 1, 1),
            overage_rate=Decimal("175"),
            subscriptions=[
                SubscriptionSpec("expert", [retail]),
                SubscriptionSpec("premier", [wholesale]),
            ],
        )
        overage_rate_set(contract=contract, hourly_rate="180", effective_from=date(2026, 7, 1))

    sign_customer(0)
    client.force_authenticate(FinanceFactory())
    # count, contracts with organizations, overage rates, subscriptions with packages and packs,
    # lines of business, entitlements with deliverables
    with django_assert_max_num_queries(6):
        assert len(client.get("/api/v1/contracts/").json()["results"]) == 1
    for n in range(1, 10):
        sign_customer(n)
    with django_assert_max_num_queries(6):
        assert len(client.get("/api/v1/contracts/").json()["results"]) == 10
