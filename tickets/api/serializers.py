"""Shapes of tickets in the API: a ticket with its SLA clocks as of the request, and what
customers and support send to open and work tickets.

Output serializers only read the rows `tickets.services.clocks` stored; breach and lateness are
taken again at the request's `now` (serializer context), so an unmet late target shows its
lateness growing between sweeps. Input serializers only parse; the rules (channels, severities,
who may do what) are the services', which word the messages users see.
"""

from datetime import datetime

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.fields import SkipField

from accounts.api.serializers import LineOfBusinessSerializer
from accounts.models import LineOfBusiness, User
from cso.api.ledger_serializers import VisibleRelatedField
from cso.models import PackageSubscription
from tickets.models import SlaPolicy, Ticket, TicketEscalation, TicketMessage, TicketTarget
from tickets.services.clocks import ticket_target_state
from tickets.services.policies import policy_parsed
from tickets.sla import TargetKind

# Each target kind's due time, at the ticket's top level, under the name a customer reads.
DUE_FIELDS: dict[TargetKind, str] = {
    TargetKind.FIRST_RESPONSE: "first_response_due_at",
    TargetKind.ACKNOWLEDGEMENT: "acknowledgement_due_at",
    TargetKind.PERIODIC_UPDATE: "next_update_due_at",
    TargetKind.RESOLUTION: "resolution_due_at",
    TargetKind.RESTORE: "restore_due_at",
    TargetKind.ROOT_CAUSE_ANALYSIS: "rca_due_at",
    TargetKind.TIME_TO_OPEN: "time_to_open_due_at",
    TargetKind.FOLLOW_UP: "follow_up_due_at",
}
# Always in the answer (null when the policy gives none); the others only when it has them.
ALWAYS_SHOWN = (
    TargetKind.FIRST_RESPONSE,
    TargetKind.PERIODIC_UPDATE,
    TargetKind.RESOLUTION,
    TargetKind.ROOT_CAUSE_ANALYSIS,
)
ENDED = (Ticket.Status.RESOLVED, Ticket.Status.CLOSED)


def ticket_clock_view(ticket: Ticket, now: datetime) -> dict:
    """The ticket's targets as a customer reads them at `now`: each kind's due time and each
    row's state. Reads the prefetched `targets` and `open_pauses` only."""
    policy = policy_parsed(ticket.sla_policy)
    specs = {t.spec.kind: t.spec for t in policy.targets_for(ticket.severity, ticket.sla_package)}
    paused = bool(ticket.open_pauses)
    rows = sorted(ticket.targets.all(), key=lambda row: (row.kind, row.cycle))
    due: dict[str, datetime | None] = {DUE_FIELDS[kind]: None for kind in ALWAYS_SHOWN}
    for row in rows:
        kind = TargetKind(row.kind)
        if kind is TargetKind.PERIODIC_UPDATE:
            # The latest cycle is the next update owed; none once resolved or met.
            owed = ticket.status not in ENDED and row.met_at is None
            due[DUE_FIELDS[kind]] = row.due_at if owed else None
        else:
            due[DUE_FIELDS[kind]] = row.due_at
    targets = []
    for row in rows:
        spec = specs.get(TargetKind(row.kind))
        applies = spec is not None and spec.applies_to(is_bug=ticket.is_bug)
        targets.append(_target(row, now, paused=paused, applies=applies))
    return {**due, "targets": targets}


def _target(row: TicketTarget, now: datetime, *, paused: bool, applies: bool) -> dict:
    state = ticket_target_state(row, now)
    if row.met_at is not None:
        name = "met"
    elif row.due_at is None:
        # No due time: the clock stands still, or the target does not apply (yet): a bug has
        # no non-bug resolution, an RCA is owed only from the resolution.
        name = "paused" if paused and applies and row.started_at else "not_applicable"
    else:
        name = "breached" if state.breached else "running"
    return {
        "kind": row.kind,
        "cycle": row.cycle,
        "duration": row.duration,
        "calendar": row.calendar,
        "started_at": row.started_at,
        "due_at": row.due_at,
        "met_at": row.met_at,
        "state": name,
        "breached": state.breached,
        "seconds_late": state.seconds_late,
    }


class OptionalDueField(serializers.DateTimeField):
    """A due time shown only when the ticket's policy has that target.

    Not read-only, so the schema lists it as optional (the serializer it sits on is never used
    for input): it is absent, not null, when the policy gives no such target.
    """

    def __init__(self, **kwargs):
        super().__init__(required=False, allow_null=True, **kwargs)

    def get_attribute(self, instance):
        clocks = instance.clock_view
        if self.field_name not in clocks:
            raise SkipField()
        return clocks[self.field_name]


def _due(kind: TargetKind, help_text: str):
    name = DUE_FIELDS[kind]
    if kind in ALWAYS_SHOWN:
        return serializers.DateTimeField(
            source=f"clock_view.{name}", read_only=True, allow_null=True, help_text=help_text
        )
    return OptionalDueField(help_text=f"{help_text} Present only when the policy has it.")


class TargetSerializer(serializers.Serializer):
    kind = serializers.CharField(
        read_only=True,
        help_text="first_response, acknowledgement, periodic_update, resolution, restore, "
        "root_cause_analysis, time_to_open or follow_up.",
    )
    cycle = serializers.IntegerField(
        read_only=True, help_text="Periodic updates: 0 from the opening, then one per update."
    )
    duration = serializers.CharField(read_only=True, help_text='As the policy gives it, "2 hours".')
    calendar = serializers.CharField(read_only=True, help_text="The business calendar it runs on.")
    started_at = serializers.DateTimeField(read_only=True, allow_null=True)
    due_at = serializers.DateTimeField(
        read_only=True, allow_null=True, help_text="Null while paused or where it does not apply."
    )
    met_at = serializers.DateTimeField(read_only=True, allow_null=True)
    state = serializers.ChoiceField(
        choices=["met", "breached", "running", "paused", "not_applicable"],
        read_only=True,
        help_text="breached: unmet past its due time; a target met late is met, with breached.",
    )
    breached = serializers.BooleanField(
        read_only=True, help_text="Met after its due time, or still unmet after it."
    )
    seconds_late = serializers.IntegerField(
        read_only=True, help_text="Wall-clock seconds past due, as of the request; 0 when not."
    )


class EscalationSerializer(serializers.ModelSerializer):
    class Meta:
        model = TicketEscalation
        fields = ["after", "action", "target", "due_at", "fired_at", "stopped_at"]
        read_only_fields = fields


class MessageSerializer(serializers.ModelSerializer):
    author = serializers.CharField(source="author.get_full_name", read_only=True)

    class Meta:
        model = TicketMessage
        fields = [
            "id",
            "author",
            "from_staff",
            "is_public",
            "is_root_cause_analysis",
            "body",
            "created_at",
        ]
        read_only_fields = fields


class TicketPackageSerializer(serializers.Serializer):
    code = serializers.CharField(read_only=True)
    name = serializers.CharField(read_only=True)


class TicketPolicySerializer(serializers.ModelSerializer):
    class Meta:
        model = SlaPolicy
        fields = ["code", "name", "version"]
        read_only_fields = fields


class TicketSerializer(serializers.ModelSerializer):
    """A ticket, its conversation and its SLA clocks as of the request.

    Customers get only public messages; internal notes are in the queryset for staff only.
    """

    package = TicketPackageSerializer(source="subscription.package", read_only=True)
    line_of_business = LineOfBusinessSerializer(read_only=True, allow_null=True)
    severity_name = serializers.SerializerMethodField(
        help_text='The severity as the policy names it, e.g. "Critical".'
    )
    assignee = serializers.CharField(
        source="assignee.get_full_name", read_only=True, allow_null=True
    )
    # Text, not an enum: a second "kind" enum would rename the entitlements' KindEnum.
    kind = serializers.CharField(read_only=True, help_text="bug or non_bug.")
    sla_policy = TicketPolicySerializer(read_only=True)
    paused = serializers.SerializerMethodField(
        help_text="The clocks stand still: waiting on the customer, or resolved."
    )
    messages = MessageSerializer(many=True, read_only=True)
    first_response_due_at = _due(TargetKind.FIRST_RESPONSE, "First response due.")
    acknowledgement_due_at = _due(TargetKind.ACKNOWLEDGEMENT, "Acknowledgement due.")
    next_update_due_at = _due(
        TargetKind.PERIODIC_UPDATE, "The next periodic update due; null once resolved."
    )
    resolution_due_at = _due(TargetKind.RESOLUTION, "Resolution due.")
    restore_due_at = _due(TargetKind.RESTORE, "Service restoration due.")
    rca_due_at = _due(
        TargetKind.ROOT_CAUSE_ANALYSIS, "Root cause analysis due; null before the resolution."
    )
    time_to_open_due_at = _due(TargetKind.TIME_TO_OPEN, "Assignment due.")
    follow_up_due_at = _due(TargetKind.FOLLOW_UP, "Follow-up due.")
    targets = TargetSerializer(source="clock_view.targets", many=True, read_only=True)
    escalations = EscalationSerializer(many=True, read_only=True)

    class Meta:
        model = Ticket
        fields = [
            "id",
            "organization",
            "subscription",
            "package",
            "line_of_business",
            "subject",
            "description",
            "severity",
            "severity_name",
            "kind",
            "status",
            "channel",
            "assignee",
            "support_level",
            "sla_policy",
            "opened_at",
            "resolved_at",
            "closed_at",
            "paused",
            *DUE_FIELDS.values(),
            "targets",
            "escalations",
            "messages",
        ]
        read_only_fields = fields

    def to_representation(self, ticket: Ticket) -> dict:
        ticket.clock_view = ticket_clock_view(ticket, self.context["now"])
        return super().to_representation(ticket)

    @extend_schema_field(OpenApiTypes.STR)
    def get_severity_name(self, ticket: Ticket) -> str:
        severities = policy_parsed(ticket.sla_policy).severities
        return next((s.name for s in severities if s.code == ticket.severity), ticket.severity)

    @extend_schema_field(OpenApiTypes.BOOL)
    def get_paused(self, ticket: Ticket) -> bool:
        return bool(ticket.open_pauses)


# --- Input ---------------------------------------------------------------------------------------


class TicketOpenSerializer(serializers.Serializer):
    """What a customer sends to open a ticket; support may also give when it was reported, the
    assignee and the policy."""

    subscription = VisibleRelatedField(
        PackageSubscription, "contract__organization", help_text="Id of the package subscription."
    )
    line_of_business = VisibleRelatedField(
        LineOfBusiness, "organization", required=False, allow_null=True
    )
    subject = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    severity = serializers.CharField(help_text="A severity code of the policy, e.g. P1 or 1.")
    kind = serializers.CharField(
        required=False, default=Ticket.Kind.NON_BUG, help_text="bug or non_bug."
    )
    channel = serializers.ChoiceField(
        choices=Ticket.Channel.choices,
        default=Ticket.Channel.WEB,
        help_text="Customers open cases on the web, or by messaging their primary engineer.",
    )
    opened_at = serializers.DateTimeField(
        required=False, help_text="Support only: when the customer reported the problem."
    )
    assignee = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.filter(is_staff=True, is_active=True),
        required=False,
        help_text="Support only: id of the engineer.",
    )
    sla_policy = serializers.SlugRelatedField(
        slug_field="code",
        queryset=SlaPolicy.objects.all(),
        required=False,
        help_text="Support only: code of another policy than the package's.",
    )


class ReplySerializer(serializers.Serializer):
    body = serializers.CharField(allow_blank=True, trim_whitespace=False)
    is_public = serializers.BooleanField(
        default=True, help_text="False: an internal note, support only."
    )
    is_root_cause_analysis = serializers.BooleanField(default=False, help_text="Support only.")
    wait_on_customer = serializers.BooleanField(
        default=False, help_text="Support only: the reply asks the customer; the clocks pause."
    )


class StatusSerializer(serializers.Serializer):
    status = serializers.CharField(
        help_text="open, waiting_on_customer, resolved or closed. Customers reopen or close a "
        "resolved ticket."
    )


class AssignSerializer(serializers.Serializer):
    assignee = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.filter(is_active=True),
        allow_null=True,
        help_text="Id of the support engineer; null to unassign.",
    )


class RetargetSerializer(serializers.Serializer):
    severity = serializers.CharField(required=False)
    kind = serializers.CharField(required=False, help_text="bug or non_bug.")
    sla_policy = serializers.SlugRelatedField(
        slug_field="code", queryset=SlaPolicy.objects.all(), required=False
    )
