"""factory_boy factories for the portal's models."""

from datetime import date
from decimal import Decimal

import factory
from django.utils import timezone

from accounts.models import LineOfBusiness, Membership, Organization, User
from cso.models import CatalogVersion, Contract, OverageRate, Package, PackageSubscription


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@example.com")
    first_name = "Pat"
    last_name = factory.Sequence(lambda n: f"Person{n}")
    role = User.Role.CUSTOMER
    password = factory.PostGenerationMethodCall("set_password", "pass-word-123")

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class CsmFactory(UserFactory):
    role = User.Role.CSM


class FinanceFactory(UserFactory):
    role = User.Role.FINANCE


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"Customer {n}")
    slug = factory.Sequence(lambda n: f"customer-{n}")


class LineOfBusinessFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LineOfBusiness

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Line {n}")


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    organization = factory.SubFactory(OrganizationFactory)
    role = Membership.Role.MEMBER


class CatalogVersionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CatalogVersion
        django_get_or_create = ("version",)

    version = "test"
    effective_from = date(2026, 1, 1)
    checksum = "0" * 64


class PackageFactory(factory.django.DjangoModelFactory):
    """A package; with the real catalog loaded, use Package.objects.get(code=...) instead."""

    class Meta:
        model = Package
        django_get_or_create = ("code",)

    code = "expert"
    name = factory.LazyAttribute(lambda o: o.code.title())
    rank = 4
    quarterly_hours = Decimal("246")
    annual_hours = Decimal("985")
    catalog_version = factory.SubFactory(CatalogVersionFactory)


class ContractFactory(factory.django.DjangoModelFactory):
    """A bare contract row; tests of signing rules go through `contract_create` instead."""

    class Meta:
        model = Contract

    organization = factory.SubFactory(OrganizationFactory)
    reference = factory.Sequence(lambda n: f"C-{n:05d}")
    term_start = date(2026, 1, 1)
    term_end = date(2026, 12, 31)
    currency = "USD"
    signed_at = factory.LazyFunction(timezone.now)


class OverageRateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OverageRate

    contract = factory.SubFactory(ContractFactory)
    effective_from = factory.SelfAttribute("contract.term_start")
    hourly_rate = Decimal("150.00")


class PackageSubscriptionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PackageSubscription

    contract = factory.SubFactory(ContractFactory)
    package = factory.SubFactory(PackageFactory)
    quarterly_hours = factory.SelfAttribute("package.quarterly_hours")
    annual_hours = factory.SelfAttribute("package.annual_hours")
    catalog_version = "test"
