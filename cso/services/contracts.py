"""Signing, renewing and re-pricing contracts.

All checks run before anything is written, and every write happens in one transaction, so a
contract is either saved whole or not at all.
"""

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import LineOfBusiness, Organization, User

from ..models import (
    Contract,
    OverageRate,
    Package,
    PackageSubscription,
    SubscriptionEntitlement,
    SubscriptionExpansionPack,
)
from ..quarters import default_term_end


@dataclass(frozen=True)
class SubscriptionSpec:
    """One package to buy and the lines of business it covers."""

    package: str | Package
    lines_of_business: Sequence[LineOfBusiness | int] = field(default_factory=tuple)


def _as_decimal(value, field_name: str, errors: dict) -> Decimal | None:
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value))
    except (InvalidOperation, ValueError):
        errors.setdefault(field_name, []).append(f"'{value}' is not a number.")
        return None
    if not amount.is_finite():
        errors.setdefault(field_name, []).append(f"'{value}' is not a number.")
        return None
    return amount


MAX_RATE = Decimal("99999999.99")  # OverageRate.hourly_rate: 10 digits, 2 decimal places


def overage_rate_check(
    hourly_rate, errors: dict, field_name: str = "overage_rate"
) -> Decimal | None:
    """The rate as a Decimal, or None with the reason in `errors` (shared with the admin)."""
    rate = _as_decimal(hourly_rate, field_name, errors)
    if rate is None:
        return None
    problems = errors.setdefault(field_name, [])
    if rate < 0:
        problems.append(f"The overage rate cannot be negative ({rate}).")
    elif rate > MAX_RATE:
        problems.append(f"The overage rate {rate} is too large (at most {MAX_RATE}).")
    if rate.as_tuple().exponent < -2:
        problems.append(f"The overage rate {rate} has more than two decimal places.")
    if not problems:
        del errors[field_name]
    return rate


def contract_term_check(*, term_start: date, term_end: date, errors: dict) -> None:
    """A term ends on or after the day it starts (shared with the admin)."""
    if term_end < term_start:
        errors["term_end"] = [f"The term ends ({term_end}) before it starts ({term_start})."]


def subscription_error_key(index: int, field_name: str) -> str:
    """Where an error about the index-th package of a contract is reported."""
    return f"subscriptions[{index}].{field_name}"


def _resolve_packages(
    subscriptions: Sequence[SubscriptionSpec], errors: dict
) -> list[Package | None]:
    codes = {s.package.code if isinstance(s.package, Package) else s.package for s in subscriptions}
    by_code = {
        package.code: package
        for package in Package.objects.filter(code__in=codes)
        .select_related("catalog_version", "expansion_pack")
        .prefetch_related("entitlements")
    }
    resolved = []
    for index, spec in enumerate(subscriptions):
        code = spec.package.code if isinstance(spec.package, Package) else spec.package
        package = by_code.get(code)
        if package is None:
            known = ", ".join(Package.objects.order_by("rank").values_list("code", flat=True))
            errors.setdefault(subscription_error_key(index, "package"), []).append(
                f"There is no package '{spec.package}'. Known packages: {known or 'none'}."
            )
        resolved.append(package)
    return resolved


def _resolve_lines(
    organization: Organization, subscriptions: Sequence[SubscriptionSpec], errors: dict
) -> list[list[LineOfBusiness]]:
    own = {line.pk: line for line in organization.lines_of_business.all()}
    resolved = []
    for index, spec in enumerate(subscriptions):
        key = subscription_error_key(index, "lines_of_business")
        lines = []
        if not spec.lines_of_business:
            errors.setdefault(key, []).append("A package covers at least one line of business.")
        for item in spec.lines_of_business:
            pk = item.pk if isinstance(item, LineOfBusiness) else item
            if pk not in own:
                errors.setdefault(key, []).append(
                    f"Line of business {item} does not belong to {organization.name}."
                )
            else:
                lines.append(own[pk])
        resolved.append(lines)
    return resolved


def _check_overlaps(
    *,
    organization: Organization,
    term_start: date,
    term_end: date,
    packages: list[Package | None],
    lines: list[list[LineOfBusiness]],
    errors: dict,
    exclude_contract: Contract | None,
) -> None:
    """Section 1 buys a package per line of business per term: no two terms may overlap."""
    existing = PackageSubscription.objects.filter(
        contract__organization=organization,
        contract__term_start__lte=term_end,
        contract__term_end__gte=term_start,
    )
    if exclude_contract is not None and exclude_contract.pk is not None:
        existing = existing.exclude(contract=exclude_contract)
    existing = existing.select_related("contract", "package").prefetch_related("lines_of_business")
    taken: dict[tuple[int, int], str] = {}
    for subscription in existing:
        for line in subscription.lines_of_business.all():
            taken[(subscription.package_id, line.pk)] = (
                f"contract {subscription.contract.reference} "
                f"({subscription.contract.term_start} to {subscription.contract.term_end})"
            )
    for index, (package, subscription_lines) in enumerate(zip(packages, lines, strict=True)):
        if package is None:
            continue
        for line in subscription_lines:
            key = (package.pk, line.pk)
            if key in taken:
                errors.setdefault(subscription_error_key(index, "lines_of_business"), []).append(
                    f"{package.name} for {line.name} overlaps {taken[key]}."
                )
            else:
                taken[key] = "another package of this contract"


def subscriptions_check(
    *,
    organization: Organization,
    term_start: date,
    term_end: date,
    subscriptions: Sequence[SubscriptionSpec],
    errors: dict,
    exclude_contract: Contract | None = None,
) -> tuple[list[Package | None], list[list[LineOfBusiness]]]:
    """Resolve the packages a contract buys and check them against Section 1.

    Packages must exist, cover lines of business of this customer, and not overlap another
    term of the same package for the same line. Problems go into `errors` under
    `subscription_error_key`. `contract_create` and the admin's contract form both call this,
    so they refuse the same things in the same words; the admin passes the contract being
    edited as `exclude_contract` so that its own saved packages do not count as overlaps.
    Call inside a transaction: the customer is locked so that two contracts signed at once
    cannot both pass the overlap check.
    """
    Organization.objects.select_for_update().filter(pk=organization.pk).first()
    packages = _resolve_packages(subscriptions, errors)
    lines = _resolve_lines(organization, subscriptions, errors)
    if term_start <= term_end:
        _check_overlaps(
            organization=organization,
            term_start=term_start,
            term_end=term_end,
            packages=packages,
            lines=lines,
            errors=errors,
            exclude_contract=exclude_contract,
        )
    return packages, lines


def subscription_signed_fields(package: Package) -> dict:
    """The package's hours and catalog version as a new subscription signs them."""
    return {
        "package": package,
        "quarterly_hours": package.quarterly_hours,
        "annual_hours": package.annual_hours,
        "hour_increment": package.hour_increment,
        "catalog_version": package.catalog_version.version,
    }


def subscription_terms_copy(subscription: PackageSubscription) -> None:
    """Copy the package's current entitlements into the subscription (terms as signed), and
    write the term's deliverable schedule from them."""
    from .schedules import schedule_create

    package = subscription.package
    SubscriptionEntitlement.objects.bulk_create(
        SubscriptionEntitlement(
            subscription=subscription,
            deliverable_id=entitlement.deliverable_id,
            kind=entitlement.kind,
            frequency=entitlement.frequency,
            max_per_year=entitlement.max_per_year,
            hours=entitlement.hours,
            within_package_hours=entitlement.within_package_hours,
            note=entitlement.note,
        )
        for entitlement in package.entitlements.all()
    )
    pack = getattr(package, "expansion_pack", None)
    if pack is not None:
        SubscriptionExpansionPack.objects.create(
            subscription=subscription,
            level=pack.level,
            deployments=pack.deployments,
            hours=pack.hours,
        )
    schedule_create(subscription=subscription, now=subscription.contract.signed_at)


REFERENCE_LENGTH = 60  # Contract.reference


def _next_reference(organization: Organization, term_start: date) -> str:
    # Room for "-YYYYMMDD" and a "-NN" suffix within the reference's length.
    base = f"{organization.slug.upper()[: REFERENCE_LENGTH - 13]}-{term_start:%Y%m%d}"
    reference, suffix = base, 1
    while Contract.objects.filter(reference=reference).exists():
        suffix += 1
        reference = f"{base}-{suffix}"
    return reference


@transaction.atomic
def contract_create(
    *,
    organization: Organization,
    term_start: date,
    term_end: date | None = None,
    currency: str = "USD",
    overage_rate: Decimal | str,
    subscriptions: Sequence[SubscriptionSpec],
    reference: str = "",
    signed_by: User | None = None,
    signed_at: datetime | None = None,
    previous_term: Contract | None = None,
    notes: str = "",
) -> Contract:
    """Sign a contract: its packages, the lines of business they cover and the overage rate.

    Raises ValidationError naming every problem (field by field) and saves nothing if any.
    """
    term_end = term_end or default_term_end(term_start)
    errors: dict[str, list[str]] = {}
    contract_term_check(term_start=term_start, term_end=term_end, errors=errors)
    currency = (currency or "").strip().upper()
    if not re.fullmatch(r"[A-Z]{3}", currency):
        errors["currency"] = [f"'{currency}' is not a three-letter currency code such as USD."]
    rate = overage_rate_check(overage_rate, errors)
    if not subscriptions:
        errors["subscriptions"] = ["A contract buys at least one package."]
    if len(reference) > REFERENCE_LENGTH:
        errors["reference"] = [f"A reference has at most {REFERENCE_LENGTH} characters."]
    elif reference and Contract.objects.filter(reference=reference).exists():
        errors["reference"] = [f"A contract with reference '{reference}' already exists."]
    packages, lines = subscriptions_check(
        organization=organization,
        term_start=term_start,
        term_end=term_end,
        subscriptions=subscriptions,
        errors=errors,
    )
    if errors:
        raise ValidationError(errors)

    contract = Contract.objects.create(
        organization=organization,
        reference=reference or _next_reference(organization, term_start),
        term_start=term_start,
        term_end=term_end,
        currency=currency,
        previous_term=previous_term,
        signed_at=signed_at or timezone.now(),
        signed_by=signed_by,
        notes=notes,
    )
    OverageRate.objects.create(contract=contract, effective_from=term_start, hourly_rate=rate)
    for package, subscription_lines in zip(packages, lines, strict=True):
        subscription = PackageSubscription.objects.create(
            contract=contract, **subscription_signed_fields(package)
        )
        subscription.lines_of_business.set(subscription_lines)
        subscription_terms_copy(subscription)
    return contract


@transaction.atomic
def contract_renew(
    *,
    contract: Contract,
    term_months: int = 12,
    overage_rate: Decimal | str | None = None,
    signed_by: User | None = None,
    signed_at: datetime | None = None,
) -> Contract:
    """Create the next term: same packages and lines of business, the catalog's current terms.

    Nothing carries forward (Section 9: unused hours do not carry over); the new term starts the
    day after this one ends. The overage rate stays the latest agreed one unless a new one is given.
    """
    if Contract.objects.filter(previous_term=contract).exists():
        raise ValidationError(
            {"contract": [f"Contract {contract.reference} has already been renewed."]}
        )
    if term_months < 1:
        raise ValidationError({"term_months": ["A term lasts at least one month."]})
    if overage_rate is None:
        latest = contract.overage_rates.order_by("-effective_from").first()
        if latest is None:
            raise ValidationError(
                {"overage_rate": [f"Contract {contract.reference} has no overage rate; give one."]}
            )
        overage_rate = latest.hourly_rate
    term_start = contract.term_end + timedelta(days=1)
    specs = [
        SubscriptionSpec(
            package=subscription.package,
            lines_of_business=list(subscription.lines_of_business.all()),
        )
        for subscription in contract.subscriptions.select_related("package")
    ]
    return contract_create(
        organization=contract.organization,
        term_start=term_start,
        term_end=default_term_end(term_start, term_months),
        currency=contract.currency,
        overage_rate=overage_rate,
        subscriptions=specs,
        signed_by=signed_by,
        signed_at=signed_at,
        previous_term=contract,
    )


@transaction.atomic
def overage_rate_set(
    *,
    contract: Contract,
    hourly_rate: Decimal | str,
    effective_from: date,
    agreement_reference: str = "",
) -> OverageRate:
    """Record a rate change agreed in writing, effective from a day of the term."""
    errors: dict[str, list[str]] = {}
    rate = overage_rate_check(hourly_rate, errors, "hourly_rate")
    if not contract.term_start <= effective_from <= contract.term_end:
        errors["effective_from"] = [
            f"{effective_from} is outside the term {contract.term_start} to {contract.term_end}."
        ]
    elif contract.overage_rates.filter(effective_from=effective_from).exists():
        errors["effective_from"] = [f"A rate already takes effect on {effective_from}."]
    elif (
        closed := contract.closings.filter(quarter_end__gte=effective_from)
        .order_by("-quarter_end")
        .first()
    ) is not None:
        errors["effective_from"] = [
            f"Quarter {closed.quarter_index} (to {closed.quarter_end}) is closed and billed; "
            f"a new rate can take effect from {closed.quarter_end + timedelta(days=1)}."
        ]
    if errors:
        raise ValidationError(errors)
    return OverageRate.objects.create(
        contract=contract,
        effective_from=effective_from,
        hourly_rate=rate,
        agreement_reference=agreement_reference,
    )
