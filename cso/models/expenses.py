"""Section 1: travel and expenses are billed separately, with the customer's advance approval."""

from django.conf import settings
from django.db import models

from accounts.models import LineOfBusiness

from .contracts import PackageSubscription


class TravelExpense(models.Model):
    """A trip's costs, requested by a CSM before travel and approved or declined by the customer.

    T&E never touches the hour bank; approved amounts appear in the finance export beside the
    overage of the quarter they fall in.
    """

    class Status(models.TextChoices):
        REQUESTED = "requested", "Awaiting customer approval"
        APPROVED = "approved", "Approved"
        DECLINED = "declined", "Declined"

    subscription = models.ForeignKey(
        PackageSubscription, on_delete=models.PROTECT, related_name="travel_expenses"
    )
    line_of_business = models.ForeignKey(
        LineOfBusiness, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    incurred_on = models.DateField(help_text="Date of travel.")
    quarter_index = models.PositiveSmallIntegerField()
    quarter_start = models.DateField()
    quarter_end = models.DateField()
    description = models.CharField(max_length=300)
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.REQUESTED)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField()
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    customer_note = models.TextField(blank=True)

    class Meta:
        ordering = ["subscription", "-incurred_on"]
        indexes = [models.Index(fields=["status", "quarter_end"], name="travel_expense_status_idx")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(amount__gt=0), name="travel_expense_amount_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.description}: {self.amount} ({self.get_status_display().lower()})"
