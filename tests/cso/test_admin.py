"""The CSO admin as CSMs, finance and superusers use it: catalog, contracts, signed terms."""

import html
from datetime import date
from decimal import Decimal
from html import escape

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from cso.models import (
    CatalogVersion,
    Contract,
    Deliverable,
    Entitlement,
    ExpansionPack,
    OverageRate,
    Package,
    PackageSubscription,
    SubscriptionEntitlement,
)
from cso.services.contracts import SubscriptionSpec, contract_create
from tests.admin_forms import formset
from tests.factories import (
    CatalogVersionFactory,
    CsmFactory,
    LineOfBusinessFactory,
    OrganizationFactory,
    OverageRateFactory,
    PackageFactory,
    PackageSubscriptionFactory,
)

pytestmark = pytest.mark.django_db


# Given: people of each role, a CSM's own customer and a colleague's, and a package. ---------


@pytest.fixture
def acme(csm):
    organization = OrganizationFactory(name="Acme", slug="acme")
    organization.csms.add(csm)
    return organization


@pytest.fixture
def globex():
    """A customer assigned to another CSM."""
    organization = OrganizationFactory(name="Globex", slug="globex")
    organization.csms.add(CsmFactory())
    return organization


@pytest.fixture
def sales(acme):
    return LineOfBusinessFactory(organization=acme, name="Sales")


@pytest.fixture
def service(acme):
    return LineOfBusinessFactory(organization=acme, name="Service")


@pytest.fixture
def expert():
    """Expert with a review, an hour allowance and an expansion pack."""
    package = PackageFactory(code="expert")
    review = Deliverable.objects.create(
        code="business-review",
        name="Business review",
        category=Deliverable.Category.PERFORMANCE_MANAGEMENT,
        source_table=2,
        is_review=True,
    )
    consulting = Deliverable.objects.create(
        code="consulting",
        name="Consulting",
        category=Deliverable.Category.OPERATIONAL_CONSULTING,
        source_table=3,
    )
    Entitlement.objects.create(
        package=package, deliverable=review, kind="frequency", frequency="quarterly"
    )
    Entitlement.objects.create(
        package=package, deliverable=consulting, kind="hour_allowance", hours=Decimal("40")
    )
    ExpansionPack.objects.create(package=package, level="basic", deployments=1, hours=Decimal("80"))
    return package


@pytest.fixture
def signed(acme, sales, expert):
    """Acme's 2026 contract, signed through the service."""
    return contract_create(
        organization=acme,
        reference="ACME-2026",
        term_start=date(2026, 1, 1),
        term_end=date(2026, 12, 31),
        overage_rate="150",
        subscriptions=[SubscriptionSpec(package=expert, lines_of_business=[sales])],
    )


@pytest.fixture
def globex_contract(globex, expert):
    line = LineOfBusinessFactory(organization=globex, name="Support")
    return contract_create(
        organization=globex,
        reference="GLOBEX-2026",
        term_start=date(2026, 1, 1),
        overage_rate="120",
        subscriptions=[SubscriptionSpec(package=expert, lines_of_business=[line])],
    )


def contract_post(
    organization,
    *,
    subscriptions,
    rates=None,
    reference="ACME-2026-ADMIN",
    term_start="2026-01-01",
    term_end="2026-12-31",
    currency="usd",
) -> dict:
    """The add form as the admin page posts it."""
    rates = rates if rates is not None else [{"effective_from": term_start, "hourly_rate": "150"}]
    return {
        "organization": organization.pk,
        "reference": reference,
        "term_start": term_start,
        "term_end": term_end,
        "currency": currency,
        "notes": "",
        **formset(
            "subscriptions",
            [
                {"package": package.pk, "lines_of_business": [line.pk for line in lines]}
                for package, lines in subscriptions
            ],
        ),
        **formset(
            "overage_rates",
            [{"agreement_reference": "", **rate} for rate in rates],
        ),
        "_save": "Save",
    }


def messages_of(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


ADD_CONTRACT = reverse("admin:cso_contract_add")
CONTRACTS = reverse("admin:cso_contract_changelist")


# Pages render for every staff role ----------------------------------------------------------


CHANGELISTS = [
    "admin:cso_contract_changelist",
    "admin:cso_packagesubscription_changelist",
    "admin:cso_catalogversion_changelist",
    "admin:cso_package_changelist",
    "admin:cso_deliverable_changelist",
    "admin:cso_program_changelist",
    "admin:cso_expansionuse_changelist",
    "admin:cso_severity_changelist",
]


@pytest.mark.parametrize("role", ["csm", "finance", "superuser"])
@pytest.mark.parametrize("url_name", CHANGELISTS)
def test_changelists_render_for_every_staff_role(client, request, role, url_name, signed):
    # Given a signed contract and a staff member signed in
    client.force_login(request.getfixturevalue(role))

    # When they open the list
    response = client.get(reverse(url_name))

    # Then it renders
    assert response.status_code == 200


@pytest.mark.parametrize("role", ["csm", "finance", "superuser"])
def test_change_pages_render_for_every_staff_role(client, request, role, signed, expert):
    client.force_login(request.getfixturevalue(role))
    subscription = signed.subscriptions.get()

    pages = [
        reverse("admin:cso_contract_change", args=[signed.pk]),
        reverse("admin:cso_packagesubscription_change", args=[subscription.pk]),
        reverse("admin:cso_package_change", args=[expert.pk]),
        reverse("admin:cso_catalogversion_change", args=[expert.catalog_version.pk]),
    ]

    for page in pages:
        assert client.get(page).status_code == 200, page


def test_csm_and_superuser_may_add_contracts_and_finance_may_not(client, csm, finance, superuser):
    for user, status in [(csm, 200), (superuser, 200), (finance, 403)]:
        client.force_login(user)
        assert client.get(ADD_CONTRACT).status_code == status, user.role


# Finance reads, changes nothing --------------------------------------------------------------


def test_finance_sees_a_contract_read_only_and_cannot_post_changes(client, finance, signed):
    client.force_login(finance)
    url = reverse("admin:cso_contract_change", args=[signed.pk])

    page = client.get(url)
    response = client.post(url, {"reference": "CHANGED", "_save": "Save"})

    assert page.status_code == 200
    assert page.context["has_change_permission"] is False
    assert response.status_code == 403
    signed.refresh_from_db()
    assert signed.reference == "ACME-2026"


def test_finance_cannot_add_a_contract(client, finance, acme, sales, expert):
    client.force_login(finance)

    response = client.post(ADD_CONTRACT, contract_post(acme, subscriptions=[(expert, [sales])]))

    assert response.status_code == 403
    assert not Contract.objects.exists()


# A CSM changes only the contracts of their own customers -------------------------------------


def test_csm_views_but_cannot_change_a_colleagues_customers_contract(client, csm, globex_contract):
    client.force_login(csm)
    url = reverse("admin:cso_contract_change", args=[globex_contract.pk])

    page = client.get(url)
    response = client.post(url, {"reference": "MINE-NOW", "_save": "Save"})

    assert page.status_code == 200
    assert page.context["has_change_permission"] is False
    assert page.context["has_delete_permission"] is False
    assert response.status_code == 403
    globex_contract.refresh_from_db()
    assert globex_contract.reference == "GLOBEX-2026"


def test_csm_cannot_delete_a_colleagues_customers_contract(client, csm, globex_contract):
    client.force_login(csm)

    response = client.post(reverse("admin:cso_contract_delete", args=[globex_contract.pk]))

    assert response.status_code == 403
    assert Contract.objects.filter(pk=globex_contract.pk).exists()


def test_csm_adds_contracts_only_for_their_own_customers(client, csm, acme, globex, expert):
    client.force_login(csm)
    line = LineOfBusinessFactory(organization=globex)

    response = client.post(ADD_CONTRACT, contract_post(globex, subscriptions=[(expert, [line])]))

    assert response.status_code == 200
    assert list(response.context["adminform"].form.fields["organization"].queryset) == [acme]
    assert not Contract.objects.exists()


def test_csm_changes_their_own_customers_contract(client, csm, signed):
    client.force_login(csm)
    subscription = signed.subscriptions.get()
    rate = signed.overage_rates.get()
    data = {
        "reference": "ACME-2026",
        "term_start": "2026-01-01",
        "term_end": "2026-12-31",
        "currency": "USD",
        "notes": "Renewal talks in October.",
        **formset(
            "subscriptions",
            [
                {
                    "id": subscription.pk,
                    "contract": signed.pk,
                    "lines_of_business": [line.pk for line in subscription.lines_of_business.all()],
                }
            ],
            initial=1,
        ),
        **formset(
            "overage_rates",
            [
                {
                    "id": rate.pk,
                    "contract": signed.pk,
                    "effective_from": "2026-01-01",
                    "hourly_rate": "150.00",
                    "agreement_reference": "",
                }
            ],
            initial=1,
        ),
        "_save": "Save",
    }

    response = client.post(reverse("admin:cso_contract_change", args=[signed.pk]), data)

    assert response.status_code == 302, response.context and response.context["errors"]
    signed.refresh_from_db()
    assert signed.notes == "Renewal talks in October."


# Signing a contract in the admin -------------------------------------------------------------


def test_adding_a_contract_signs_the_packages_current_terms(client, csm, acme, sales, expert):
    # Given a CSM on the add page of their customer's contract
    client.force_login(csm)

    # When they save a contract for Expert covering Sales at 150/h
    response = client.post(ADD_CONTRACT, contract_post(acme, subscriptions=[(expert, [sales])]))

    # Then the contract is signed by them, with Expert's hours and entitlements copied
    assert response.status_code == 302
    contract = Contract.objects.get()
    assert (contract.reference, contract.currency, contract.signed_by) == (
        "ACME-2026-ADMIN",
        "USD",
        csm,
    )
    subscription = contract.subscriptions.get()
    assert list(subscription.lines_of_business.all()) == [sales]
    assert (subscription.quarterly_hours, subscription.annual_hours) == (
        Decimal("246"),
        Decimal("985"),
    )
    assert subscription.catalog_version == "test"
    signed_terms = {
        (entitlement.deliverable.code, entitlement.describe())
        for entitlement in subscription.entitlements.select_related("deliverable")
    }
    assert signed_terms == {
        ("business-review", "Quarterly"),
        ("consulting", "40 hours per year"),
    }
    assert (subscription.expansion_pack.level, subscription.expansion_pack.hours) == (
        "basic",
        Decimal("80.00"),
    )
    assert contract.overage_rates.get().hourly_rate == Decimal("150")


def test_signed_terms_survive_a_later_catalog_edit(client, csm, signed, expert):
    # Given a signed contract, when the catalog's Expert hours change
    Entitlement.objects.filter(package=expert, kind="hour_allowance").update(hours=Decimal("99"))

    # Then the contract keeps the hours it signed, shown read-only on its subscription
    client.force_login(csm)
    subscription = signed.subscriptions.get()
    page = client.get(reverse("admin:cso_packagesubscription_change", args=[subscription.pk]))
    assert "40 hours per year" in page.content.decode()
    assert page.context["has_change_permission"] is False
    assert SubscriptionEntitlement.objects.get(
        subscription=subscription, deliverable__code="consulting"
    ).hours == Decimal("40")


def test_a_subscriptions_package_cannot_change_once_saved(client, csm, signed, expert):
    client.force_login(csm)
    premier = PackageFactory(code="premier", rank=5)
    subscription = signed.subscriptions.get()
    rate = signed.overage_rates.get()
    data = {
        "reference": "ACME-2026",
        "term_start": "2026-01-01",
        "term_end": "2026-12-31",
        "currency": "USD",
        "notes": "",
        **formset(
            "subscriptions",
            [
                {
                    "id": subscription.pk,
                    "contract": signed.pk,
                    "package": premier.pk,
                    "lines_of_business": [line.pk for line in subscription.lines_of_business.all()],
                }
            ],
            initial=1,
        ),
        **formset(
            "overage_rates",
            [
                {
                    "id": rate.pk,
                    "contract": signed.pk,
                    "effective_from": "2026-01-01",
                    "hourly_rate": "150.00",
                    "agreement_reference": "",
                }
            ],
            initial=1,
        ),
        "_save": "Save",
    }

    client.post(reverse("admin:cso_contract_change", args=[signed.pk]), data)

    subscription.refresh_from_db()
    assert subscription.package == expert


# Each rule of the service, refused on the form with nothing saved -----------------------------


def assert_refused(response, message: str) -> None:
    assert response.status_code == 200
    assert escape(message) in response.content.decode()


def test_a_term_ending_before_it_starts_is_refused(client, csm, acme, sales, expert):
    client.force_login(csm)

    response = client.post(
        ADD_CONTRACT,
        contract_post(acme, subscriptions=[(expert, [sales])], term_end="2025-12-31"),
    )

    assert_refused(response, "The term ends (2025-12-31) before it starts (2026-01-01).")
    assert not Contract.objects.exists()


def test_the_same_package_twice_for_one_line_in_a_contract_is_refused(
    client, csm, acme, sales, service, expert
):
    client.force_login(csm)

    response = client.post(
        ADD_CONTRACT,
        contract_post(acme, subscriptions=[(expert, [sales]), (expert, [sales, service])]),
    )

    assert_refused(response, "Expert for Sales overlaps another package of this contract.")
    assert not Contract.objects.exists()
    assert not PackageSubscription.objects.exists()


def test_a_term_overlapping_another_contract_of_the_customer_is_refused(
    client, csm, acme, sales, expert, signed
):
    client.force_login(csm)

    response = client.post(
        ADD_CONTRACT,
        contract_post(acme, subscriptions=[(expert, [sales])], term_start="2026-07-01"),
    )

    assert_refused(
        response, "Expert for Sales overlaps contract ACME-2026 (2026-01-01 to 2026-12-31)."
    )
    assert list(Contract.objects.all()) == [signed]
    assert PackageSubscription.objects.count() == 1
    assert OverageRate.objects.count() == 1


def test_lengthening_a_term_into_another_contract_is_refused(client, csm, acme, sales, expert):
    # Given Acme's 2026 and 2027 contracts for Expert on Sales
    first, second = (
        contract_create(
            organization=acme,
            reference=reference,
            term_start=start,
            overage_rate="150",
            subscriptions=[SubscriptionSpec(package=expert, lines_of_business=[sales])],
        )
        for reference, start in [("A-2026", date(2026, 1, 1)), ("A-2027", date(2027, 1, 1))]
    )
    client.force_login(csm)
    subscription, rate = first.subscriptions.get(), first.overage_rates.get()

    # When the CSM stretches the first term into 2027
    response = client.post(
        reverse("admin:cso_contract_change", args=[first.pk]),
        {
            "reference": "A-2026",
            "term_start": "2026-01-01",
            "term_end": "2027-03-31",
            "currency": "USD",
            "notes": "",
            **formset(
                "subscriptions",
                [{"id": subscription.pk, "contract": first.pk, "lines_of_business": [sales.pk]}],
                initial=1,
            ),
            **formset(
                "overage_rates",
                [
                    {
                        "id": rate.pk,
                        "contract": first.pk,
                        "effective_from": "2026-01-01",
                        "hourly_rate": "150",
                        "agreement_reference": "",
                    }
                ],
                initial=1,
            ),
            "_save": "Save",
        },
    )

    # Then the overlap with the second is refused, and only with it (not with itself)
    assert_refused(
        response, "Expert for Sales overlaps contract A-2027 (2027-01-01 to 2027-12-31)."
    )
    assert "overlaps contract A-2026" not in response.content.decode()
    first.refresh_from_db()
    assert first.term_end == date(2026, 12, 31)


def test_a_negative_overage_rate_is_refused(client, csm, acme, sales, expert):
    client.force_login(csm)

    response = client.post(
        ADD_CONTRACT,
        contract_post(
            acme,
            subscriptions=[(expert, [sales])],
            rates=[{"effective_from": "2026-01-01", "hourly_rate": "-5"}],
        ),
    )

    assert_refused(response, "The overage rate cannot be negative (-5).")
    assert not Contract.objects.exists()


def test_a_line_of_business_of_another_customer_is_refused(client, superuser, acme, expert):
    # Given a superuser, who may pick any customer's line of business
    other_line = LineOfBusinessFactory(organization=OrganizationFactory(name="Initech"), name="Ops")
    client.force_login(superuser)

    response = client.post(
        ADD_CONTRACT, contract_post(acme, subscriptions=[(expert, [other_line])])
    )

    assert_refused(response, "Line of business Initech / Ops does not belong to Acme.")
    assert not Contract.objects.exists()


def test_a_contract_without_packages_or_rates_is_refused(client, csm, acme):
    client.force_login(csm)

    response = client.post(ADD_CONTRACT, contract_post(acme, subscriptions=[], rates=[]))

    assert_refused(response, "A contract buys at least one package.")
    assert_refused(
        response, "A contract needs an overage rate: hours beyond the package are charged"
    )
    assert not Contract.objects.exists()


def test_a_rate_outside_the_term_or_leaving_days_without_a_rate_is_refused(
    client, csm, acme, sales, expert
):
    client.force_login(csm)

    outside = client.post(
        ADD_CONTRACT,
        contract_post(
            acme,
            subscriptions=[(expert, [sales])],
            rates=[
                {"effective_from": "2026-01-01", "hourly_rate": "150"},
                {"effective_from": "2027-02-01", "hourly_rate": "160"},
            ],
        ),
    )
    late = client.post(
        ADD_CONTRACT,
        contract_post(
            acme,
            subscriptions=[(expert, [sales])],
            rates=[{"effective_from": "2026-03-01", "hourly_rate": "150"}],
        ),
    )

    assert_refused(outside, "2027-02-01 is outside the term 2026-01-01 to 2026-12-31.")
    assert_refused(late, "The first overage rate takes effect on the first day of the term")
    assert not Contract.objects.exists()


# Renewing from the list ----------------------------------------------------------------------


def renew(client, *contracts):
    return client.post(
        CONTRACTS,
        {"action": "renew_selected", "_selected_action": [contract.pk for contract in contracts]},
        follow=True,
    )


def test_renew_action_signs_the_next_term(client, csm, signed):
    client.force_login(csm)

    response = renew(client, signed)

    renewal = Contract.objects.get(previous_term=signed)
    assert (renewal.term_start, renewal.term_end) == (date(2027, 1, 1), date(2027, 12, 31))
    assert renewal.signed_by == csm
    assert renewal.subscriptions.get().entitlements.count() == 2
    assert messages_of(response) == [
        f"ACME-2026 renewed as {renewal.reference}, 2027-01-01 to 2027-12-31."
    ]


def test_renew_action_reports_each_refusal_as_a_message(client, csm, signed, globex_contract):
    # Given Acme's contract already renewed, and a colleague's customer's contract
    client.force_login(csm)
    renew(client, signed)

    # When the CSM renews both again
    response = renew(client, signed, globex_contract)

    # Then nothing more is signed and each refusal says why
    assert response.status_code == 200
    assert Contract.objects.count() == 3
    assert sorted(messages_of(response)) == [
        "ACME-2026 was not renewed: Contract ACME-2026 has already been renewed.",
        "GLOBEX-2026 was not renewed: Globex is not one of your customers.",
    ]


def test_finance_has_no_renew_action(client, finance, signed):
    client.force_login(finance)

    response = client.get(CONTRACTS)

    assert "Renew selected contracts" not in response.content.decode()
    renew(client, signed)
    assert Contract.objects.count() == 1


# The list stays cheap ------------------------------------------------------------------------


def test_contract_list_queries_do_not_grow_with_contracts(
    client, csm, acme, django_assert_max_num_queries
):
    # Given 20 contracts, each with two packages and two rates
    packages = [PackageFactory(code="expert"), PackageFactory(code="premier", rank=5)]
    for year in range(2000, 2020):
        subscription = PackageSubscriptionFactory(
            contract__organization=acme,
            contract__term_start=date(year, 1, 1),
            contract__term_end=date(year, 12, 31),
            package=packages[0],
        )
        PackageSubscriptionFactory(contract=subscription.contract, package=packages[1])
        OverageRateFactory(contract=subscription.contract)
        OverageRateFactory(contract=subscription.contract, effective_from=date(year, 7, 1))
    client.force_login(csm)

    # When the CSM opens the list, then a fixed handful of queries draws it
    with django_assert_max_num_queries(16):
        response = client.get(CONTRACTS)
    assert response.status_code == 200
    assert "Expert, Premier" in response.content.decode()
    assert "150.00 USD/h" in response.content.decode()


# Catalog -------------------------------------------------------------------------------------


def test_catalog_versions_are_read_only_even_for_superusers(client, superuser):
    version = CatalogVersionFactory()
    client.force_login(superuser)

    add = client.get(reverse("admin:cso_catalogversion_add"))
    change = client.post(
        reverse("admin:cso_catalogversion_change", args=[version.pk]), {"version": "x"}
    )

    assert add.status_code == 403
    assert change.status_code == 403
    assert CatalogVersion.objects.get().version == "test"


def test_csm_edits_a_package_and_is_told_signed_contracts_keep_their_terms(
    client, csm, expert, signed
):
    client.force_login(csm)
    url = reverse("admin:cso_package_change", args=[expert.pk])
    entitlements = list(expert.entitlements.order_by("pk"))
    pack = expert.expansion_pack

    page = client.get(url)
    response = client.post(
        url,
        {
            "name": "Expert",
            "code": "expert",
            "rank": 4,
            "catalog_version": expert.catalog_version.pk,
            "quarterly_hours": "250",
            "annual_hours": "1000",
            **formset(
                "expansion_pack",
                [
                    {
                        "id": pack.pk,
                        "package": expert.pk,
                        "level": "basic",
                        "deployments": 1,
                        "hours": "80",
                        "within_package_hours": "on",
                    }
                ],
                initial=1,
            ),
            **formset(
                "entitlements",
                [
                    {
                        "id": entitlement.pk,
                        "package": expert.pk,
                        "deliverable": entitlement.deliverable_id,
                        "kind": entitlement.kind,
                        "frequency": entitlement.frequency,
                        "max_per_year": "",
                        "hours": entitlement.hours or "",
                        "within_package_hours": "on",
                        "note": "",
                    }
                    for entitlement in entitlements
                ],
                initial=len(entitlements),
            ),
            "_save": "Save",
        },
    )

    assert "Contracts already signed keep the hours" in page.content.decode()
    assert response.status_code == 302, response.context and response.context["errors"]
    assert Package.objects.get(pk=expert.pk).annual_hours == Decimal("1000")
    assert signed.subscriptions.get().annual_hours == Decimal("985")


def test_deliverable_list_filters_by_category(client, csm, expert):
    client.force_login(csm)

    response = client.get(
        reverse("admin:cso_deliverable_changelist"), {"category": "operational_consulting"}
    )

    assert [row.code for row in response.context["cl"].result_list] == ["consulting"]


def test_add_page_offers_the_chosen_customers_lines_of_business(
    client, csm, acme, globex, sales, service
):
    # Given a colleague's customer with a line of its own
    LineOfBusinessFactory(organization=globex, name="Support")
    client.force_login(csm)

    # When the CSM opens the add page from Acme (?organization=)
    response = client.get(ADD_CONTRACT, {"organization": acme.pk})

    # Then Acme is chosen and only its lines are offered
    packages = response.context["inline_admin_formsets"][0].formset
    offered = packages.forms[0].fields["lines_of_business"].queryset
    assert response.context["adminform"].form.initial["organization"] == str(acme.pk)
    assert {line.name for line in offered} == {"Sales", "Service"}


def package_post_data(package, *, quarterly="246", annual="985", entitlement_changes=None):
    entitlements = list(package.entitlements.order_by("pk"))
    rows = []
    for index, entitlement in enumerate(entitlements):
        row = {
            "id": entitlement.pk,
            "package": package.pk,
            "deliverable": entitlement.deliverable_id,
            "kind": entitlement.kind,
            "frequency": entitlement.frequency,
            "max_per_year": entitlement.max_per_year or "",
            "hours": entitlement.hours or "",
            "within_package_hours": "on",
            "note": "",
        }
        if index == 0 and entitlement_changes:
            row.update(entitlement_changes)
        rows.append(row)
    return {
        "name": package.name,
        "code": package.code,
        "rank": package.rank,
        "catalog_version": package.catalog_version.pk,
        "quarterly_hours": quarterly,
        "annual_hours": annual,
        **formset("expansion_pack", [], initial=0),
        **formset("entitlements", rows, initial=len(rows)),
        "_save": "Save",
    }


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"quarterly": "500", "annual": "10"},
            "Hours per quarter cannot exceed the hours per year.",
        ),
        (
            {"entitlement_changes": {"kind": "hour_allowance", "frequency": "", "hours": ""}},
            "Hours: give the yearly hours of an hour allowance, and none otherwise.",
        ),
        (
            {
                "entitlement_changes": {
                    "kind": "frequency",
                    "frequency": "up_to_n_per_year",
                    "max_per_year": "",
                }
            },
            'Max per year: give N (1 or more) for "up to N per year", and none otherwise.',
        ),
    ],
)
def test_catalog_edits_the_loader_would_refuse_are_refused_in_the_admin(
    client, csm, expert, changes, message
):
    client.force_login(csm)
    expert.expansion_pack.delete()
    before = list(Entitlement.objects.values_list("kind", "frequency", "max_per_year", "hours"))

    response = client.post(
        reverse("admin:cso_package_change", args=[expert.pk]),
        package_post_data(expert, **changes),
    )

    assert response.status_code == 200
    assert message in html.unescape(response.content.decode())
    assert Package.objects.get(pk=expert.pk).quarterly_hours == Decimal("246")
    assert (
        list(Entitlement.objects.values_list("kind", "frequency", "max_per_year", "hours"))
        == before
    )


def test_a_malformed_organization_in_the_add_page_address_is_ignored(client, csm, acme):
    client.force_login(csm)

    response = client.get(ADD_CONTRACT, {"organization": "abc"})

    assert response.status_code == 200
