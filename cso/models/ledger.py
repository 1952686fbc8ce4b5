"""The hour bank: time logged against a package subscription, and finance's quarter closings.

Each entry stores how the budget split it (included, overage, prepaid expansion, additional
cost) and which contract quarter and year it fell in. The split is derived data: the services
recompute it for the whole subscription whenever an entry changes, under a lock on the
subscription, so it always equals what `cso.budget.budget_split` gives for the entries as they
stand.
"""

from decimal import Decimal

from django.conf import settings
from django.db import models

from accounts.models import LineOfBusiness

from .catalog import Program
from .contracts import Contract, PackageSubscription, SubscriptionEntitlement

ZERO = Decimal("0")


def _hours_field(**kwargs) -> models.DecimalField:
    return models.DecimalField(max_digits=9, decimal_places=2, **kwargs)


class TimeEntry(models.Model):
    """Time a CSM spent for a customer under one package subscription."""

    class Limit(models.TextChoices):
        QUARTER = "quarter", "Quarter's hours used up"
        YEAR = "year", "Year's hours used up"
        ALLOWANCE = "allowance", "Allowance used up"
        ADDITIONAL_COST = "additional_cost", "At additional cost"

    subscription = models.ForeignKey(
        PackageSubscription, on_delete=models.PROTECT, related_name="time_entries"
    )
    worked_on = models.DateField()
    hours = _hours_field(help_text="Negative only on an adjusting entry that gives hours back.")
    program = models.ForeignKey(Program, on_delete=models.PROTECT, related_name="time_entries")
    line_of_business = models.ForeignKey(
        LineOfBusiness, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    entitlement = models.ForeignKey(
        SubscriptionEntitlement,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="time_entries",
        help_text="The deliverable this time delivered, as the subscription signed it.",
    )
    expansion_scope = models.ForeignKey(
        "cso.ExpansionScope",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="time_entries",
    )
    description = models.TextField(blank=True)
    adjusts = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="adjustments",
        help_text="The entry in a closed quarter that this entry corrects.",
    )
    source_key = models.CharField(
        max_length=100,
        null=True,
        blank=True,
        unique=True,
        help_text="Identifies an imported entry, so importing the same file again adds nothing.",
    )
    logged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="time_entries"
    )
    logged_at = models.DateTimeField(help_text="When the entry was logged; orders same-day work.")

    # How the budget split the entry (derived; see cso.budget).
    quarter_index = models.PositiveSmallIntegerField()
    quarter_start = models.DateField()
    quarter_end = models.DateField()
    year_index = models.PositiveSmallIntegerField()
    included_hours = _hours_field(default=ZERO)
    overage_hours = _hours_field(default=ZERO)
    prepaid_hours = _hours_field(
        default=ZERO, help_text="Covered by expansion hours bought with the renewal."
    )
    additional_cost_hours = _hours_field(default=ZERO)
    limited_by = models.CharField(max_length=20, choices=Limit.choices, blank=True)

    class Meta:
        verbose_name_plural = "time entries"
        ordering = ["-worked_on", "-logged_at", "-id"]
        indexes = [
            models.Index(
                fields=["subscription", "worked_on", "logged_at", "id"],
                name="time_entry_application_idx",
            ),
            models.Index(fields=["quarter_end"], name="time_entry_quarter_end_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=~models.Q(hours=0), name="time_entry_hours_not_zero"),
            models.CheckConstraint(
                condition=models.Q(hours__gt=0) | models.Q(adjusts__isnull=False),
                name="time_entry_negative_only_adjusting",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.hours} h on {self.worked_on} ({self.program})"


class QuarterClosing(models.Model):
    """Finance has closed one contract quarter: its entries are final and billed."""

    contract = models.ForeignKey(Contract, on_delete=models.PROTECT, related_name="closings")
    quarter_index = models.PositiveSmallIntegerField()
    quarter_start = models.DateField()
    quarter_end = models.DateField()
    closed_at = models.DateTimeField()
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["contract", "quarter_index"]
        constraints = [
            models.UniqueConstraint(
                fields=["contract", "quarter_index"], name="quarter_closing_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.contract.reference} Q{self.quarter_index} closed"


class ConsumptionAlert(models.Model):
    """An alert that a period's hours reached a threshold; the unique row makes it go out once."""

    class PeriodKind(models.TextChoices):
        QUARTER = "quarter", "Quarter"
        YEAR = "year", "Year"

    subscription = models.ForeignKey(
        PackageSubscription, on_delete=models.CASCADE, related_name="consumption_alerts"
    )
    period_kind = models.CharField(max_length=8, choices=PeriodKind.choices)
    period_index = models.PositiveSmallIntegerField()
    threshold_percent = models.PositiveSmallIntegerField()
    used_hours = _hours_field()
    allowance_hours = _hours_field()
    sent_at = models.DateTimeField()

    class Meta:
        ordering = ["subscription", "period_kind", "period_index", "threshold_percent"]
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "period_kind", "period_index", "threshold_percent"],
                name="consumption_alert_once",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.threshold_percent}% of {self.period_kind} {self.period_index}"
