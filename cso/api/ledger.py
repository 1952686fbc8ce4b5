"""API views of the hour bank: time entries, consumption, expansion scopes, T&E, quarter
closings and finance's overage export.

Thin adapters: they scope querysets to the customers the user may see (another customer's
record is simply not found), parse input, and call the services, whose ValidationError becomes
400 with its field messages and whose PermissionError becomes 403.
"""

import csv
import io
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal, InvalidOperation
from urllib.parse import urlencode

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import F
from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import CUSTOMER_DATA_PERMISSIONS, IsSignedIn
from accounts.selectors import organization_ids_visible_to, sees_all_customers

from ..models import (
    ExpansionScope,
    PackageSubscription,
    Program,
    QuarterClosing,
    TimeEntry,
    TravelExpense,
)
from ..selectors.consumption import Consumption, PeriodConsumption, subscription_consumption
from ..selectors.overage import COLUMNS, OverageFilter, overage_rows
from ..services.closings import quarter_close, quarters_close_through
from ..services.expansion import expansion_scope_decide, expansion_scope_propose
from ..services.expenses import travel_expense_decide, travel_expense_request
from ..services.time_entries import (
    EntryFields,
    customer_today,
    time_entry_change,
    time_entry_delete,
    time_entry_log,
)
from . import ledger_serializers as shapes
from .ledger_filters import (
    ExpansionScopeFilter,
    QuarterClosingFilter,
    TimeEntryFilter,
    TravelExpenseFilter,
)

CSV_ROWS_PER_CHUNK = 500
_ORGANIZATION = F("subscription__contract__organization_id")


@contextmanager
def service_errors():
    """The services' refusals, as API responses: 400 with field messages, or 403."""
    try:
        yield
    except DjangoValidationError as error:
        detail = error.message_dict if hasattr(error, "error_dict") else error.messages
        raise exceptions.ValidationError(detail) from error
    except (PermissionError, DjangoPermissionDenied) as error:
        raise exceptions.PermissionDenied(str(error) or None) from error


class SeesAllCustomers(IsSignedIn):
    """Vendor staff only: CSMs, finance and superusers."""

    message = "Only CSMs and finance see this."

    def has_permission(self, request, view) -> bool:
        return super().has_permission(request, view) and sees_all_customers(request.user)


def _with_organization(queryset):
    # `organization_id` lets IsStaffOrMember check the record's customer without a query.
    return queryset.annotate(organization_id=_ORGANIZATION)


def _decimal_or_text(value: str) -> Decimal | str:
    """A Decimal when the text is one; otherwise the text, for the service to refuse by name."""
    try:
        return Decimal(value.strip())
    except (InvalidOperation, ValueError):
        return value


# --- Time entries -------------------------------------------------------------------------------


@extend_schema(tags=["hour bank"])
@extend_schema_view(
    create=extend_schema(
        request=shapes.TimeEntryInputSerializer, responses={201: shapes.TimeEntrySerializer}
    ),
    update=extend_schema(
        request=shapes.TimeEntryChangeSerializer, responses=shapes.TimeEntrySerializer
    ),
    partial_update=extend_schema(
        request=shapes.TimeEntryChangeSerializer, responses=shapes.TimeEntrySerializer
    ),
)
class TimeEntryViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Time logged for customers, with its split; the customer's CSM logs and corrects it."""

    serializer_class = shapes.TimeEntrySerializer
    permission_classes = CUSTOMER_DATA_PERMISSIONS
    filterset_class = TimeEntryFilter

    def get_queryset(self):
        return _with_organization(
            TimeEntry.objects.filter(
                subscription__contract__organization__in=organization_ids_visible_to(
                    self.request.user
                )
            ).select_related(
                "subscription__contract",
                "subscription__package",
                "program",
                "line_of_business",
                "entitlement__deliverable",
                "logged_by",
            )
        )

    def _fields(self, data: dict) -> EntryFields:
        return EntryFields(**{k: v for k, v in data.items() if k != "subscription"})

    def create(self, request, *args, **kwargs):
        given = shapes.TimeEntryInputSerializer(data=request.data, context={"request": request})
        given.is_valid(raise_exception=True)
        with service_errors():
            entry = time_entry_log(
                subscription=given.validated_data["subscription"],
                fields=self._fields(given.validated_data),
                logged_by=request.user,
                now=timezone.now(),
            )
        return Response(self._out(entry.pk), status=status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        entry = self.get_object()
        partial = kwargs.get("partial", False)
        given = shapes.TimeEntryChangeSerializer(
            data=request.data, partial=partial, context={"request": request}
        )
        given.is_valid(raise_exception=True)
        current = {
            "worked_on": entry.worked_on,
            "hours": entry.hours,
            "program": entry.program,
            "line_of_business": entry.line_of_business,
            "entitlement": entry.entitlement,
            "expansion_scope": entry.expansion_scope,
            "description": entry.description,
            "adjusts": entry.adjusts,
        }
        # A partial change leaves out absent fields (DRF applies no defaults then).
        current.update(given.validated_data)
        with service_errors():
            time_entry_change(
                entry=entry, fields=self._fields(current), by=request.user, now=timezone.now()
            )
        return Response(self._out(entry.pk))

    def partial_update(self, request, *args, **kwargs):
        return self.update(request, *args, partial=True, **kwargs)

    def destroy(self, request, *args, **kwargs):
        entry = self.get_object()
        with service_errors():
            time_entry_delete(entry=entry, by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    def _out(self, pk: int) -> dict:
        return self.get_serializer(self.get_queryset().get(pk=pk)).data


# --- Consumption --------------------------------------------------------------------------------


def _entries_link(request, subscription_id: int, period, program: str | None = None) -> str:
    query = {
        "subscription": subscription_id,
        "worked_on_from": period.start.isoformat(),
        "worked_on_to": period.end.isoformat(),
    }
    if program is not None:
        query["program"] = program
    return request.build_absolute_uri(f"{reverse('time-entry-list')}?{urlencode(query)}")


def _usage(usage) -> dict:
    return {
        "used": usage.used,
        "included": usage.included,
        "overage": usage.overage,
        "prepaid": usage.prepaid,
        "additional_cost": usage.additional_cost,
    }


def _period(request, subscription_id: int, period: PeriodConsumption, codes: dict) -> dict:
    by_program = []
    for name, usage in period.by_program.items():
        code = codes.get(name)
        link = _entries_link(request, subscription_id, period.period, code) if code else None
        by_program.append({"program": code, "program_name": name, **_usage(usage), "entries": link})
    return {
        "index": period.period.index,
        "start": period.period.start,
        "end": period.period.end,
        "allowance": period.allowance,
        **_usage(period.usage),
        "remaining": period.remaining,
        "percent_used": period.percent_used,
        "by_program": by_program,
        "entry_ids": period.entry_ids,
        "entries": _entries_link(request, subscription_id, period.period),
    }


def consumption_data(request, consumption: Consumption) -> dict:
    subscription = consumption.subscription
    names = set(consumption.year.by_program)
    codes = dict(Program.objects.filter(name__in=names).values_list("name", "code"))
    return {
        "subscription": subscription.pk,
        "organization": subscription.contract.organization_id,
        "contract": subscription.contract.reference,
        "package": subscription.package.code,
        "on": consumption.on,
        "quarter": _period(request, subscription.pk, consumption.quarter, codes),
        "year": _period(request, subscription.pk, consumption.year, codes),
    }


@extend_schema(
    tags=["hour bank"],
    parameters=[shapes.ConsumptionQuerySerializer],
    responses=shapes.ConsumptionSerializer,
)
class SubscriptionConsumptionView(APIView):
    """Hours used this contract quarter and year, by program, with the entries behind them."""

    permission_classes = [IsSignedIn]

    def get(self, request, pk: int):
        subscription = get_object_or_404(
            PackageSubscription.objects.select_related("contract__organization", "package"),
            pk=pk,
            contract__organization__in=organization_ids_visible_to(request.user),
        )
        query = shapes.ConsumptionQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        on = query.validated_data.get("on") or customer_today(subscription, timezone.now())
        consumption = subscription_consumption(subscription, on)
        return Response(shapes.ConsumptionSerializer(consumption_data(request, consumption)).data)


# --- Expansion scopes and T&E: the CSM asks, the customer's admins decide -----------------------


@extend_schema(tags=["hour bank"])
@extend_schema_view(
    create=extend_schema(
        request=shapes.ExpansionScopeInputSerializer,
        responses={201: shapes.ExpansionScopeSerializer},
    ),
    update=extend_schema(
        request=shapes.ExpansionScopeChangeSerializer, responses=shapes.ExpansionScopeSerializer
    ),
)
class ExpansionScopeViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Section 9: expansion work as the CSM scoped it, and the customer's decision."""

    serializer_class = shapes.ExpansionScopeSerializer
    permission_classes = CUSTOMER_DATA_PERMISSIONS
    filterset_class = ExpansionScopeFilter
    http_method_names = ["get", "post", "put", "head", "options"]

    def get_queryset(self):
        visible = organization_ids_visible_to(self.request.user)
        return _with_organization(
            ExpansionScope.objects.filter(subscription__contract__organization__in=visible)
        ).select_related("subscription__contract", "use", "proposed_by", "decided_by")

    def _propose(self, request, serializer_class, subscription, scope=None) -> ExpansionScope:
        given = serializer_class(data=request.data, context={"request": request})
        given.is_valid(raise_exception=True)
        data = given.validated_data
        with service_errors():
            return expansion_scope_propose(
                subscription=subscription or data["subscription"],
                title=data["title"],
                use=data["use"],
                hours=_decimal_or_text(data["hours"]),
                description=data["description"],
                by=request.user,
                scope=scope,
                now=timezone.now(),
            )

    def create(self, request, *args, **kwargs):
        scope = self._propose(request, shapes.ExpansionScopeInputSerializer, None)
        return Response(self._out(scope.pk), status=status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        """The CSM revises a scope the customer asked to change; it is proposed again."""
        scope = self.get_object()
        self._propose(request, shapes.ExpansionScopeChangeSerializer, scope.subscription, scope)
        return Response(self._out(scope.pk))

    @extend_schema(
        request=shapes.ExpansionDecisionSerializer, responses=shapes.ExpansionScopeSerializer
    )
    @action(detail=True, methods=["post"])
    def decision(self, request, pk=None):
        """A customer admin approves the hours, funds those beyond the pack, or asks for a
        change."""
        scope = self.get_object()
        given = shapes.ExpansionDecisionSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        with service_errors():
            expansion_scope_decide(
                scope=scope, by=request.user, now=timezone.now(), **given.validated_data
            )
        return Response(self._out(scope.pk))

    def _out(self, pk: int) -> dict:
        return self.get_serializer(self.get_queryset().get(pk=pk)).data


@extend_schema(tags=["hour bank"])
@extend_schema_view(
    create=extend_schema(
        request=shapes.TravelExpenseInputSerializer,
        responses={201: shapes.TravelExpenseSerializer},
    )
)
class TravelExpenseViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Section 1: travel and expenses, requested by the CSM and approved by the customer
    in advance."""

    serializer_class = shapes.TravelExpenseSerializer
    permission_classes = CUSTOMER_DATA_PERMISSIONS
    filterset_class = TravelExpenseFilter

    def get_queryset(self):
        visible = organization_ids_visible_to(self.request.user)
        return _with_organization(
            TravelExpense.objects.filter(subscription__contract__organization__in=visible)
        ).select_related("subscription__contract", "line_of_business", "requested_by", "decided_by")

    def create(self, request, *args, **kwargs):
        given = shapes.TravelExpenseInputSerializer(data=request.data, context={"request": request})
        given.is_valid(raise_exception=True)
        with service_errors():
            expense = travel_expense_request(
                by=request.user, now=timezone.now(), **given.validated_data
            )
        return Response(self._out(expense.pk), status=status.HTTP_201_CREATED)

    @extend_schema(
        request=shapes.TravelExpenseDecisionSerializer, responses=shapes.TravelExpenseSerializer
    )
    @action(detail=True, methods=["post"])
    def decision(self, request, pk=None):
        """A customer admin approves or declines, no later than the travel date."""
        expense = self.get_object()
        given = shapes.TravelExpenseDecisionSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        with service_errors():
            travel_expense_decide(
                expense=expense, by=request.user, now=timezone.now(), **given.validated_data
            )
        return Response(self._out(expense.pk))

    def _out(self, pk: int) -> dict:
        return self.get_serializer(self.get_queryset().get(pk=pk)).data


# --- Quarter closings (finance) -----------------------------------------------------------------


@extend_schema(tags=["hour bank"])
class QuarterClosingViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Contract quarters finance has closed: their entries are final and billed."""

    serializer_class = shapes.QuarterClosingSerializer
    permission_classes = [SeesAllCustomers]
    filterset_class = QuarterClosingFilter
    queryset = QuarterClosing.objects.select_related("contract", "closed_by")

    @extend_schema(
        request=shapes.QuarterClosingInputSerializer,
        responses={201: shapes.QuarterClosingSerializer(many=True)},
    )
    def create(self, request, *args, **kwargs):
        """Finance closes one contract quarter, or every quarter ended by a day."""
        given = shapes.QuarterClosingInputSerializer(
            data=request.data, context={"request": request}
        )
        given.is_valid(raise_exception=True)
        data, now = given.validated_data, timezone.now()
        with service_errors():
            if "through" in data:
                closings = quarters_close_through(
                    through=data["through"],
                    organization=data["organization"],
                    by=request.user,
                    now=now,
                )
            else:
                closing = quarter_close(
                    contract=data["contract"],
                    quarter_index=data["quarter_index"],
                    by=request.user,
                    now=now,
                )
                closings = [closing]
        closings = self.get_queryset().filter(pk__in=[c.pk for c in closings])
        closed = self.get_serializer(closings, many=True).data
        return Response(closed, status=status.HTTP_201_CREATED)


# --- Overage export (finance) -------------------------------------------------------------------


def overage_csv_chunks(
    criteria: OverageFilter, rows_per_chunk: int = CSV_ROWS_PER_CHUNK
) -> Iterator[str]:
    """The export as CSV text, header first, a chunk every `rows_per_chunk` rows.

    Only one chunk is held at a time, and the rows stream from the database, so memory stays
    the same however many rows there are.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    pending = 0
    for row in overage_rows(criteria):
        writer.writerow([row[column] for column in COLUMNS])
        pending += 1
        if pending == rows_per_chunk:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate(0)
            pending = 0
    yield buffer.getvalue()


def overage_criteria(user, query: dict) -> OverageFilter:
    """What the user asked for, narrowed to the customers they may see."""
    organization = query.get("organization")
    if organization is not None:
        organization_ids = [organization.pk]  # already checked as visible
    elif sees_all_customers(user):
        organization_ids = None
    else:
        organization_ids = list(organization_ids_visible_to(user).values_list("pk", flat=True))
    return OverageFilter(
        period_start=query["period_start"],
        period_end=query["period_end"],
        organization_ids=organization_ids,
        overage_only=query["overage_only"],
    )


class CSVRenderer(BaseRenderer):
    """Lets clients ask for text/csv; refusals come as CSV too, one message per line."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        items = data.items() if isinstance(data, dict) else [("detail", data)]
        for field, messages in items:
            for message in messages if isinstance(messages, list) else [messages]:
                writer.writerow([field, message])
        return buffer.getvalue().encode(self.charset)


@extend_schema(
    tags=["finance"],
    parameters=[shapes.OverageExportQuerySerializer],
    responses={
        (200, "text/csv"): OpenApiResponse(
            OpenApiTypes.STR, description="One row per contract quarter, rate and line."
        ),
        (400, "application/json"): OpenApiResponse(OpenApiTypes.OBJECT, description="Bad query."),
    },
)
class OverageExportView(APIView):
    """Billable hours per customer, contract, package, line of business and contract quarter,
    with the rate, the amount and approved T&E, as a CSV download. Customers get their own rows.
    """

    permission_classes = [IsSignedIn]
    renderer_classes = [JSONRenderer, CSVRenderer]

    def get(self, request):
        query = shapes.OverageExportQuerySerializer(
            data=request.query_params, context={"request": request}
        )
        query.is_valid(raise_exception=True)
        criteria = overage_criteria(request.user, query.validated_data)
        response = StreamingHttpResponse(
            overage_csv_chunks(criteria), content_type="text/csv; charset=utf-8"
        )
        name = f"overage-{criteria.period_start}-{criteria.period_end}.csv"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response
