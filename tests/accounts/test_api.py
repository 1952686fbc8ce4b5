"""The accounts API: who sees which customers, who you are, and API tokens."""

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from accounts.models import Membership
from tests.factories import (
    CsmFactory,
    FinanceFactory,
    LineOfBusinessFactory,
    MembershipFactory,
    OrganizationFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def client():
    return APIClient()


@pytest.fixture
def northwind():
    organization = OrganizationFactory(name="Northwind", slug="northwind")
    LineOfBusinessFactory(organization=organization, name="Retail")
    csm = CsmFactory(email="casey@vendor.example", first_name="Casey", last_name="Moreno")
    organization.csms.add(csm)
    return organization


@pytest.fixture
def contoso():
    return OrganizationFactory(name="Contoso", slug="contoso")


def member_of(organization, role=Membership.Role.MEMBER, **user_fields):
    fields = {f"user__{name}": value for name, value in user_fields.items()}
    return MembershipFactory(organization=organization, role=role, **fields).user


def names(response):
    return [item["name"] for item in response.json()["results"]]


@pytest.mark.parametrize("path", ["/api/v1/organizations/", "/api/v1/me/", "/api/v1/"])
def test_anonymous_requests_are_refused(client, northwind, path):
    response = client.get(path)

    assert response.status_code in (401, 403)
    assert response.json() == {"detail": "Authentication credentials were not provided."}


def test_customer_sees_only_own_organization(client, northwind, contoso):
    # Given a customer admin of Northwind
    user = member_of(northwind, role=Membership.Role.ADMIN)
    client.force_authenticate(user)

    # When they list organizations
    response = client.get("/api/v1/organizations/")

    # Then only Northwind is there, with its lines, CSM and their own role
    assert response.status_code == 200
    assert response.json()["results"] == [
        {
            "id": northwind.pk,
            "name": "Northwind",
            "slug": "northwind",
            "time_zone": "UTC",
            "lines_of_business": [{"id": northwind.lines_of_business.get().pk, "name": "Retail"}],
            "csms": [{"name": "Casey Moreno", "email": "casey@vendor.example"}],
            "membership_role": "admin",
        }
    ]


def test_customer_gets_404_for_another_customers_organization(client, northwind, contoso):
    client.force_authenticate(member_of(northwind))

    response = client.get(f"/api/v1/organizations/{contoso.pk}/")

    assert response.status_code == 404


def test_member_of_two_organizations_sees_both_once(client, northwind, contoso):
    user = member_of(northwind)
    MembershipFactory(user=user, organization=contoso, role=Membership.Role.ADMIN)
    OrganizationFactory(name="Fabrikam")
    client.force_authenticate(user)

    response = client.get("/api/v1/organizations/")

    roles = {item["name"]: item["membership_role"] for item in response.json()["results"]}
    assert roles == {"Contoso": "admin", "Northwind": "member"}


@pytest.mark.parametrize("staff_factory", [CsmFactory, FinanceFactory])
def test_staff_see_every_organization_without_a_membership_role(
    client, northwind, contoso, staff_factory
):
    client.force_authenticate(staff_factory())

    response = client.get("/api/v1/organizations/")

    assert names(response) == ["Contoso", "Northwind"]
    assert {item["membership_role"] for item in response.json()["results"]} == {None}
    assert client.get(f"/api/v1/organizations/{contoso.pk}/").status_code == 200


def test_superuser_with_customer_role_sees_every_organization(client, northwind, contoso):
    client.force_authenticate(UserFactory(is_superuser=True))

    assert names(client.get("/api/v1/organizations/")) == ["Contoso", "Northwind"]


def test_finance_cannot_write_even_where_reading_is_allowed(client, northwind):
    client.force_authenticate(FinanceFactory())

    response = client.post("/api/v1/organizations/", {"name": "New"}, format="json")

    assert response.status_code == 403
    assert response.json() == {"detail": "Finance can read customer data but not change it."}


def test_organization_list_query_count_does_not_grow_with_organizations(
    client, django_assert_max_num_queries
):
    def make_customer():
        organization = OrganizationFactory()
        LineOfBusinessFactory(organization=organization)
        organization.csms.add(CsmFactory())
        MembershipFactory(organization=organization)

    make_customer()
    client.force_authenticate(FinanceFactory())
    # count, organizations, lines of business, CSMs, own memberships
    with django_assert_max_num_queries(5):
        assert len(client.get("/api/v1/organizations/").json()["results"]) == 1
    for _ in range(9):
        make_customer()
    with django_assert_max_num_queries(5):
        assert len(client.get("/api/v1/organizations/").json()["results"]) == 10


def test_signed_in_session_can_browse_the_api(northwind):
    # Given a customer signed in to the portal (session cookie, no token)
    browser = APIClient()
    browser.force_login(member_of(northwind))

    # When they open the API in a browser
    response = browser.get("/api/v1/organizations/", HTTP_ACCEPT="text/html")

    # Then the browsable API shows their organization
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert "Northwind" in response.content.decode()


def test_me_describes_the_signed_in_user(client, northwind, contoso):
    user = member_of(northwind, email="robin@northwind.example", first_name="Robin", last_name="Li")
    MembershipFactory(user=user, organization=contoso, role=Membership.Role.ADMIN)
    client.force_authenticate(user)

    response = client.get("/api/v1/me/")

    assert response.json() == {
        "id": user.pk,
        "email": "robin@northwind.example",
        "first_name": "Robin",
        "last_name": "Li",
        "name": "Robin Li",
        "role": "customer",
        "memberships": [
            {
                "organization": {"id": contoso.pk, "name": "Contoso", "slug": "contoso"},
                "role": "admin",
            },
            {
                "organization": {"id": northwind.pk, "name": "Northwind", "slug": "northwind"},
                "role": "member",
            },
        ],
    }


# --- Tokens -------------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _forget_throttling():
    """The token endpoint's rate limit counts in the cache; each test starts with none used."""
    cache.clear()
    yield
    cache.clear()


def test_token_from_email_and_password_signs_in_scripts(client, northwind):
    # Given a customer with a password
    member_of(northwind, email="robin@northwind.example")

    # When a script asks for a token (email in any case) and uses it
    response = client.post(
        "/api/v1/auth/token/",
        {"email": "Robin@Northwind.example", "password": "pass-word-123"},
        format="json",
    )
    token = response.json()["token"]
    script = APIClient()
    script.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    me = script.get("/api/v1/me/")

    # Then the script reads as that customer, and asking again gives the same token
    assert response.status_code == 200
    assert me.status_code == 200
    assert me.json()["email"] == "robin@northwind.example"
    assert names(script.get("/api/v1/organizations/")) == ["Northwind"]
    again = client.post(
        "/api/v1/auth/token/",
        {"email": "robin@northwind.example", "password": "pass-word-123"},
        format="json",
    )
    assert again.json() == {"token": token}


def test_token_refused_for_a_wrong_password(client, northwind):
    member_of(northwind, email="robin@northwind.example")

    response = client.post(
        "/api/v1/auth/token/",
        {"email": "robin@northwind.example", "password": "guess"},
        format="json",
    )

    assert response.status_code == 400
    assert response.json() == {
        "non_field_errors": ["No active portal user has that email address and password."]
    }


def test_token_refused_for_a_deactivated_user(client, northwind):
    member_of(northwind, email="gone@northwind.example", is_active=False)

    response = client.post(
        "/api/v1/auth/token/",
        {"email": "gone@northwind.example", "password": "pass-word-123"},
        format="json",
    )

    assert response.status_code == 400


def test_token_request_names_missing_fields(client):
    response = client.post("/api/v1/auth/token/", {}, format="json")

    assert response.status_code == 400
    assert response.json() == {
        "email": ["This field is required."],
        "password": ["This field is required."],
    }


def test_invalid_token_is_refused(client, northwind):
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")

    response = client.get("/api/v1/me/")

    assert response.status_code in (401, 403)
    assert response.json() == {"detail": "Invalid token."}


def test_token_endpoint_slows_down_password_guessing(client, northwind):
    member_of(northwind, email="robin@northwind.example")
    guess = {"email": "robin@northwind.example", "password": "guess"}

    statuses = [
        client.post("/api/v1/auth/token/", guess, format="json").status_code for _ in range(11)
    ]

    assert statuses == [400] * 10 + [429]
