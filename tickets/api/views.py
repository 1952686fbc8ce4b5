"""API views of support tickets: customers open and follow their own, support works them.

Thin adapters over `tickets.services.tickets`: the queryset is scoped to the customers the user
may see (another customer's ticket is not found) and never holds an internal note for a
customer; the services' ValidationError becomes 400 with its field messages and their
PermissionDenied 403. The clock is read once per request (`_now`), so the services and the
lateness shown agree.
"""

from datetime import datetime

import django_filters
from django.db.models import Prefetch
from django.utils import timezone
from django.utils.functional import cached_property
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.permissions import CUSTOMER_DATA_PERMISSIONS, IsSignedIn
from accounts.selectors import organization_ids_visible_to, sees_all_customers
from cso.api.ledger_common import service_errors
from cso.api.ledger_filters import _organization_filter, _subscription_filter
from tickets.models import Ticket, TicketMessage, TicketPause
from tickets.services.tickets import (
    may_work_tickets,
    ticket_assign,
    ticket_open,
    ticket_reply,
    ticket_restored,
    ticket_retarget,
    ticket_status_set,
)

from . import serializers as shapes


def _now() -> datetime:
    """The request's clock: the one seam tests step with time-machine."""
    return timezone.now()


class WorksTickets(IsSignedIn):
    """Support engineers, CSMs and superusers; finance and customers only read."""

    message = "Only support staff do this."

    def has_permission(self, request, view) -> bool:
        return super().has_permission(request, view) and may_work_tickets(request.user)


class TicketFilter(django_filters.FilterSet):
    subscription = _subscription_filter()
    organization = _organization_filter("organization")
    status = django_filters.ChoiceFilter(choices=Ticket.Status.choices)
    severity = django_filters.CharFilter(help_text="A severity code of the policy, e.g. P1.")

    class Meta:
        model = Ticket
        fields = ["subscription", "organization", "status", "severity"]


STAFF_ACTION = [*CUSTOMER_DATA_PERMISSIONS, WorksTickets]


@extend_schema(tags=["tickets"])
@extend_schema_view(
    create=extend_schema(
        request=shapes.TicketOpenSerializer, responses={201: shapes.TicketSerializer}
    )
)
class TicketViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Support tickets with their SLA clocks: each target's due time, whether it was met and by
    how much it is late, as of the request."""

    serializer_class = shapes.TicketSerializer
    permission_classes = CUSTOMER_DATA_PERMISSIONS
    filterset_class = TicketFilter

    @cached_property
    def now(self) -> datetime:
        # A view instance serves one request: one reading of the clock for all it does.
        return _now()

    def get_queryset(self):
        user = self.request.user
        messages = TicketMessage.objects.select_related("author")
        if not sees_all_customers(user):
            messages = messages.filter(is_public=True)  # internal notes stay with the staff
        return (
            Ticket.objects.filter(organization__in=organization_ids_visible_to(user))
            .select_related("subscription__package", "line_of_business", "assignee", "sla_policy")
            .prefetch_related(
                "targets",
                "escalations",
                Prefetch("messages", queryset=messages),
                Prefetch(
                    "pauses",
                    queryset=TicketPause.objects.filter(ended_at__isnull=True),
                    to_attr="open_pauses",
                ),
            )
        )

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "now": self.now}

    def create(self, request, *args, **kwargs):
        """Open a ticket. The package decides the channels a customer may use (Tables 5-6)."""
        given = shapes.TicketOpenSerializer(data=request.data, context={"request": request})
        given.is_valid(raise_exception=True)
        with service_errors():
            ticket = ticket_open(opened_by=request.user, now=self.now, **given.validated_data)
        return Response(self._out(ticket.pk), status=status.HTTP_201_CREATED)

    @extend_schema(request=shapes.ReplySerializer, responses={201: shapes.TicketSerializer})
    @action(detail=True, methods=["post"])
    def replies(self, request, pk=None):
        """Reply on the ticket. A public reply from support is an update; an internal note
        (is_public false) is for support only; wait_on_customer pauses the clocks."""
        ticket = self.get_object()
        given = shapes.ReplySerializer(data=request.data)
        given.is_valid(raise_exception=True)
        with service_errors():
            ticket_reply(ticket=ticket, author=request.user, now=self.now, **given.validated_data)
        return Response(self._out(ticket.pk), status=status.HTTP_201_CREATED)

    @extend_schema(request=shapes.StatusSerializer, responses=shapes.TicketSerializer)
    @action(detail=True, methods=["post"], url_path="status")
    def status_set(self, request, pk=None):
        """Wait on the customer, resume, resolve, reopen or close."""
        ticket = self.get_object()
        given = shapes.StatusSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        with service_errors():
            ticket_status_set(
                ticket=ticket, status=given.validated_data["status"], by=request.user, now=self.now
            )
        return Response(self._out(ticket.pk))

    @extend_schema(request=shapes.AssignSerializer, responses=shapes.TicketSerializer)
    @action(detail=True, methods=["post"], permission_classes=STAFF_ACTION)
    def assign(self, request, pk=None):
        """Assign a support engineer (support only)."""
        ticket = self.get_object()
        given = shapes.AssignSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        with service_errors():
            ticket_assign(
                ticket=ticket,
                assignee=given.validated_data["assignee"],
                by=request.user,
                now=self.now,
            )
        return Response(self._out(ticket.pk))

    @extend_schema(request=None, responses=shapes.TicketSerializer)
    @action(detail=True, methods=["post"], permission_classes=STAFF_ACTION)
    def restored(self, request, pk=None):
        """Record that service is restored (support only): meets the restore target."""
        ticket = self.get_object()
        with service_errors():
            ticket_restored(ticket=ticket, by=request.user, now=self.now)
        return Response(self._out(ticket.pk))

    @extend_schema(request=shapes.RetargetSerializer, responses=shapes.TicketSerializer)
    @action(detail=True, methods=["post"], permission_classes=STAFF_ACTION)
    def retarget(self, request, pk=None):
        """Change severity, kind or policy (support only): every clock is recomputed from the
        opening, and the change is logged."""
        ticket = self.get_object()
        given = shapes.RetargetSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        with service_errors():
            ticket_retarget(ticket=ticket, by=request.user, now=self.now, **given.validated_data)
        return Response(self._out(ticket.pk))

    def _out(self, pk: int) -> dict:
        return self.get_serializer(self.get_queryset().get(pk=pk)).data
