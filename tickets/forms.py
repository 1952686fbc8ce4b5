"""The admin's ticket forms: each saves through one of `tickets.services.tickets`, and the
SLA attainment report's filters.

Like `cso.admin.billing.ServiceForm`, a form rehearses its service call in a savepoint that is
rolled back, so every refusal of the service comes back on the field it concerns before
anything is saved; the admin then makes the call for real (`service_write`).
"""

from django import forms
from django.contrib.admin.widgets import AdminSplitDateTime
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import LineOfBusiness, Organization, User
from cso.models import Package, PackageSubscription
from tickets.models import SlaPolicy, Ticket
from tickets.services.policies import policy_parsed
from tickets.services.tickets import (
    ticket_assign,
    ticket_open,
    ticket_reply,
    ticket_restored,
    ticket_retarget,
    ticket_status_set,
)

Status = Ticket.Status


class _Rehearsal(Exception):
    """Rolls back a write made only to learn whether the service accepts it."""


def severity_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    """Every loaded policy's severities, grouped by policy (the service checks the pair)."""
    return [
        (policy.name, [(s.code, f"{s.code}: {s.name}") for s in policy_parsed(policy).severities])
        for policy in SlaPolicy.objects.order_by("name")
    ]


def ticket_workers():
    return User.objects.filter(
        is_active=True, is_staff=True, role__in=[User.Role.SUPPORT, User.Role.CSM]
    ).order_by("first_name", "email")


class TicketServiceForm(forms.ModelForm):
    """A model form whose save is a service call, rehearsed in `clean`."""

    user: User | None = None  # the signed-in person, set per request by the admin
    # The service's name for a field -> the form's, where they differ.
    service_fields: dict[str, str] = {}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.now = timezone.now()  # one moment for the rehearsal and the write

    def service_write(self) -> Ticket:
        raise NotImplementedError

    def clean(self):
        cleaned = super().clean()
        if not self.errors:
            try:
                with transaction.atomic():
                    self.service_write()
                    raise _Rehearsal
            except _Rehearsal:
                pass
            except ValidationError as error:
                for field, messages in error.message_dict.items():
                    field = self.service_fields.get(field, field)
                    for message in messages:
                        self.add_error(field if field in self.fields else None, message)
            except PermissionDenied as error:
                self.add_error(None, str(error))
        return cleaned


# Opening a ticket ----------------------------------------------------------------------------


class TicketOpenForm(TicketServiceForm):
    """A ticket staff enter: reported by phone, chat or email, or before it reached the portal
    (an earlier opening time: its clocks start then)."""

    severity = forms.ChoiceField(choices=(), help_text="A severity of the ticket's SLA policy.")
    opened_at = forms.SplitDateTimeField(
        required=False,
        widget=AdminSplitDateTime,
        label="Opened at",
        help_text="When the customer reported it, for a ticket entered after the fact (in the "
        "portal's time zone); now when left empty.",
    )
    sla_policy = forms.ModelChoiceField(
        queryset=SlaPolicy.objects.all(),
        required=False,
        label="SLA policy",
        help_text="The policy serving the package when left empty; another vendor's plan only "
        "for tickets that run on it.",
    )

    class Meta:
        model = Ticket
        fields = (
            "subscription",
            "line_of_business",
            "subject",
            "description",
            "severity",
            "kind",
            "channel",
            "opened_at",
            "assignee",
            "sla_policy",
        )
        help_texts = {
            "subscription": "The customer's package the ticket is about.",
            "assignee": "The primary engineer, where the package gives one, when left empty.",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["severity"].choices = [("", "---------"), *severity_choices()]
        if "subscription" in self.fields:
            field = self.fields["subscription"]
            field.queryset = PackageSubscription.objects.select_related(
                "contract__organization", "package"
            ).order_by("contract__organization__name", "contract__reference", "pk")
            field.label_from_instance = (
                lambda s: f"{s.contract.organization.name}: {s.package.name} under "
                f"{s.contract.reference}"
            )
        if "line_of_business" in self.fields:
            self.fields["line_of_business"].queryset = LineOfBusiness.objects.select_related(
                "organization"
            ).order_by("organization__name", "name")
        if "assignee" in self.fields:
            self.fields["assignee"].queryset = ticket_workers()

    def service_write(self) -> Ticket:
        data = self.cleaned_data
        return ticket_open(
            subscription=data["subscription"],
            subject=data["subject"],
            severity=data["severity"],
            opened_by=self.user,
            now=self.now,
            description=data.get("description", ""),
            kind=data["kind"],
            channel=data["channel"],
            line_of_business=data.get("line_of_business"),
            opened_at=data.get("opened_at"),
            assignee=data.get("assignee"),
            sla_policy=data.get("sla_policy"),
        )


# Working a ticket ----------------------------------------------------------------------------

REPLY, NOTE, WAIT = "reply", "note", "wait"
RESOLVE, REOPEN, CLOSE = "resolve", "reopen", "close"
ASSIGN, RESTORED, RETARGET = "assign", "restored", "retarget"
ACTIONS = {
    REPLY: "Public reply: an update the customer sees",
    NOTE: "Internal note: staff only",
    WAIT: "Public reply, then wait on the customer (the clocks pause until they answer)",
    RESOLVE: "Resolve (the clocks stop; the root cause analysis clock starts)",
    REOPEN: "Reopen, or stop waiting on the customer (the clocks run again)",
    CLOSE: "Close a resolved ticket, for good",
    ASSIGN: "Assign",
    RESTORED: "Service restored (meets the restore target)",
    RETARGET: "Change severity, kind or SLA policy (every clock is recalculated, and logged)",
}
WRITES_A_MESSAGE = (REPLY, NOTE, WAIT)


class TicketWorkForm(TicketServiceForm):
    """One thing done to a ticket, by the service that records it."""

    service_fields = {
        "status": "action",
        "assignee": "assign_to",
        "severity": "new_severity",
        "kind": "new_kind",
        "sla_policy": "new_policy",
    }

    action = forms.ChoiceField(
        label="What to do", choices=list(ACTIONS.items()), initial=REPLY, widget=forms.RadioSelect
    )
    body = forms.CharField(label="Message", required=False, widget=forms.Textarea)
    is_root_cause_analysis = forms.BooleanField(
        label="This reply is the root cause analysis", required=False
    )
    assign_to = forms.ModelChoiceField(
        queryset=User.objects.none(),
        required=False,
        label="Assign to",
        help_text="Leave empty to take the ticket off its assignee.",
    )
    new_severity = forms.ChoiceField(choices=(), required=False, label="New severity")
    new_kind = forms.ChoiceField(
        choices=[("", "Keep"), *Ticket.Kind.choices], required=False, label="New kind"
    )
    new_policy = forms.ModelChoiceField(
        queryset=SlaPolicy.objects.all(),
        required=False,
        label="New SLA policy",
        empty_label="Keep",
    )

    class Meta:
        model = Ticket
        fields = ()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assign_to"].queryset = ticket_workers()
        self.fields["new_severity"].choices = [("", "Keep"), *severity_choices()]

    def clean(self):
        """What the chosen action does not use would be lost: ask rather than drop it."""
        data = self.cleaned_data
        action = data.get("action")
        if action not in WRITES_A_MESSAGE and data.get("body", "").strip():
            self.add_error("body", "Choose a reply or an internal note to send this message.")
        if action != REPLY and data.get("is_root_cause_analysis"):
            self.add_error(
                "is_root_cause_analysis", "Choose “Public reply” to send a root cause analysis."
            )
        if action != ASSIGN and data.get("assign_to"):
            self.add_error("assign_to", "Choose “Assign” to assign the ticket.")
        changes = [data.get(name) for name in ("new_severity", "new_kind", "new_policy")]
        if action == RETARGET and not any(changes):
            self.add_error("new_severity", "Choose the new severity, kind or SLA policy.")
        if action != RETARGET and any(changes):
            self.add_error(None, "Choose “Change severity, kind or SLA policy” to change them.")
        return super().clean()

    def service_write(self) -> Ticket:
        data, ticket, by, now = self.cleaned_data, self.instance, self.user, self.now
        action = data["action"]
        if action in WRITES_A_MESSAGE:
            ticket_reply(
                ticket=ticket,
                author=by,
                body=data.get("body", ""),
                now=now,
                is_public=action != NOTE,
                is_root_cause_analysis=data.get("is_root_cause_analysis", False),
                wait_on_customer=action == WAIT,
            )
            return Ticket.objects.get(pk=ticket.pk)
        if action in (RESOLVE, REOPEN, CLOSE):
            status = {RESOLVE: Status.RESOLVED, REOPEN: Status.OPEN, CLOSE: Status.CLOSED}[action]
            return ticket_status_set(ticket=ticket, status=status, by=by, now=now)
        if action == ASSIGN:
            return ticket_assign(ticket=ticket, assignee=data.get("assign_to"), by=by, now=now)
        if action == RESTORED:
            return ticket_restored(ticket=ticket, by=by, now=now)
        return ticket_retarget(
            ticket=ticket,
            by=by,
            now=now,
            severity=data.get("new_severity") or None,
            kind=data.get("new_kind") or None,
            sla_policy=data.get("new_policy"),
        )


# The attainment report's filters -----------------------------------------------------------


class MonthField(forms.DateField):
    """A month, typed or picked as YYYY-MM: its first day."""

    widget = forms.DateInput(attrs={"type": "month"}, format="%Y-%m")
    input_formats = ["%Y-%m"]
    default_error_messages = {"invalid": "Give a month as YYYY-MM."}


class AttainmentFilterForm(forms.Form):
    customer = forms.ModelChoiceField(
        queryset=Organization.objects.none(), required=False, empty_label="All customers"
    )
    month_from = MonthField(required=False, label="From month")
    month_to = MonthField(required=False, label="To month")
    package = forms.ModelChoiceField(
        queryset=Package.objects.order_by("rank"),
        to_field_name="code",
        required=False,
        empty_label="All packages",
    )
    severity = forms.ChoiceField(choices=(), required=False)
    by_kind = forms.BooleanField(required=False, label="A row per target kind")

    def __init__(self, *args, customers, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["customer"].queryset = customers.order_by("name")
        self.fields["severity"].choices = [("", "All severities"), *severity_choices()]

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("month_from"), cleaned.get("month_to")
        if start and end and end < start:
            self.add_error("month_to", "The last month is before the first.")
        return cleaned
