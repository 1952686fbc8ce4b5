"""Deliverable schedules (Tables 2-4): the occurrences a package promises over a term, and the
reminders sent for them.

A subscription's schedule is written when its contract is signed, from the entitlements as
signed, and is never rewritten by catalog changes. Each occurrence stays within its period; the
customer may leave "up to N" occurrences unused (`optional`). Work at additional cost is not
scheduled but can be booked (`additional_cost`).
"""

from django.conf import settings
from django.db import models

from .contracts import PackageSubscription, SubscriptionEntitlement
from .ledger import TimeEntry


class Occurrence(models.Model):
    class Status(models.TextChoices):
        SCHEDULED = "scheduled", "Scheduled"
        DELIVERED = "delivered", "Delivered"
        SKIPPED = "skipped", "Skipped"

    subscription = models.ForeignKey(
        PackageSubscription, on_delete=models.CASCADE, related_name="occurrences"
    )
    entitlement = models.ForeignKey(
        SubscriptionEntitlement, on_delete=models.PROTECT, related_name="occurrences"
    )
    year_index = models.PositiveSmallIntegerField()
    period_start = models.DateField()
    period_end = models.DateField(help_text="The occurrence can be moved within its period.")
    due_on = models.DateField()
    optional = models.BooleanField(
        default=False, help_text='One of "up to N per year": the customer may leave it unused.'
    )
    additional_cost = models.BooleanField(
        default=False, help_text="Booked at additional cost, outside the package."
    )
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.SCHEDULED)
    delivered_on = models.DateField(null=True, blank=True)
    notes = models.TextField(blank=True)
    skip_reason = models.TextField(blank=True)
    time_entries = models.ManyToManyField(TimeEntry, blank=True, related_name="occurrences")
    is_review = models.BooleanField(
        default=False, help_text="Reviews remind the CSM and the customer's contacts."
    )
    # The next reminder the sweep owes, if any (see cso.reminders): kept with the occurrence so
    # the sweep is one indexed range query whatever the size of the schedule.
    next_reminder_on = models.DateField(null=True, blank=True)
    next_reminder_kind = models.CharField(max_length=12, blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["subscription", "due_on", "pk"]
        indexes = [
            models.Index(fields=["next_reminder_on"], name="occurrence_next_reminder_idx"),
            models.Index(fields=["subscription", "due_on"], name="occurrence_due_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(due_on__gte=models.F("period_start"))
                & models.Q(due_on__lte=models.F("period_end")),
                name="occurrence_due_within_period",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.entitlement.deliverable.name}, due {self.due_on}"


class OccurrenceReminder(models.Model):
    """One reminder sent for one occurrence; the unique row is what makes it go out once."""

    occurrence = models.ForeignKey(Occurrence, on_delete=models.CASCADE, related_name="reminders")
    kind = models.CharField(max_length=12)
    sent_at = models.DateTimeField()

    class Meta:
        ordering = ["occurrence", "sent_at"]
        constraints = [
            models.UniqueConstraint(fields=["occurrence", "kind"], name="occurrence_reminder_once")
        ]

    def __str__(self) -> str:
        return f"{self.kind} reminder for {self.occurrence_id}"
