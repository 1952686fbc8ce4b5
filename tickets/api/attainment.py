"""SLA attainment through the API: promises kept and broken per customer, package, severity and
month (see `tickets.selectors` for what is counted). Customers read their own organizations;
staff read every customer's."""

from django.utils import timezone
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import Organization
from accounts.permissions import IsSignedIn
from accounts.selectors import organizations_visible_to, sees_all_customers
from tickets.selectors import AttainmentRow, last_day_of_month, sla_attainment
from tickets.sla import TargetKind

MONTH = "%Y-%m"


@extend_schema_field({"type": "string", "pattern": r"^\d{4}-\d{2}$", "example": "2026-11"})
class MonthField(serializers.DateField):
    """A month as YYYY-MM (its first day inside)."""

    def __init__(self, **kwargs):
        super().__init__(format=MONTH, input_formats=[MONTH], **kwargs)


class AttainmentQuerySerializer(serializers.Serializer):
    organization = serializers.IntegerField(required=False, help_text="A customer's id.")
    month_from = MonthField(required=False, help_text="First month (YYYY-MM, UTC).")
    month_to = MonthField(required=False, help_text="Last month (YYYY-MM, UTC), included.")
    package = serializers.CharField(required=False, help_text="A package code, e.g. premier.")
    severity = serializers.CharField(required=False, help_text="A severity code, e.g. P1.")
    by_kind = serializers.BooleanField(
        required=False,
        default=False,
        help_text="One row per target kind (first response, resolution...) rather than one for "
        "all kinds together.",
    )

    def validate(self, attrs):
        start, end = attrs.get("month_from"), attrs.get("month_to")
        if start and end and end < start:
            raise serializers.ValidationError({"month_to": "The last month is before the first."})
        return attrs


class AttainmentRowSerializer(serializers.Serializer):
    organization = serializers.IntegerField(source="organization_id")
    organization_name = serializers.CharField(source="organization")
    package = serializers.CharField(source="package_code")
    package_name = serializers.CharField()
    severity = serializers.CharField()
    month = MonthField(help_text="Month of the due time, in UTC.")
    target_kind = serializers.ChoiceField(
        choices=[k.value for k in TargetKind],
        allow_null=True,
        help_text="Null when the row counts every kind of target.",
    )
    due = serializers.IntegerField(help_text="Targets met, or unmet past their due time.")
    met_on_time = serializers.IntegerField()
    breached = serializers.IntegerField(help_text="Met late, or still unmet past due.")
    attainment_percent = serializers.DecimalField(
        max_digits=4, decimal_places=1, allow_null=True, help_text="Met on time, of those due."
    )
    average_seconds_late = serializers.IntegerField(
        allow_null=True, help_text="Over the breached targets; unmet ones are late until now."
    )
    worst_seconds_late = serializers.IntegerField(allow_null=True)


class AttainmentSerializer(serializers.Serializer):
    as_of = serializers.DateTimeField(help_text="Unmet targets are counted late until then.")
    rows = AttainmentRowSerializer(many=True)


@extend_schema(
    tags=["tickets"],
    parameters=[AttainmentQuerySerializer],
    responses=AttainmentSerializer,
)
class SlaAttainmentView(APIView):
    """SLA attainment: per customer, package, severity and month of the due time (UTC), the
    targets due, met on time and breached, with the average and worst lateness in seconds."""

    permission_classes = [IsSignedIn]

    def get(self, request):
        query = AttainmentQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        given = query.validated_data
        user = request.user
        organizations = None if sees_all_customers(user) else organizations_visible_to(user)
        if "organization" in given:
            chosen = organizations if organizations is not None else Organization.objects
            organizations = chosen.filter(pk=given["organization"])
        now = timezone.now()
        rows: list[AttainmentRow] = sla_attainment(
            now=now,
            organizations=organizations,
            date_from=given.get("month_from"),
            date_to=last_day_of_month(given["month_to"]) if given.get("month_to") else None,
            package=given.get("package"),
            severity=given.get("severity"),
            by_kind=given["by_kind"],
        )
        return Response(AttainmentSerializer({"as_of": now, "rows": rows}).data)
