"""The accounts admin: customers, their lines of business and people, as each role sees them."""

from datetime import date
from html import escape

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from accounts.models import Membership, Organization, User, validate_time_zone
from cso.services.contracts import SubscriptionSpec, contract_create
from tests.admin_forms import formset
from tests.factories import (
    CsmFactory,
    LineOfBusinessFactory,
    MembershipFactory,
    OrganizationFactory,
    PackageFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

ORGANIZATIONS = reverse("admin:accounts_organization_changelist")
ADD_ORGANIZATION = reverse("admin:accounts_organization_add")
USERS = reverse("admin:accounts_user_changelist")
ADD_USER = reverse("admin:accounts_user_add")


@pytest.fixture
def colleague():
    return CsmFactory(email="robin@vendor.example")


@pytest.fixture
def acme(csm):
    organization = OrganizationFactory(name="Acme", slug="acme")
    organization.csms.add(csm)
    return organization


@pytest.fixture
def globex(colleague):
    organization = OrganizationFactory(name="Globex", slug="globex")
    organization.csms.add(colleague)
    return organization


@pytest.fixture
def acme_member(acme):
    return MembershipFactory(organization=acme, user__email="ann@acme.example").user


@pytest.fixture
def globex_member(globex):
    return MembershipFactory(organization=globex, user__email="gus@globex.example").user


def organization_post(organization=None, *, name="Initech", slug="initech", csms=(), lines=()):
    """The organization form as the admin page posts it; `lines` are existing rows as dicts."""
    return {
        "name": name,
        "slug": slug,
        "time_zone": "Europe/Paris",
        "csms": [csm.pk for csm in csms],
        "review_reminder_days": 7,
        "review_reminder_last_days": 1,
        **formset("lines_of_business", list(lines), initial=len(lines)),
        **formset("memberships", []),
        "_save": "Save",
    }


def user_post(person, *, memberships=(), **changes) -> dict:
    data = {
        "email": person.email,
        "first_name": person.first_name,
        "last_name": person.last_name,
        "role": person.role,
        "is_active": "on",
        **formset("memberships", [], initial=0),
        "_save": "Save",
    }
    existing = [
        {"id": m.pk, "user": person.pk, "organization": m.organization_id, "role": m.role}
        for m in person.memberships.all()
    ]
    data.update(formset("memberships", existing + list(memberships), initial=len(existing)))
    data.update(changes)
    return data


# Pages render for every staff role ----------------------------------------------------------


@pytest.mark.parametrize("role", ["csm", "finance", "superuser"])
def test_lists_and_change_pages_render_for_every_staff_role(
    client, request, role, acme, acme_member
):
    client.force_login(request.getfixturevalue(role))

    pages = [
        ORGANIZATIONS,
        USERS,
        reverse("admin:accounts_organization_change", args=[acme.pk]),
        reverse("admin:accounts_user_change", args=[acme_member.pk]),
    ]

    for page in pages:
        assert client.get(page).status_code == 200, page


# Organizations ---------------------------------------------------------------------------------


def test_a_csm_who_adds_a_customer_is_assigned_to_it(client, csm, colleague):
    # Given a CSM on the add page, naming a colleague as the other CSM
    client.force_login(csm)

    # When they save the new customer
    response = client.post(ADD_ORGANIZATION, organization_post(csms=[colleague]))

    # Then both look after it, and the adding CSM may go on editing it
    assert response.status_code == 302
    initech = Organization.objects.get(slug="initech")
    assert set(initech.csms.all()) == {csm, colleague}
    change = client.get(reverse("admin:accounts_organization_change", args=[initech.pk]))
    assert change.context["has_change_permission"] is True


def test_a_superuser_who_adds_a_customer_is_not_assigned_to_it(client, superuser):
    client.force_login(superuser)

    client.post(ADD_ORGANIZATION, organization_post())

    assert not Organization.objects.get(slug="initech").csms.exists()


def test_a_csm_views_but_cannot_change_a_colleagues_customer(client, csm, globex):
    client.force_login(csm)
    url = reverse("admin:accounts_organization_change", args=[globex.pk])

    page = client.get(url)
    response = client.post(url, organization_post(name="Mine now", slug="globex"))

    assert page.status_code == 200
    assert page.context["has_change_permission"] is False
    assert response.status_code == 403
    globex.refresh_from_db()
    assert globex.name == "Globex"


def test_a_csm_changes_their_own_customer(client, csm, acme):
    client.force_login(csm)

    response = client.post(
        reverse("admin:accounts_organization_change", args=[acme.pk]),
        organization_post(name="Acme Corp", slug="acme", csms=[csm]),
    )

    assert response.status_code == 302
    acme.refresh_from_db()
    assert acme.name == "Acme Corp"


def test_finance_cannot_add_or_change_customers(client, finance, acme):
    client.force_login(finance)

    add = client.post(ADD_ORGANIZATION, organization_post())
    change = client.post(
        reverse("admin:accounts_organization_change", args=[acme.pk]),
        organization_post(name="Changed", slug="acme"),
    )

    assert (add.status_code, change.status_code) == (403, 403)
    assert list(Organization.objects.values_list("name", flat=True)) == ["Acme"]


def test_organization_list_counts_contracts_and_filters_by_my_customers(client, csm, acme, globex):
    # Given a contract for Acme
    line = LineOfBusinessFactory(organization=acme)
    contract_create(
        organization=acme,
        term_start=date(2026, 1, 1),
        overage_rate="150",
        subscriptions=[SubscriptionSpec(package=PackageFactory(), lines_of_business=[line])],
    )
    client.force_login(csm)

    # When the CSM lists their own customers
    everyone = client.get(ORGANIZATIONS)
    mine = client.get(ORGANIZATIONS, {"csm": "me"})

    # Then they see Acme with its one contract, and Globex only in the full list
    assert [o.name for o in everyone.context["cl"].result_list] == ["Acme", "Globex"]
    assert [(o.name, o.contracts_count) for o in mine.context["cl"].result_list] == [("Acme", 1)]


def test_a_line_of_business_covered_by_a_contract_cannot_be_removed(client, csm, acme):
    # Given Acme's Sales line, covered by a signed contract
    sales = LineOfBusinessFactory(organization=acme, name="Sales")
    contract_create(
        organization=acme,
        reference="ACME-2026",
        term_start=date(2026, 1, 1),
        overage_rate="150",
        subscriptions=[SubscriptionSpec(package=PackageFactory(), lines_of_business=[sales])],
    )
    client.force_login(csm)

    # When the CSM deletes the line on the customer's page
    response = client.post(
        reverse("admin:accounts_organization_change", args=[acme.pk]),
        organization_post(
            name="Acme",
            slug="acme",
            csms=[csm],
            lines=[{"id": sales.pk, "organization": acme.pk, "name": "Sales", "DELETE": "on"}],
        ),
    )

    # Then the page says why, and the line stays
    assert response.status_code == 200
    assert (
        escape(
            "Sales is covered by contract ACME-2026; take it off the contract before removing it."
        )
        in response.content.decode()
    )
    assert acme.lines_of_business.filter(pk=sales.pk).exists()


# Users ---------------------------------------------------------------------------------------


def test_a_csm_adds_a_customer_user_with_a_password(client, csm):
    client.force_login(csm)

    response = client.post(
        ADD_USER,
        {
            "email": "new@acme.example",
            "first_name": "Noa",
            "last_name": "Ng",
            "role": "customer",
            "password1": "a-long-secret-91",
            "password2": "a-long-secret-91",
            "_save": "Save",
        },
    )

    assert response.status_code == 302
    person = User.objects.get(email="new@acme.example")
    assert (person.role, person.is_staff) == ("customer", False)
    assert person.check_password("a-long-secret-91")


def test_a_csm_cannot_make_staff_but_a_superuser_can(client, csm, superuser):
    data = {
        "email": "staff@vendor.example",
        "role": "csm",
        "password1": "a-long-secret-91",
        "password2": "a-long-secret-91",
        "_save": "Save",
    }

    client.force_login(csm)
    refused = client.post(ADD_USER, data)
    client.force_login(superuser)
    accepted = client.post(ADD_USER, data)

    assert refused.status_code == 200
    assert "Select a valid choice. csm is not one of the available choices." in (
        refused.content.decode()
    )
    assert accepted.status_code == 302
    assert User.objects.get(email="staff@vendor.example").is_staff is True


def test_a_csm_changes_their_customers_people_only(
    client, csm, acme_member, globex_member, colleague
):
    client.force_login(csm)

    own = client.post(
        reverse("admin:accounts_user_change", args=[acme_member.pk]),
        user_post(acme_member, first_name="Annabel"),
    )
    other = client.post(
        reverse("admin:accounts_user_change", args=[globex_member.pk]),
        user_post(globex_member, first_name="Changed"),
    )
    staff = client.post(
        reverse("admin:accounts_user_change", args=[colleague.pk]),
        user_post(colleague, first_name="Changed"),
    )

    assert (own.status_code, other.status_code, staff.status_code) == (302, 403, 403)
    assert User.objects.get(pk=acme_member.pk).first_name == "Annabel"
    assert User.objects.get(pk=globex_member.pk).first_name == "Pat"


def test_a_csm_adds_memberships_only_at_their_own_customers(client, csm, acme, globex):
    person = UserFactory(email="new@example.com")
    client.force_login(csm)
    url = reverse("admin:accounts_user_change", args=[person.pk])

    own = client.post(
        url, user_post(person, memberships=[{"organization": acme.pk, "role": "admin"}])
    )
    other = client.post(
        url, user_post(person, memberships=[{"organization": globex.pk, "role": "admin"}])
    )

    assert own.status_code == 302
    assert other.status_code == 200
    assert list(Membership.objects.values_list("organization__name", "role")) == [("Acme", "admin")]


def test_role_decides_staff_status_when_a_superuser_changes_it(client, superuser, acme_member):
    client.force_login(superuser)

    response = client.post(
        reverse("admin:accounts_user_change", args=[acme_member.pk]),
        user_post(acme_member, role="finance"),
    )

    assert response.status_code == 302
    acme_member.refresh_from_db()
    assert (acme_member.role, acme_member.is_staff) == ("finance", True)


def test_user_list_filters_by_role_and_searches_by_name(client, csm, finance, acme_member):
    client.force_login(csm)

    staff = client.get(USERS, {"role__exact": "finance"})
    found = client.get(USERS, {"q": "casey"})

    assert [u.email for u in staff.context["cl"].result_list] == ["fin@vendor.example"]
    assert [u.email for u in found.context["cl"].result_list] == ["casey@vendor.example"]


def test_an_unknown_time_zone_is_refused_with_its_name():
    validate_time_zone("Europe/Berlin")
    with pytest.raises(ValidationError, match="'Mars/Olympus' is not a time zone name"):
        validate_time_zone("Mars/Olympus")
