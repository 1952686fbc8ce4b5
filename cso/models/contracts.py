"""Contracts: a customer's purchase of CSO packages for a term.

A contract keeps the terms it was signed under: each package subscription copies the package's
hours and entitlements at signing (`SubscriptionEntitlement`, `SubscriptionExpansionPack`), and
records which catalog version they came from. Later catalog edits change new contracts only.
"""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models

from accounts.models import LineOfBusiness, Organization

from .catalog import (
    Deliverable,
    EntitlementTerms,
    ExpansionPack,
    Package,
    entitlement_terms_constraints,
)

currency_code = RegexValidator(r"^[A-Z]{3}$", "Use a three-letter ISO 4217 code such as USD.")


class Contract(models.Model):
    """One customer's purchase for one term; renewal creates the next term as a new contract."""

    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="contracts"
    )
    reference = models.CharField(max_length=60, unique=True)
    term_start = models.DateField()
    term_end = models.DateField(help_text="Last day of the term (inclusive).")
    currency = models.CharField(max_length=3, validators=[currency_code], default="USD")
    previous_term = models.OneToOneField(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="renewal",
        help_text="The term this contract renews.",
    )
    signed_at = models.DateTimeField()
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    renewal_reminder_sent_at = models.DateTimeField(null=True, blank=True)
    notes = models.TextField(blank=True)

    class Meta:
        ordering = ["organization__name", "-term_start"]
        indexes = [
            models.Index(fields=["term_end"], name="contract_term_end_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(term_end__gte=models.F("term_start")),
                name="contract_term_end_not_before_start",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference} ({self.organization.name}, {self.term_start} to {self.term_end})"


class PackageSubscription(models.Model):
    """One package bought under a contract, covering one or more lines of business (Section 1).

    Lines of business that share one subscription share one set of deliverables; five
    subscriptions of the same package give five full sets.
    """

    contract = models.ForeignKey(Contract, on_delete=models.CASCADE, related_name="subscriptions")
    package = models.ForeignKey(Package, on_delete=models.PROTECT, related_name="subscriptions")
    lines_of_business = models.ManyToManyField(LineOfBusiness, related_name="subscriptions")
    quarterly_hours = models.DecimalField(max_digits=9, decimal_places=2)
    annual_hours = models.DecimalField(max_digits=9, decimal_places=2)
    hour_increment = models.DecimalField(
        max_digits=4,
        decimal_places=2,
        default=Decimal("0.25"),
        help_text="Time is logged in multiples of this many hours.",
    )
    catalog_version = models.CharField(
        max_length=40, help_text="Version of the catalog whose terms this subscription copied."
    )

    class Meta:
        ordering = ["contract", "package__rank", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(quarterly_hours__gte=0, annual_hours__gte=0),
                name="subscription_hours_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.package.name} under {self.contract.reference}"


class SubscriptionEntitlement(EntitlementTerms):
    """A package entitlement as signed: copied from the catalog when the contract was signed."""

    subscription = models.ForeignKey(
        PackageSubscription, on_delete=models.CASCADE, related_name="entitlements"
    )
    deliverable = models.ForeignKey(Deliverable, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["subscription", "deliverable__source_table", "deliverable__rank"]
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "deliverable"],
                name="subscription_entitlement_unique",
            ),
            *entitlement_terms_constraints("subscription_entitlement"),
        ]

    def __str__(self) -> str:
        return f"{self.deliverable.name}: {self.describe()}"


class SubscriptionExpansionPack(models.Model):
    """The expansion pack (Table 9) as signed with a subscription."""

    subscription = models.OneToOneField(
        PackageSubscription, on_delete=models.CASCADE, related_name="expansion_pack"
    )
    level = models.CharField(max_length=16, choices=ExpansionPack.Level.choices)
    deployments = models.PositiveSmallIntegerField()
    hours = models.DecimalField(max_digits=9, decimal_places=2)
    additional_hours = models.DecimalField(
        max_digits=9,
        decimal_places=2,
        default=Decimal("0"),
        help_text=(
            "Expansion hours bought beyond the pack (Section 9: only on renewal); "
            "paid for, so they are neither package hours nor overage."
        ),
    )

    def __str__(self) -> str:
        extra = f" + {self.additional_hours} h bought" if self.additional_hours else ""
        return f"{self.deployments}x {self.get_level_display()}, {self.hours} h{extra}"


class OverageRate(models.Model):
    """The agreed rate for hours beyond the package (Section 1), from a date on.

    The rate may change by written agreement; each change is a new row with its own
    effective date, and the rate for a day is the latest one effective on or before it.
    """

    contract = models.ForeignKey(Contract, on_delete=models.CASCADE, related_name="overage_rates")
    effective_from = models.DateField()
    hourly_rate = models.DecimalField(
        max_digits=10, decimal_places=2, validators=[MinValueValidator(Decimal("0"))]
    )
    agreement_reference = models.CharField(
        max_length=200, blank=True, help_text="The written agreement that set this rate."
    )

    class Meta:
        ordering = ["contract", "effective_from"]
        constraints = [
            models.UniqueConstraint(
                fields=["contract", "effective_from"], name="overage_rate_one_per_day"
            ),
            models.CheckConstraint(
                condition=models.Q(hourly_rate__gte=0), name="overage_rate_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.hourly_rate} {self.contract.currency}/h from {self.effective_from}"
