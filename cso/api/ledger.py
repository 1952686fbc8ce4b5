"""API views of the hour bank: time entries, consumption, expansion scopes and T&E.

Thin adapters: they scope querysets to the customers the user may see (another customer's
record is simply not found), parse input, and call the services, whose ValidationError becomes
400 with its field messages and whose PermissionDenied becomes 403. Finance's closings and
export are in `cso.api.finance`.
"""

from urllib.parse import urlencode

from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import CUSTOMER_DATA_PERMISSIONS, IsSignedIn
from accounts.selectors import organization_ids_visible_to

from ..models import (
    ExpansionScope,
    PackageSubscription,
    Program,
    TimeEntry,
    TravelExpense,
)
from ..selectors.consumption import Consumption, PeriodConsumption, subscription_consumption
from ..services.expansion import expansion_scope_decide, expansion_scope_propose
from ..services.expenses import travel_expense_decide, travel_expense_request
from ..services.time_entries import (
    EntryFields,
    time_entry_change,
    time_entry_delete,
    time_entry_log,
)
from . import ledger_serializers as shapes
from .ledger_common import decimal_or_text, service_errors, with_organization
from .ledger_filters import (
    ExpansionScopeFilter,
    TimeEntryFilter,
    TravelExpenseFilter,
)

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
        return with_organization(
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
        # A partial change names only its fields (DRF applies no defaults then); the service
        # merges them into the entry under its lock.
        changes = {k: v for k, v in given.validated_data.items() if k != "subscription"}
        with service_errors():
            time_entry_change(entry=entry, changes=changes, by=request.user, now=timezone.now())
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
        on = query.validated_data.get("on") or subscription.contract.organization.today(
            timezone.now()
        )
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
        return with_organization(
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
                hours=decimal_or_text(data["hours"]),
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
        return with_organization(
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
