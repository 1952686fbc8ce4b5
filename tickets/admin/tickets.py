"""Tickets in the admin: where support engineers and CSMs work them.

The list shows what is due next and what is breached now; a ticket's page shows its clocks
(targets, escalations, pauses, recalculations) and its conversation, read only, and one form to
act on it: reply, note, wait on the customer, resolve, reopen, close, assign, record the
restoration, or change severity, kind or policy. Every write goes through
`tickets.services.tickets` (see `tickets.forms`); a closed ticket is a record. Staff also open
tickets here, with an earlier opening time for historic ones, or import them from a file.
"""

from django.contrib import admin
from django.db.models import Exists, OuterRef, Q, Subquery
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from import_export.admin import ImportMixin
from import_export.formats import base_formats

from portal.imports import CheckedImportAdminMixin
from tickets.forms import ACTIONS, TicketOpenForm, TicketWorkForm
from tickets.models import (
    SlaRecalculation,
    Ticket,
    TicketEscalation,
    TicketMessage,
    TicketPause,
    TicketTarget,
)
from tickets.resources import TicketResource
from tickets.services.clocks import ticket_target_state
from tickets.services.tickets import may_work_tickets


def breached_now(now) -> Q:
    """A target met late, or still unmet past its due time."""
    return Q(breached=True) | Q(met_at__isnull=True, due_at__lt=now)


# Read-only inlines: the ticket's clocks and conversation -----------------------------------


class RecordInline(admin.TabularInline):
    """Rows the services write; nobody edits them by hand."""

    extra = 0
    can_delete = False
    show_change_link = False

    def get_readonly_fields(self, request, obj=None):
        return self.fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class TargetInline(RecordInline):
    model = TicketTarget
    verbose_name_plural = "SLA targets"
    fields = (
        "kind",
        "cycle",
        "duration",
        "calendar",
        "started_at",
        "due_at",
        "met_at",
        "state",
        "seconds_late",
    )

    @admin.display(description="state")
    def state(self, target: TicketTarget) -> str:
        if target.due_at is None:
            return "No due time (paused, not started or not applicable)"
        now = timezone.now()
        late = ticket_target_state(target, now).breached
        if target.met_at is not None:
            return "Met late" if late else "Met on time"
        return "Breached" if late else "Running"

    @admin.display(description="seconds late")
    def seconds_late(self, target: TicketTarget) -> int:
        """As of now for an unmet target (or its ticket's closing): the stored figure is as of
        its last refresh."""
        return ticket_target_state(target, timezone.now()).seconds_late


class EscalationInline(RecordInline):
    model = TicketEscalation
    fields = (
        "position",
        "after",
        "action",
        "target",
        "unless_met",
        "due_at",
        "stopped_at",
        "fired_at",
    )


class PauseInline(RecordInline):
    model = TicketPause
    verbose_name_plural = "pauses of the clocks"
    fields = ("reason", "started_at", "ended_at")


class RecalculationInline(RecordInline):
    model = SlaRecalculation
    verbose_name_plural = "SLA recalculations"
    fields = ("at", "actor", "reason", "due_times_moved")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("actor")

    @admin.display(description="due times moved")
    def due_times_moved(self, recalculation: SlaRecalculation) -> str:
        moved = [
            f"{c['target']} #{c['cycle']}: {c['before'] or 'none'} → {c['after'] or 'none'}"
            for c in recalculation.changes
        ]
        return "; ".join(moved) or "None"


class MessageInline(RecordInline):
    model = TicketMessage
    verbose_name = "message"
    verbose_name_plural = "public replies and internal notes"
    fields = ("created_at", "what", "author", "body")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("author")

    @admin.display(description="")
    def what(self, message: TicketMessage) -> str:
        if not message.is_public:
            return "Internal note"
        if message.is_root_cause_analysis:
            return "Root cause analysis"
        return "Public reply" + ("" if message.from_staff else " from the customer")


# The list ----------------------------------------------------------------------------------


class BreachedFilter(admin.SimpleListFilter):
    title = "breached"
    parameter_name = "breached"

    def lookups(self, request, model_admin):
        return [("yes", "A target breached"), ("no", "No target breached")]

    def queryset(self, request, queryset):
        if self.value() in {"yes", "no"}:
            return queryset.filter(is_breached=self.value() == "yes")
        return queryset


@admin.register(Ticket)
class TicketAdmin(CheckedImportAdminMixin, ImportMixin, admin.ModelAdmin):
    resource_classes = [TicketResource]
    import_formats = [base_formats.CSV, base_formats.XLSX]
    import_template_name = "admin/tickets/ticket/import.html"
    import_export_change_list_template = "admin/tickets/ticket/change_list.html"
    list_display = (
        "number",
        "subject",
        "customer",
        "package",
        "severity",
        "status",
        "assignee",
        "next_due_at",
        "breached",
        "opened_at",
    )
    list_display_links = ("number", "subject")
    list_filter = (
        "status",
        "severity",
        "channel",
        ("organization", admin.RelatedOnlyFieldListFilter),
        ("assignee", admin.RelatedOnlyFieldListFilter),
        BreachedFilter,
    )
    list_select_related = ("organization", "subscription__package", "assignee")
    search_fields = (
        "=id",
        "subject",
        "description",
        "organization__name",
        "subscription__contract__reference",
        "import_reference",
    )
    search_help_text = (
        "Ticket number, subject, description, customer, contract or import reference."
    )
    date_hierarchy = "opened_at"
    actions = None
    inlines = (
        MessageInline,
        TargetInline,
        EscalationInline,
        PauseInline,
        RecalculationInline,
    )

    about = (
        "number",
        "customer_link",
        "subscription",
        "line_of_business",
        "subject",
        "description",
        "severity",
        "kind",
        "channel",
        "status",
        "assignee",
        "support_level",
        "sla_policy",
        "sla_package",
        "opened_at",
        "created_by",
        "created_at",
        "import_reference",
    )
    clocks = (
        "next_due_at",
        "breached",
        "assigned_at",
        "first_response_at",
        "restored_at",
        "resolved_at",
        "closed_at",
        "rca_delivered_at",
    )
    work = (
        "action",
        "body",
        "is_root_cause_analysis",
        "assign_to",
        "new_severity",
        "new_kind",
        "new_policy",
    )
    open_fieldsets = (
        (
            "Open a ticket",
            {
                "fields": TicketOpenForm.Meta.fields,
                "description": "Its clocks start at the opening time: now, or when the customer "
                "reported it for a ticket entered after the fact. Channels follow the package "
                "(Tables 5 and 6).",
            },
        ),
    )
    record_fieldsets = (
        (None, {"fields": about}),
        ("Clocks", {"fields": clocks}),
    )
    work_fieldsets = (
        (
            "Work the ticket",
            {
                "fields": work,
                "description": "One thing at a time; each is recorded with its time and "
                "refreshes the clocks.",
            },
        ),
    )

    def get_queryset(self, request):
        now = timezone.now()
        unmet = TicketTarget.objects.filter(
            ticket=OuterRef("pk"), met_at__isnull=True, due_at__isnull=False
        )
        breached = TicketTarget.objects.filter(breached_now(now), ticket=OuterRef("pk"))
        return (
            super()
            .get_queryset(request)
            .annotate(
                next_due=Subquery(unmet.order_by("due_at").values("due_at")[:1]),
                is_breached=Exists(breached),
            )
        )

    # Who does what -------------------------------------------------------------------------

    def has_add_permission(self, request):
        return super().has_add_permission(request) and may_work_tickets(request.user)

    def has_change_permission(self, request, obj=None):
        allowed = super().has_change_permission(request, obj) and may_work_tickets(request.user)
        return allowed and (obj is None or obj.status != Ticket.Status.CLOSED)

    def has_delete_permission(self, request, obj=None):
        return False  # a ticket is a record of what was promised and done

    def has_import_permission(self, request):
        return self.has_add_permission(request)

    def get_inlines(self, request, obj):
        return self.inlines if obj is not None else ()

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return self.open_fieldsets
        if self.has_change_permission(request, obj):
            return self.record_fieldsets + self.work_fieldsets
        return self.record_fieldsets

    def get_readonly_fields(self, request, obj=None):
        return () if obj is None else self.about + self.clocks

    def get_form(self, request, obj=None, change=False, **kwargs):
        kwargs["form"] = TicketWorkForm if obj is not None else TicketOpenForm
        form = super().get_form(request, obj, change=change, **kwargs)
        return type(form.__name__, (form,), {"user": request.user})

    # Saving: the service the form rehearsed --------------------------------------------------

    def save_model(self, request, obj, form, change):
        saved = form.service_write()
        for field in obj._meta.concrete_fields:
            setattr(obj, field.attname, getattr(saved, field.attname))
        obj._state.adding = False

    def save_related(self, request, form, formsets, change):
        """The service saved everything there is; the inlines are read only."""

    def construct_change_message(self, request, form, formsets, add=False):
        if add:
            return super().construct_change_message(request, form, formsets, add)
        return ACTIONS[form.cleaned_data["action"]].split(":")[0]

    # Columns and read-only fields -------------------------------------------------------------

    @admin.display(description="ticket", ordering="pk")
    def number(self, ticket: Ticket) -> str:
        return f"#{ticket.pk}"

    @admin.display(description="customer", ordering="organization__name")
    def customer(self, ticket: Ticket) -> str:
        return ticket.organization.name

    @admin.display(description="customer")
    def customer_link(self, ticket: Ticket):
        url = reverse("admin:accounts_organization_change", args=[ticket.organization_id])
        return format_html('<a href="{}">{}</a>', url, ticket.organization.name)

    @admin.display(description="package", ordering="subscription__package__rank")
    def package(self, ticket: Ticket) -> str:
        return ticket.subscription.package.name

    @admin.display(description="next due", ordering="next_due")
    def next_due_at(self, ticket: Ticket):
        return ticket.next_due

    @admin.display(description="breached", boolean=True, ordering="is_breached")
    def breached(self, ticket: Ticket) -> bool:
        return ticket.is_breached
