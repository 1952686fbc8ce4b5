"""Section 9: expansion work is scoped first, and the customer decides before work starts."""

from django.conf import settings
from django.db import models

from .catalog import ExpansionUse
from .contracts import PackageSubscription


class ExpansionScope(models.Model):
    """One implementation effort on a subscription's expansion pack, as a CSM scoped it.

    "You and your organization will have the opportunity to approve the hours allocation, fund
    additional hours (if required), or change the scope to fit within an Expansion Pack prior to
    LivePerson beginning any work." Time is logged against a scope only once it is approved.
    """

    class Status(models.TextChoices):
        PROPOSED = "proposed", "Proposed"
        APPROVED = "approved", "Approved"
        CHANGE_REQUESTED = "change_requested", "Change requested"

    subscription = models.ForeignKey(
        PackageSubscription, on_delete=models.PROTECT, related_name="expansion_scopes"
    )
    title = models.CharField(max_length=200)
    use = models.ForeignKey(
        ExpansionUse,
        on_delete=models.PROTECT,
        related_name="+",
        limit_choices_to={"allowed": True},
        help_text="What the hours are for; only the uses Section 9 allows.",
    )
    description = models.TextField(blank=True)
    hours = models.DecimalField(
        max_digits=9, decimal_places=2, help_text="Hours the work is scoped at."
    )
    funded_hours = models.DecimalField(
        max_digits=9,
        decimal_places=2,
        default=0,
        help_text=(
            "Of those, hours beyond what the expansion pack has left, which the customer agreed "
            "to pay for at the overage rate."
        ),
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PROPOSED)
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    proposed_at = models.DateTimeField()
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    customer_note = models.TextField(blank=True, help_text="The customer's reason or request.")

    class Meta:
        ordering = ["subscription", "-proposed_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(hours__gt=0, funded_hours__gte=0),
                name="expansion_scope_hours_positive",
            ),
            models.CheckConstraint(
                condition=models.Q(funded_hours__lte=models.F("hours")),
                name="expansion_scope_funded_within_scope",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.hours} h, {self.get_status_display().lower()})"
