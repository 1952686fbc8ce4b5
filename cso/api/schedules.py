"""API views of deliverable schedules: occurrences, what the customer's CSM does with them, and
entitled vs delivered per package subscription.

Thin adapters over `cso.services.schedules` and `cso.selectors.schedules`: querysets are scoped to
the customers the user may see (another customer's occurrence is not found), the services'
ValidationError becomes 400 with its field messages and their PermissionDenied 403.
"""

from datetime import date, datetime

import django_filters
from django.db.models import Prefetch
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import Organization
from accounts.permissions import CUSTOMER_DATA_PERMISSIONS, IsSignedIn
from accounts.selectors import organization_ids_visible_to

from ..models import Occurrence, PackageSubscription, TimeEntry
from ..selectors.schedules import (
    TALLY_FIELDS,
    PeriodSummary,
    ScheduleSummary,
    Tally,
    subscription_schedule_summary,
)
from ..services.schedules import (
    occurrence_book,
    occurrence_deliver,
    occurrence_reopen,
    occurrence_reschedule,
    occurrence_skip,
)
from . import schedule_serializers as shapes
from .ledger_common import service_errors, with_organization
from .ledger_filters import _organization_filter, _subscription_filter


class OccurrenceFilter(django_filters.FilterSet):
    subscription = _subscription_filter()
    organization = _organization_filter("subscription__contract__organization")
    deliverable = django_filters.CharFilter(
        field_name="entitlement__deliverable__code",
        help_text="Deliverable code, e.g. quarterly_business_review.",
    )
    due_from = django_filters.DateFilter(
        field_name="due_on", lookup_expr="gte", help_text="Due on or after (YYYY-MM-DD)."
    )
    due_to = django_filters.DateFilter(
        field_name="due_on", lookup_expr="lte", help_text="Due on or before (YYYY-MM-DD)."
    )

    class Meta:
        model = Occurrence
        fields = [
            "subscription",
            "organization",
            "status",
            "is_review",
            "additional_cost",
            "year_index",
            "deliverable",
            "due_from",
            "due_to",
        ]


def _customer_today(now: datetime):
    days: dict[int, date] = {}

    def today(organization: Organization) -> date:
        if organization.pk not in days:
            days[organization.pk] = organization.today(now)
        return days[organization.pk]

    return today


@extend_schema(tags=["schedules"])
@extend_schema_view(
    create=extend_schema(
        request=shapes.OccurrenceBookSerializer, responses={201: shapes.OccurrenceSerializer}
    )
)
class OccurrenceViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Deliverable occurrences of the schedules you may see (Tables 2-4).

    The customer's CSM reschedules them within their period, marks them delivered or skips
    them, and books work at additional cost; everyone else reads.
    """

    serializer_class = shapes.OccurrenceSerializer
    permission_classes = CUSTOMER_DATA_PERMISSIONS
    filterset_class = OccurrenceFilter

    def get_queryset(self):
        visible = organization_ids_visible_to(self.request.user)
        return (
            with_organization(
                Occurrence.objects.filter(subscription__contract__organization__in=visible)
            )
            .select_related(
                "subscription__contract__organization",
                "subscription__package",
                "entitlement__deliverable",
                "updated_by",
            )
            .prefetch_related(
                Prefetch("time_entries", queryset=TimeEntry.objects.only("pk").order_by("pk"))
            )
        )

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "today": _customer_today(timezone.now())}

    def create(self, request, *args, **kwargs):
        """Book work the package gives at additional cost; nothing else is booked (Section 3)."""
        given = shapes.OccurrenceBookSerializer(data=request.data, context={"request": request})
        given.is_valid(raise_exception=True)
        data = given.validated_data
        renamed = {"entitlement": "deliverable"} if "deliverable" in data else {}
        with service_errors(**renamed):
            occurrence = occurrence_book(
                subscription=data["subscription"],
                entitlement=data["entitlement"],
                due_on=data["due_on"],
                notes=data["notes"],
                by=request.user,
                now=timezone.now(),
            )
        return Response(self._out(occurrence.pk), status=status.HTTP_201_CREATED)

    @extend_schema(
        request=shapes.OccurrenceRescheduleSerializer, responses=shapes.OccurrenceSerializer
    )
    @action(detail=True, methods=["post"])
    def reschedule(self, request, pk=None):
        """Move the due date within the occurrence's period."""
        occurrence = self.get_object()
        given = shapes.OccurrenceRescheduleSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        with service_errors():
            occurrence_reschedule(
                occurrence=occurrence,
                due_on=given.validated_data["due_on"],
                by=request.user,
                now=timezone.now(),
            )
        return Response(self._out(occurrence.pk))

    @extend_schema(
        request=shapes.OccurrenceDeliverSerializer, responses=shapes.OccurrenceSerializer
    )
    @action(detail=True, methods=["post"])
    def deliver(self, request, pk=None):
        """Mark it delivered: the day, notes, and the time logged for it."""
        occurrence = self.get_object()
        given = shapes.OccurrenceDeliverSerializer(data=request.data, context={"request": request})
        given.is_valid(raise_exception=True)
        data = given.validated_data
        with service_errors():
            occurrence_deliver(
                occurrence=occurrence,
                delivered_on=data["delivered_on"],
                notes=data["notes"],
                time_entries=list(data["time_entries"]),
                by=request.user,
                now=timezone.now(),
            )
        return Response(self._out(occurrence.pk))

    @extend_schema(request=shapes.OccurrenceSkipSerializer, responses=shapes.OccurrenceSerializer)
    @action(detail=True, methods=["post"])
    def skip(self, request, pk=None):
        """Skip it, saying why."""
        occurrence = self.get_object()
        given = shapes.OccurrenceSkipSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        with service_errors(skip_reason="reason"):
            occurrence_skip(
                occurrence=occurrence, reason=given.validated_data["reason"], by=request.user
            )
        return Response(self._out(occurrence.pk))

    @extend_schema(request=None, responses=shapes.OccurrenceSerializer)
    @action(detail=True, methods=["post"])
    def reopen(self, request, pk=None):
        """Undo a delivery or a skip recorded by mistake."""
        occurrence = self.get_object()
        with service_errors():
            occurrence_reopen(occurrence=occurrence, by=request.user, now=timezone.now())
        return Response(self._out(occurrence.pk))

    def _out(self, pk: int) -> dict:
        return self.get_serializer(self.get_queryset().get(pk=pk)).data


# --- Entitled vs delivered ----------------------------------------------------------------------


def _tally(tally: Tally) -> dict:
    return {name: getattr(tally, name) for name in TALLY_FIELDS}


def _period(period: PeriodSummary) -> dict:
    return {
        "index": period.period.index,
        "year_index": period.year_index,
        "start": period.period.start,
        "end": period.period.end,
        "deliverables": [
            {
                "deliverable": row.code,
                "deliverable_name": row.name,
                "entitlement": row.entitlement,
                **_tally(row.tally),
            }
            for row in period.deliverables
        ],
        "total": _tally(period.total),
    }


def schedule_summary_data(subscription: PackageSubscription, summary: ScheduleSummary) -> dict:
    return {
        "subscription": subscription.pk,
        "organization": subscription.contract.organization_id,
        "contract": subscription.contract.reference,
        "package": subscription.package.code,
        "on": summary.today,
        "total": _tally(summary.total),
        "years": [_period(year) for year in summary.years],
        "quarters": [_period(quarter) for quarter in summary.quarters],
    }


@extend_schema(
    tags=["schedules"],
    parameters=[shapes.ScheduleSummaryQuerySerializer],
    responses=shapes.ScheduleSummarySerializer,
)
class SubscriptionScheduleSummaryView(APIView):
    """Entitled vs delivered per contract year (and quarter): due, delivered on time or late,
    skipped, overdue, unused, upcoming, and work booked at additional cost."""

    permission_classes = [IsSignedIn]

    def get(self, request, pk: int):
        subscription = get_object_or_404(
            PackageSubscription.objects.select_related("contract__organization", "package"),
            pk=pk,
            contract__organization__in=organization_ids_visible_to(request.user),
        )
        query = shapes.ScheduleSummaryQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        on = query.validated_data.get("on") or subscription.contract.organization.today(
            timezone.now()
        )
        summary = subscription_schedule_summary(
            subscription, on, by_quarter=query.validated_data["by_quarter"]
        )
        data = schedule_summary_data(subscription, summary)
        return Response(shapes.ScheduleSummarySerializer(data).data)
