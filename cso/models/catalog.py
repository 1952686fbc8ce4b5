"""The CSO catalog: packages, programs, deliverables and what each package is entitled to.

Loaded from `cso/catalog/cso.yaml` by `manage.py load_catalog` and editable by CSMs in the admin.
Signed contracts copy their entitlements at signing (see `contracts.py`), so a later change here
never changes a contract already signed.
"""

from decimal import Decimal

from django.core.validators import MinValueValidator
from django.db import models


class CatalogVersion(models.Model):
    """One load of the catalog file: which version of the vendor's offer is current."""

    version = models.CharField(max_length=40, unique=True)
    effective_from = models.DateField()
    source = models.CharField(max_length=300, blank=True)
    checksum = models.CharField(max_length=64)
    loaded_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-effective_from", "-version"]

    def __str__(self) -> str:
        return f"Catalog {self.version} (effective {self.effective_from})"


class Package(models.Model):
    """A CSO package (Section 1): its hours per contract quarter and per contract year."""

    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=100)
    rank = models.PositiveSmallIntegerField(help_text="Order from the smallest package up.")
    quarterly_hours = models.DecimalField(
        max_digits=9, decimal_places=2, validators=[MinValueValidator(Decimal("0"))]
    )
    annual_hours = models.DecimalField(
        max_digits=9, decimal_places=2, validators=[MinValueValidator(Decimal("0"))]
    )
    hour_increment = models.DecimalField(
        max_digits=4,
        decimal_places=2,
        default=Decimal("0.25"),
        validators=[MinValueValidator(Decimal("0.01"))],
        help_text="Time is logged in multiples of this many hours (a quarter hour unless set).",
    )
    catalog_version = models.ForeignKey(
        CatalogVersion, on_delete=models.PROTECT, related_name="packages"
    )

    class Meta:
        ordering = ["rank"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(quarterly_hours__gte=0, annual_hours__gte=0),
                name="package_hours_not_negative",
            ),
            models.CheckConstraint(
                condition=models.Q(quarterly_hours__lte=models.F("annual_hours")),
                name="package_quarter_within_year",
                violation_error_message="Hours per quarter cannot exceed the hours per year.",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Program(models.Model):
    """A key element of Customer Success Management (Table 1); time is logged against these."""

    code = models.SlugField(max_length=60, unique=True)
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    rank = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["rank", "name"]

    def __str__(self) -> str:
        return self.name


class Deliverable(models.Model):
    """A row of Tables 2-6 and 10: a deliverable, support type or training offer."""

    class Category(models.TextChoices):
        PERFORMANCE_MANAGEMENT = "performance_management", "Performance management (Table 2)"
        OPERATIONAL_CONSULTING = "operational_consulting", "Operational consulting (Table 3)"
        SOLUTIONS_ENGINEERING = "solutions_engineering", "Solutions engineering (Table 4)"
        PREMIUM_SUPPORT = "premium_support", "Premium technical support (Table 5)"
        STANDARD_SUPPORT = "standard_support", "Standard technical support (Table 6)"
        TRAINING = "training", "Education and training (Table 10)"

    code = models.SlugField(max_length=80, unique=True)
    name = models.CharField(max_length=200)
    definition = models.TextField(blank=True)
    category = models.CharField(max_length=40, choices=Category.choices)
    program = models.ForeignKey(
        Program, on_delete=models.PROTECT, related_name="deliverables", null=True, blank=True
    )
    source_table = models.PositiveSmallIntegerField()
    rank = models.PositiveSmallIntegerField(default=0)
    is_review = models.BooleanField(
        default=False, help_text="Reviews remind the CSM and the customer before they are due."
    )

    class Meta:
        ordering = ["source_table", "rank"]

    def __str__(self) -> str:
        return self.name


class EntitlementKind(models.TextChoices):
    FREQUENCY = "frequency", "Scheduled at a frequency"
    HOUR_ALLOWANCE = "hour_allowance", "Hour allowance"
    INCLUDED = "included", "Included"
    ADDITIONAL_COST = "additional_cost", "At additional cost"
    NOT_AVAILABLE = "not_available", "Not available"


class Frequency(models.TextChoices):
    WEEKLY = "weekly", "Weekly"
    TWICE_MONTHLY = "twice_monthly", "Twice monthly"
    MONTHLY = "monthly", "Monthly"
    TWICE_PER_QUARTER = "twice_per_quarter", "Twice per quarter"
    QUARTERLY = "quarterly", "Quarterly"
    SEMI_ANNUAL = "semi_annual", "Semi-annual"
    TWICE_YEARLY = "twice_yearly", "Twice yearly"
    ANNUAL = "annual", "Annual"
    UP_TO_N_PER_YEAR = "up_to_n_per_year", "Up to N per year"


# How many occurrences a frequency gives in one contract year; "up to N" gives N.
OCCURRENCES_PER_YEAR: dict[str, int] = {
    Frequency.WEEKLY: 52,
    Frequency.TWICE_MONTHLY: 24,
    Frequency.MONTHLY: 12,
    Frequency.TWICE_PER_QUARTER: 8,
    Frequency.QUARTERLY: 4,
    Frequency.SEMI_ANNUAL: 2,
    Frequency.TWICE_YEARLY: 2,
    Frequency.ANNUAL: 1,
}


class EntitlementTerms(models.Model):
    """What a package gives of one deliverable; shared by the catalog and signed contracts."""

    kind = models.CharField(max_length=20, choices=EntitlementKind.choices)
    frequency = models.CharField(max_length=24, choices=Frequency.choices, blank=True)
    max_per_year = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text='N of "up to N per year".'
    )
    hours = models.DecimalField(
        max_digits=9,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0"))],
        help_text="Hour allowance per contract year.",
    )
    within_package_hours = models.BooleanField(
        default=True,
        help_text="Hours count inside the package's Section 1 hours, not in addition to them.",
    )
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        abstract = True

    @property
    def occurrences_per_year(self) -> int | None:
        if self.kind != EntitlementKind.FREQUENCY:
            return None
        if self.frequency == Frequency.UP_TO_N_PER_YEAR:
            return self.max_per_year
        return OCCURRENCES_PER_YEAR[self.frequency]

    def describe(self) -> str:
        """The entitlement in the catalog's words: "Monthly", "Up to 4x per year", "24 hours".

        Also shown for a form that is not valid yet, so missing values read as incomplete.
        """
        incomplete = "(incomplete)"
        if self.kind == EntitlementKind.FREQUENCY:
            if self.frequency == Frequency.UP_TO_N_PER_YEAR:
                return f"Up to {self.max_per_year}x per year" if self.max_per_year else incomplete
            return Frequency(self.frequency).label if self.frequency else incomplete
        if self.kind == EntitlementKind.HOUR_ALLOWANCE:
            return (
                f"{self.hours.normalize():f} hours per year"
                if self.hours is not None
                else incomplete
            )
        return EntitlementKind(self.kind).label if self.kind else incomplete


def entitlement_terms_constraints(prefix: str) -> list[models.BaseConstraint]:
    """Database-level guarantees that every entitlement row is computable."""
    frequency_kind = models.Q(kind=EntitlementKind.FREQUENCY)
    return [
        models.CheckConstraint(
            condition=(
                (frequency_kind & ~models.Q(frequency=""))
                | (~frequency_kind & models.Q(frequency=""))
            ),
            name=f"{prefix}_frequency_iff_kind",
            violation_error_message=(
                "Frequency: choose one for a scheduled entitlement, and none otherwise."
            ),
        ),
        models.CheckConstraint(
            condition=(
                models.Q(
                    frequency=Frequency.UP_TO_N_PER_YEAR,
                    max_per_year__isnull=False,
                    max_per_year__gte=1,
                )
                | (~models.Q(frequency=Frequency.UP_TO_N_PER_YEAR) & models.Q(max_per_year=None))
            ),
            name=f"{prefix}_max_per_year_iff_up_to_n",
            violation_error_message=(
                'Max per year: give N (1 or more) for "up to N per year", and none otherwise.'
            ),
        ),
        models.CheckConstraint(
            condition=(
                models.Q(kind=EntitlementKind.HOUR_ALLOWANCE, hours__isnull=False, hours__gte=0)
                | (~models.Q(kind=EntitlementKind.HOUR_ALLOWANCE) & models.Q(hours=None))
            ),
            name=f"{prefix}_hours_iff_allowance",
            violation_error_message=(
                "Hours: give the yearly hours of an hour allowance, and none otherwise."
            ),
        ),
    ]


class Entitlement(EntitlementTerms):
    """One cell of Tables 2-6 and 10: a package's entitlement to one deliverable."""

    package = models.ForeignKey(Package, on_delete=models.CASCADE, related_name="entitlements")
    deliverable = models.ForeignKey(
        Deliverable, on_delete=models.CASCADE, related_name="entitlements"
    )

    class Meta:
        ordering = ["package__rank", "deliverable__source_table", "deliverable__rank"]
        constraints = [
            models.UniqueConstraint(
                fields=["package", "deliverable"], name="entitlement_unique_per_package"
            ),
            *entitlement_terms_constraints("entitlement"),
        ]

    def __str__(self) -> str:
        return f"{self.package.name}: {self.deliverable.name} ({self.describe()})"


class ExpansionPack(models.Model):
    """Table 9: the expansion packs a package includes; their hours count inside Section 1."""

    class Level(models.TextChoices):
        BASIC = "basic", "Basic deployment"
        INTERMEDIATE = "intermediate", "Intermediate deployment"
        ADVANCED = "advanced", "Advanced deployment"

    package = models.OneToOneField(Package, on_delete=models.CASCADE, related_name="expansion_pack")
    level = models.CharField(max_length=16, choices=Level.choices)
    deployments = models.PositiveSmallIntegerField(validators=[MinValueValidator(1)])
    hours = models.DecimalField(
        max_digits=9, decimal_places=2, validators=[MinValueValidator(Decimal("0"))]
    )
    within_package_hours = models.BooleanField(default=True)

    class Meta:
        ordering = ["package__rank"]

    def __str__(self) -> str:
        return (
            f"{self.package.name}: {self.deployments}x {self.get_level_display()}, {self.hours} h"
        )


class ExpansionUse(models.Model):
    """Section 9: what expansion pack hours can and cannot be used for."""

    code = models.SlugField(max_length=80, unique=True)
    description = models.CharField(max_length=300)
    allowed = models.BooleanField()
    rank = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["-allowed", "rank"]

    def __str__(self) -> str:
        return f"{'Allowed' if self.allowed else 'Not allowed'}: {self.description}"


class Severity(models.Model):
    """Table 7: the issue categories that drive support responsiveness."""

    code = models.CharField(max_length=8, unique=True)
    rank = models.PositiveSmallIntegerField()
    definition = models.TextField()

    class Meta:
        ordering = ["rank"]
        verbose_name_plural = "severities"

    def __str__(self) -> str:
        return self.code
