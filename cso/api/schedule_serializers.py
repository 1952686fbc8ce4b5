"""Shapes of deliverable schedules in the API: occurrences, what CSMs send to reschedule,
deliver, skip and book them, and the entitled-vs-delivered summary.

Input serializers only parse; the rules (the period, the term, Section 3, who may change a
schedule) are the services', which word the messages users see.
"""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ..models import Occurrence, PackageSubscription, SubscriptionEntitlement, TimeEntry
from ..selectors.schedules import occurrence_state
from .ledger_serializers import VisibleRelatedField


class OccurrenceSerializer(serializers.ModelSerializer):
    """One occurrence of a deliverable, within its period (Tables 2-4, Section 3)."""

    organization = serializers.IntegerField(
        source="subscription.contract.organization_id", read_only=True
    )
    contract = serializers.CharField(source="subscription.contract.reference", read_only=True)
    package = serializers.CharField(source="subscription.package.code", read_only=True)
    deliverable = serializers.CharField(source="entitlement.deliverable.code", read_only=True)
    deliverable_name = serializers.CharField(source="entitlement.deliverable.name", read_only=True)
    status = serializers.CharField(read_only=True, help_text="scheduled, delivered or skipped.")
    state = serializers.SerializerMethodField(
        help_text="What became of it as of today for the customer: delivered_on_time, "
        "delivered_late, skipped, overdue (due date passed, still scheduled), unused (one of "
        '"up to N per year" left after its due date), upcoming, or additional_cost (booked).'
    )
    time_entries = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    updated_by = serializers.CharField(
        source="updated_by.get_full_name", read_only=True, allow_null=True
    )

    class Meta:
        model = Occurrence
        fields = [
            "id",
            "subscription",
            "organization",
            "contract",
            "package",
            "entitlement",
            "deliverable",
            "deliverable_name",
            "year_index",
            "period_start",
            "period_end",
            "due_on",
            "optional",
            "additional_cost",
            "is_review",
            "status",
            "state",
            "delivered_on",
            "notes",
            "skip_reason",
            "time_entries",
            "next_reminder_on",
            "updated_by",
        ]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.STR)
    def get_state(self, occurrence: Occurrence) -> str:
        today = self.context["today"](occurrence.subscription.contract.organization)
        return occurrence_state(occurrence, today)


class OccurrenceRescheduleSerializer(serializers.Serializer):
    due_on = serializers.DateField(help_text="The new due date, within the occurrence's period.")


class OccurrenceDeliverSerializer(serializers.Serializer):
    delivered_on = serializers.DateField(help_text="The day it was delivered; not in the future.")
    notes = serializers.CharField(required=False, allow_blank=True, default="")
    time_entries = VisibleRelatedField(
        TimeEntry,
        "subscription__contract__organization",
        many=True,
        required=False,
        default=list,
        help_text="Ids of the time entries logged for it, under the same package subscription.",
    )


class OccurrenceSkipSerializer(serializers.Serializer):
    reason = serializers.CharField(allow_blank=True, help_text="Why it is skipped.")


class OccurrenceBookSerializer(serializers.Serializer):
    """Work at additional cost (Table 3), named by deliverable code or by entitlement id."""

    subscription = VisibleRelatedField(PackageSubscription, "contract__organization")
    deliverable = serializers.CharField(
        required=False, help_text="Code of the deliverable, e.g. onsite_operations_monitoring."
    )
    entitlement = VisibleRelatedField(
        SubscriptionEntitlement,
        "subscription__contract__organization",
        required=False,
        help_text="Or the id of the subscription's signed entitlement.",
    )
    due_on = serializers.DateField(help_text="The day it is booked for, within the term.")
    notes = serializers.CharField(required=False, allow_blank=True, default="")

    def validate(self, data: dict) -> dict:
        if ("deliverable" in data) == ("entitlement" in data):
            raise serializers.ValidationError(
                "Give either a deliverable code or an entitlement id."
            )
        if "deliverable" in data:
            subscription, code = data["subscription"], data["deliverable"]
            entitlement = (
                SubscriptionEntitlement.objects.filter(
                    subscription=subscription, deliverable__code=code
                )
                .select_related("deliverable")
                .first()
            )
            if entitlement is None:
                raise serializers.ValidationError(
                    {"deliverable": [f"{subscription} has no deliverable '{code}'."]}
                )
            data["entitlement"] = entitlement
        return data


# --- Entitled vs delivered ----------------------------------------------------------------------


class ScheduleTallySerializer(serializers.Serializer):
    entitled = serializers.IntegerField(
        read_only=True, help_text="Scheduled for the period; not work booked at additional cost."
    )
    due = serializers.IntegerField(
        read_only=True, help_text="Entitled occurrences whose due date has passed."
    )
    delivered_on_time = serializers.IntegerField(
        read_only=True, help_text="Delivered on or before the due date."
    )
    delivered_late = serializers.IntegerField(read_only=True)
    skipped = serializers.IntegerField(read_only=True)
    overdue = serializers.IntegerField(
        read_only=True, help_text="Still scheduled after the due date."
    )
    unused = serializers.IntegerField(
        read_only=True,
        help_text='Of "up to N per year", still scheduled after the due date; not overdue.',
    )
    upcoming = serializers.IntegerField(
        read_only=True, help_text="Still scheduled, due today or later."
    )
    additional_cost = serializers.IntegerField(
        read_only=True, help_text="Booked at additional cost, outside the entitlement."
    )


class ScheduleDeliverableSerializer(ScheduleTallySerializer):
    deliverable = serializers.CharField(read_only=True, help_text="Deliverable code.")
    deliverable_name = serializers.CharField(read_only=True)
    entitlement = serializers.CharField(
        read_only=True, help_text='As signed, e.g. "Twice monthly" or "Up to 4x per year".'
    )


class SchedulePeriodSerializer(serializers.Serializer):
    index = serializers.IntegerField(read_only=True, help_text="Contract year or quarter, from 1.")
    year_index = serializers.IntegerField(read_only=True)
    start = serializers.DateField(read_only=True)
    end = serializers.DateField(read_only=True)
    deliverables = ScheduleDeliverableSerializer(many=True, read_only=True)
    total = ScheduleTallySerializer(read_only=True)


class ScheduleSummarySerializer(serializers.Serializer):
    subscription = serializers.IntegerField(read_only=True)
    organization = serializers.IntegerField(read_only=True)
    contract = serializers.CharField(read_only=True)
    package = serializers.CharField(read_only=True)
    on = serializers.DateField(read_only=True, help_text="The day the figures are as of.")
    total = ScheduleTallySerializer(read_only=True, help_text="The whole term.")
    years = SchedulePeriodSerializer(many=True, read_only=True)
    quarters = SchedulePeriodSerializer(
        many=True, read_only=True, help_text="Only with ?by_quarter=true; by due date."
    )


class ScheduleSummaryQuerySerializer(serializers.Serializer):
    on = serializers.DateField(
        required=False, help_text="The day to count on (YYYY-MM-DD); today for the customer."
    )
    by_quarter = serializers.BooleanField(
        required=False, default=False, help_text="Also count per contract quarter."
    )
