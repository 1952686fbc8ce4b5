from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from cso.models import (
    Contract,
    Deliverable,
    Entitlement,
    ExpansionPack,
    OverageRate,
    PackageSubscription,
    SubscriptionEntitlement,
)
from cso.selectors import overage_rate_on
from cso.services.contracts import (
    SubscriptionSpec,
    contract_create,
    contract_renew,
    overage_rate_set,
)
from tests.factories import LineOfBusinessFactory, OrganizationFactory, PackageFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def expert():
    package = PackageFactory(
        code="expert", quarterly_hours=Decimal("246"), annual_hours=Decimal("985")
    )
    qbr = Deliverable.objects.create(
        code="quarterly_business_review",
        name="Quarterly Business Review",
        category=Deliverable.Category.PERFORMANCE_MANAGEMENT,
        source_table=2,
    )
    Entitlement.objects.create(
        package=package,
        deliverable=qbr,
        kind="frequency",
        frequency="up_to_n_per_year",
        max_per_year=4,
    )
    ExpansionPack.objects.create(
        package=package, level="intermediate", deployments=2, hours=Decimal("60")
    )
    return package


@pytest.fixture
def customer():
    organization = OrganizationFactory(name="Northwind", slug="northwind")
    LineOfBusinessFactory(organization=organization, name="Retail")
    LineOfBusinessFactory(organization=organization, name="Wholesale")
    return organization


def lines(organization, *names):
    return [organization.lines_of_business.get(name=name) for name in names]


def sign(organization, package="expert", line_names=("Retail",), **overrides):
    arguments = {
        "organization": organization,
        "term_start": date(2026, 3, 15),
        "overage_rate": Decimal("175.00"),
        "subscriptions": [SubscriptionSpec(package, lines(organization, *line_names))],
    }
    arguments.update(overrides)
    return contract_create(**arguments)


def test_signing_copies_the_package_terms(expert, customer):
    contract = sign(customer, line_names=("Retail", "Wholesale"))

    assert contract.term_end == date(2027, 3, 14)
    subscription = contract.subscriptions.get()
    assert (subscription.quarterly_hours, subscription.annual_hours) == (
        Decimal("246"),
        Decimal("985"),
    )
    assert subscription.catalog_version == "test"
    assert {line.name for line in subscription.lines_of_business.all()} == {"Retail", "Wholesale"}
    signed = subscription.entitlements.get()
    assert (signed.frequency, signed.max_per_year) == ("up_to_n_per_year", 4)
    assert signed.describe() == "Up to 4x per year"
    assert str(subscription.expansion_pack) == "2x Intermediate deployment, 60.00 h"
    assert contract.overage_rates.get().hourly_rate == Decimal("175.00")


def test_a_catalog_change_leaves_signed_contracts_alone(expert, customer):
    contract = sign(customer)

    expert.quarterly_hours = Decimal("300")
    expert.save()
    Entitlement.objects.filter(package=expert).update(max_per_year=2)

    subscription = contract.subscriptions.get()
    assert subscription.quarterly_hours == Decimal("246")
    assert subscription.entitlements.get().max_per_year == 4


def test_five_packages_for_five_lines_give_five_sets(expert, customer):
    contract = sign(
        customer,
        subscriptions=[
            SubscriptionSpec("expert", lines(customer, "Retail")),
            SubscriptionSpec("expert", lines(customer, "Wholesale")),
        ],
    )

    assert contract.subscriptions.count() == 2
    assert SubscriptionEntitlement.objects.filter(subscription__contract=contract).count() == 2


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        (
            {"term_end": date(2026, 3, 1)},
            "term_end",
            "The term ends (2026-03-01) before it starts (2026-03-15).",
        ),
        (
            {"overage_rate": Decimal("-1")},
            "overage_rate",
            "The overage rate cannot be negative (-1).",
        ),
        ({"overage_rate": "abc"}, "overage_rate", "'abc' is not a number."),
        (
            {"currency": "dollars"},
            "currency",
            "'DOLLARS' is not a three-letter currency code such as USD.",
        ),
        ({"subscriptions": []}, "subscriptions", "A contract buys at least one package."),
        (
            {"overage_rate": "12.345"},
            "overage_rate",
            "The overage rate 12.345 has more than two decimal places.",
        ),
        (
            {"overage_rate": "1e11"},
            "overage_rate",
            "The overage rate 1E+11 is too large (at most 99999999.99).",
        ),
        (
            {"overage_rate": "1e400"},
            "overage_rate",
            "The overage rate 1E+400 is too large (at most 99999999.99).",
        ),
        ({"currency": "éur"}, "currency", "'ÉUR' is not a three-letter currency code such as USD."),
        ({"reference": "R" * 61}, "reference", "A reference has at most 60 characters."),
    ],
)
def test_bad_contract_input_is_refused_whole(expert, customer, overrides, field, message):
    with pytest.raises(ValidationError) as error:
        sign(customer, **overrides)

    assert message in error.value.message_dict[field]
    assert not Contract.objects.exists()
    assert not OverageRate.objects.exists()


def test_an_unknown_package_is_named(expert, customer):
    with pytest.raises(ValidationError) as error:
        sign(customer, package="platinum")

    assert error.value.message_dict["subscriptions[0].package"] == [
        "There is no package 'platinum'. Known packages: expert."
    ]
    assert not PackageSubscription.objects.exists()


def test_lines_of_business_must_be_the_customers_own(expert, customer):
    stranger = LineOfBusinessFactory(name="Elsewhere")

    with pytest.raises(ValidationError) as error:
        sign(customer, subscriptions=[SubscriptionSpec("expert", [stranger])])

    assert error.value.message_dict["subscriptions[0].lines_of_business"] == [
        f"Line of business {stranger} does not belong to Northwind."
    ]


def test_overlapping_terms_for_the_same_line_and_package_are_refused(expert, customer):
    first = sign(customer, line_names=("Retail",))

    with pytest.raises(ValidationError) as error:
        sign(customer, line_names=("Wholesale", "Retail"), term_start=date(2027, 3, 14))

    assert error.value.message_dict["subscriptions[0].lines_of_business"] == [
        f"Expert for Retail overlaps contract {first.reference} (2026-03-15 to 2027-03-14)."
    ]
    assert Contract.objects.count() == 1
    # The next day is free, and another line of business was never taken.
    sign(customer, line_names=("Retail",), term_start=date(2027, 3, 15))
    sign(customer, line_names=("Wholesale",))


def test_one_contract_cannot_buy_the_same_package_twice_for_one_line(expert, customer):
    with pytest.raises(ValidationError) as error:
        sign(
            customer,
            subscriptions=[
                SubscriptionSpec("expert", lines(customer, "Retail")),
                SubscriptionSpec("expert", lines(customer, "Retail")),
            ],
        )

    assert error.value.message_dict["subscriptions[1].lines_of_business"] == [
        "Expert for Retail overlaps another package of this contract."
    ]


def test_renewal_creates_the_next_term_with_current_catalog_terms(expert, customer):
    contract = sign(customer, line_names=("Retail", "Wholesale"))
    overage_rate_set(contract=contract, hourly_rate="190", effective_from=date(2026, 9, 15))
    expert.annual_hours = Decimal("1000")
    expert.save()

    renewal = contract_renew(contract=contract, signed_at=datetime(2027, 3, 1, tzinfo=UTC))

    assert (renewal.term_start, renewal.term_end) == (date(2027, 3, 15), date(2028, 3, 14))
    assert renewal.previous_term == contract
    assert renewal.subscriptions.get().annual_hours == Decimal("1000")
    assert renewal.overage_rates.get().hourly_rate == Decimal("190.00")
    with pytest.raises(ValidationError, match="has already been renewed"):
        contract_renew(contract=contract)


def test_overage_rate_changes_take_effect_from_their_day(expert, customer):
    contract = sign(customer)
    overage_rate_set(
        contract=contract, hourly_rate=Decimal("200"), effective_from=date(2026, 10, 1)
    )

    assert overage_rate_on(contract, date(2026, 9, 30)).hourly_rate == Decimal("175.00")
    assert overage_rate_on(contract, date(2026, 10, 1)).hourly_rate == Decimal("200.00")
    assert overage_rate_on(contract, date(2026, 3, 14)) is None


@pytest.mark.parametrize(
    ("rate", "effective_from", "field", "message"),
    [
        ("-5", date(2026, 10, 1), "hourly_rate", "The overage rate cannot be negative (-5)."),
        (
            "200",
            date(2028, 1, 1),
            "effective_from",
            "2028-01-01 is outside the term 2026-03-15 to 2027-03-14.",
        ),
        ("200", date(2026, 3, 15), "effective_from", "A rate already takes effect on 2026-03-15."),
    ],
)
def test_bad_rate_changes_are_refused(expert, customer, rate, effective_from, field, message):
    contract = sign(customer)

    with pytest.raises(ValidationError) as error:
        overage_rate_set(contract=contract, hourly_rate=rate, effective_from=effective_from)

    assert error.value.message_dict[field] == [message]
    assert contract.overage_rates.count() == 1


def test_renewing_a_contract_without_a_rate_asks_for_one(expert, customer):
    contract = sign(customer)
    contract.overage_rates.all().delete()

    with pytest.raises(ValidationError) as error:
        contract_renew(contract=contract)

    assert error.value.message_dict["overage_rate"] == [
        f"Contract {contract.reference} has no overage rate; give one."
    ]
    assert Contract.objects.count() == 1


def test_a_long_customer_slug_still_gives_a_reference_that_fits(expert):
    organization = OrganizationFactory(slug="a" * 80)
    LineOfBusinessFactory(organization=organization, name="Retail")

    contract = sign(organization)

    assert contract.reference == "A" * 47 + "-20260315"


def test_signing_five_packages_runs_a_bounded_number_of_queries(
    expert, customer, django_assert_max_num_queries
):
    """Per package: the subscription, its lines, its entitlements, its expansion pack and its
    deliverable schedule (the scheduled entitlements read back, the occurrences written)."""
    specs = [SubscriptionSpec("expert", lines(customer, "Retail"))] + [
        SubscriptionSpec("expert", [LineOfBusinessFactory(organization=customer)]) for _ in range(4)
    ]

    with django_assert_max_num_queries(12 + 5 * 7):
        contract_create(
            organization=customer,
            term_start=date(2026, 3, 15),
            overage_rate=Decimal("175"),
            subscriptions=specs,
        )
