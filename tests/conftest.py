from datetime import UTC, date, datetime

import pytest
from django.core.management import call_command

from accounts.models import Membership, User
from cso.services.contracts import SubscriptionSpec, contract_create
from tests.factories import (
    CsmFactory,
    FinanceFactory,
    LineOfBusinessFactory,
    MembershipFactory,
    OrganizationFactory,
    UserFactory,
)

# The day most hour-bank tests stand on: late in the 2026 calendar-year term.
NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)


@pytest.fixture
def catalog(db):
    """The shipped CSO catalog, loaded as `manage.py load_catalog` loads it."""
    call_command("load_catalog", verbosity=0)


@pytest.fixture
def csm(db):
    return CsmFactory(email="casey@vendor.example", first_name="Casey", last_name="Lee")


@pytest.fixture
def finance(db):
    return FinanceFactory(email="fin@vendor.example")


@pytest.fixture
def superuser(db):
    return User.objects.create_superuser("root@vendor.example", "pass-word-123")


@pytest.fixture
def customer_admin(db):
    return UserFactory(email="ada@northwind.example")


@pytest.fixture
def premier(catalog, csm, customer_admin):
    """A signed Premier subscription for 2026, covering two lines of business, at 150 USD/h."""
    organization = OrganizationFactory(name="Northwind", slug="northwind")
    organization.csms.add(csm)
    MembershipFactory(user=customer_admin, organization=organization, role=Membership.Role.ADMIN)
    retail = LineOfBusinessFactory(organization=organization, name="Retail")
    wholesale = LineOfBusinessFactory(organization=organization, name="Wholesale")
    contract = contract_create(
        organization=organization,
        term_start=date(2026, 1, 1),
        currency="USD",
        overage_rate="150.00",
        subscriptions=[SubscriptionSpec("premier", [retail, wholesale])],
        reference="NW-2026",
        signed_at=NOW,
    )
    return contract.subscriptions.get()
