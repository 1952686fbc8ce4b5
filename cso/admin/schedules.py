"""Deliverable schedules in the admin: where CSMs run what each package promises (Tables 2-4).

A CSM opens an occurrence of one of their customers and says what happened: still scheduled
(moved within its period), delivered (the day, notes and the time logged for it) or skipped (why).
Work at additional cost is booked from "Add". Every write goes through `cso.services.schedules`;
the form rehearses it first, so each refusal comes back on its field. Delivered and skipped
occurrences are a record and read only; finance reads everything.

"Overdue", "upcoming" and the other states on the list are as of today in the portal's time
zone; the entitled-vs-delivered table on a package subscription's page counts on the customer's
own today (see `cso.selectors.schedules`).
"""

from urllib.parse import urlencode

from django import forms
from django.contrib import admin
from django.contrib.admin.utils import flatten_fieldsets
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from accounts.admin import assigned_csm_filter, editable_organization_ids

from ..models import (
    EntitlementKind,
    Occurrence,
    PackageSubscription,
    SubscriptionEntitlement,
    TimeEntry,
)
from ..selectors.schedules import (
    STATE_LABELS,
    TALLY_FIELDS,
    PeriodSummary,
    occurrence_state,
    subscription_schedule_summary,
    tally_conditions,
)
from ..services.schedules import (
    occurrence_book,
    occurrence_deliver,
    occurrence_reschedule,
    occurrence_skip,
)
from .billing import CUSTOMER_COLUMNS, SEARCH_BY_CUSTOMER, ServiceForm, ServiceFormAdmin

_STATUS = Occurrence.Status

# Changing a scheduled occurrence -------------------------------------------------------------


class OccurrenceChangeForm(ServiceForm):
    """What happened to a scheduled occurrence; saved by the service that records it."""

    checked_by_service = ("due_on", "delivered_on", "skip_reason", "time_entries")
    outcome = forms.ChoiceField(
        label="What happened",
        choices=[
            (_STATUS.SCHEDULED, "Still scheduled: keep or move the due date"),
            (_STATUS.DELIVERED, "Delivered"),
            (_STATUS.SKIPPED, "Skipped"),
        ],
        initial=_STATUS.SCHEDULED,
        widget=forms.RadioSelect,
    )

    class Meta:
        model = Occurrence
        fields = ("due_on", "delivered_on", "notes", "time_entries", "skip_reason")
        labels = {"notes": "Delivery notes", "time_entries": "Time logged for it"}
        help_texts = {
            "due_on": "Within the occurrence's period: deliverables cannot exceed the amount or "
            "frequency of the package (Section 3).",
            "time_entries": "Time logged under this package subscription.",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "time_entries" in self.fields and self.instance.pk:
            field = self.fields["time_entries"]
            field.queryset = (
                TimeEntry.objects.filter(subscription_id=self.instance.subscription_id)
                .select_related("program")
                .order_by("-worked_on", "-pk")
            )
            field.label_from_instance = (
                lambda entry: f"{entry.worked_on}, {entry.hours} h, {entry.program.name}"
                + (f": {entry.description[:60]}" if entry.description else "")
            )

    def clean(self):
        outcome = self.cleaned_data.get("outcome")
        if outcome == _STATUS.DELIVERED and not self.cleaned_data.get("delivered_on"):
            self.add_error("delivered_on", "Give the day it was delivered.")
        # Said for another outcome, these would be lost: ask rather than drop them.
        if outcome != _STATUS.DELIVERED and self.cleaned_data.get("delivered_on"):
            self.add_error("delivered_on", "Choose “Delivered” to record the day of delivery.")
        if outcome != _STATUS.DELIVERED and self.cleaned_data.get("time_entries"):
            self.add_error("time_entries", "Choose “Delivered” to link the time logged for it.")
        if outcome != _STATUS.SKIPPED and self.cleaned_data.get("skip_reason", "").strip():
            self.add_error("skip_reason", "Choose “Skipped” to skip it with this reason.")
        return super().clean()

    def service_write(self) -> Occurrence:
        data, occurrence = self.cleaned_data, self.instance
        outcome = data["outcome"]
        if outcome == _STATUS.SCHEDULED or "due_on" in self.changed_data:
            occurrence = occurrence_reschedule(
                occurrence=occurrence, due_on=data["due_on"], by=self.user
            )
        if outcome == _STATUS.DELIVERED:
            occurrence = occurrence_deliver(
                occurrence=occurrence,
                delivered_on=data["delivered_on"],
                notes=data.get("notes", ""),
                time_entries=list(data.get("time_entries") or ()),
                by=self.user,
            )
        elif outcome == _STATUS.SKIPPED:
            occurrence = occurrence_skip(
                occurrence=occurrence, reason=data.get("skip_reason", ""), by=self.user
            )
        return occurrence


# Booking work at additional cost -------------------------------------------------------------


class OccurrenceBookForm(ServiceForm):
    """Table 3 work the package gives "at additional cost", booked for a day of the term."""

    checked_by_service = ("due_on",)

    class Meta:
        model = Occurrence
        fields = ("subscription", "entitlement", "due_on", "notes")
        labels = {"entitlement": "Deliverable", "due_on": "Booked for"}
        help_texts = {
            "entitlement": "Only what the package gives at additional cost is booked; scheduled "
            "deliverables are moved within their period instead (Section 3).",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields.get("entitlement")
        if field is None:
            return
        chosen = str(self.initial.get("subscription", ""))  # from ?subscription=<id>
        if chosen.isdigit():
            field.queryset = field.queryset.filter(subscription_id=chosen)
        field.label_from_instance = (
            lambda e: f"{e.subscription.contract.reference} {e.subscription.package.name}: "
            f"{e.deliverable.name}"
        )

    def service_write(self) -> Occurrence:
        data = self.cleaned_data
        return occurrence_book(
            subscription=data["subscription"],
            entitlement=data["entitlement"],
            due_on=data["due_on"],
            notes=data.get("notes", ""),
            by=self.user,
        )


# The list ----------------------------------------------------------------------------------


class StateFilter(admin.SimpleListFilter):
    """The states of the entitled-vs-delivered table, as of today."""

    title = "state today"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return list(STATE_LABELS.items())

    def queryset(self, request, queryset):
        conditions = tally_conditions(timezone.localdate())
        if self.value() in conditions:
            return queryset.filter(conditions[self.value()])
        return queryset


def _occurrence_list(**query) -> str:
    return f"{reverse('admin:cso_occurrence_changelist')}?{urlencode(query)}"


@admin.register(Occurrence)
class OccurrenceAdmin(ServiceFormAdmin):
    """The schedules of every customer; CSMs change those of their own customers."""

    form = OccurrenceChangeForm
    list_display = (
        "deliverable",
        *CUSTOMER_COLUMNS,
        "due_on",
        "period",
        "status",
        "state",
        "delivered_on",
        "is_review",
    )
    list_filter = (
        "status",
        StateFilter,
        "is_review",
        ("entitlement__deliverable", admin.RelatedOnlyFieldListFilter),
        "additional_cost",
        assigned_csm_filter("subscription__contract__organization__csms"),
    )
    date_hierarchy = "due_on"
    search_fields = (
        *SEARCH_BY_CUSTOMER,
        "entitlement__deliverable__name",
        "entitlement__deliverable__code",
    )
    list_select_related = (*ServiceFormAdmin.list_select_related, "entitlement__deliverable")
    filter_horizontal = ("time_entries",)
    actions = None

    about = (
        "subscription_link",
        "deliverable",
        "entitlement_terms",
        "period",
        "optional",
        "additional_cost",
        "is_review",
        "status",
    )
    reminders = ("next_reminder", "reminders_sent", "updated_by")
    change_fieldsets = (
        (None, {"fields": about}),
        ("What happened", {"fields": ("outcome",)}),
        ("Still scheduled", {"fields": ("due_on",)}),
        ("Delivered", {"fields": ("delivered_on", "notes", "time_entries")}),
        ("Skipped", {"fields": ("skip_reason",)}),
        ("Reminders", {"fields": reminders}),
    )
    record_fieldsets = (
        (None, {"fields": (*about, "due_on")}),
        ("Delivered", {"fields": ("delivered_on", "notes", "linked_time")}),
        ("Skipped", {"fields": ("skip_reason",)}),
        ("Reminders", {"fields": reminders}),
    )
    book_fieldsets = (
        (
            "Book work at additional cost",
            {
                "fields": OccurrenceBookForm.Meta.fields,
                "description": "Work the package gives at additional cost (Table 3) is billed "
                "outside its hours and entitlements. Scheduled deliverables are not booked "
                "again: move an occurrence within its period instead (Section 3).",
            },
        ),
    )

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related(
                "subscription__contract__organization",
                "subscription__package",
                "entitlement__deliverable",
                "updated_by",
            )
        )

    # Who changes what ------------------------------------------------------------------------

    def has_change_permission(self, request, obj=None):
        allowed = super().has_change_permission(request, obj)
        return allowed and (obj is None or obj.status == _STATUS.SCHEDULED)

    def has_delete_permission(self, request, obj=None):
        return False  # the schedule is what the contract promised; it is skipped, not deleted

    def get_form(self, request, obj=None, change=False, **kwargs):
        kwargs["form"] = OccurrenceChangeForm if obj is not None else OccurrenceBookForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return self.book_fieldsets
        if self.has_change_permission(request, obj):
            return self.change_fieldsets
        return self.record_fieldsets

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ()
        typed = {"outcome", *OccurrenceChangeForm.Meta.fields}
        shown = flatten_fieldsets(self.get_fieldsets(request, obj))
        return [field for field in shown if field not in typed]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "entitlement":
            entitlements = SubscriptionEntitlement.objects.filter(
                kind=EntitlementKind.ADDITIONAL_COST
            ).select_related("deliverable", "subscription__contract", "subscription__package")
            editable = editable_organization_ids(request)
            if editable is not None:
                entitlements = entitlements.filter(
                    subscription__contract__organization__in=editable
                )
            kwargs["queryset"] = entitlements.order_by(
                "subscription__contract__reference", "deliverable__rank"
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def add_view(self, request, form_url="", extra_context=None):
        extra_context = {"title": "Book work at additional cost", **(extra_context or {})}
        return super().add_view(request, form_url, extra_context)

    # Columns and read-only fields -----------------------------------------------------------

    @admin.display(description="deliverable", ordering="entitlement__deliverable__name")
    def deliverable(self, occurrence: Occurrence) -> str:
        return occurrence.entitlement.deliverable.name

    @admin.display(description="period")
    def period(self, occurrence: Occurrence) -> str:
        if occurrence.period_start == occurrence.period_end:
            return str(occurrence.period_start)
        return f"{occurrence.period_start} to {occurrence.period_end}"

    @admin.display(description="state today")
    def state(self, occurrence: Occurrence) -> str:
        return STATE_LABELS[occurrence_state(occurrence, timezone.localdate())]

    @admin.display(description="package subscription")
    def subscription_link(self, occurrence: Occurrence) -> SafeString:
        subscription = occurrence.subscription
        url = reverse("admin:cso_packagesubscription_change", args=[subscription.pk])
        return format_html(
            '{} (<a href="{}">entitled vs delivered</a>)',
            f"{subscription.package.name} under {subscription.contract.reference}, "
            f"{subscription.contract.organization.name}",
            url,
        )

    @admin.display(description="entitlement as signed")
    def entitlement_terms(self, occurrence: Occurrence) -> str:
        return occurrence.entitlement.describe()

    @admin.display(description="next reminder")
    def next_reminder(self, occurrence: Occurrence) -> str:
        if occurrence.next_reminder_on is None:
            return "-"
        return f"{occurrence.next_reminder_kind} on {occurrence.next_reminder_on}"

    @admin.display(description="reminders sent")
    def reminders_sent(self, occurrence: Occurrence) -> str:
        sent = [f"{r.kind} at {r.sent_at:%Y-%m-%d %H:%M}" for r in occurrence.reminders.all()]
        return ", ".join(sent) or "-"

    @admin.display(description="time logged for it")
    def linked_time(self, occurrence: Occurrence) -> str:
        entries = occurrence.time_entries.select_related("program").order_by("worked_on")
        return ", ".join(f"{e.worked_on}, {e.hours} h, {e.program.name}" for e in entries) or "-"


# Entitled vs delivered, on a package subscription's page --------------------------------------


def _cell(count: int, query: dict) -> SafeString:
    if not count:
        return format_html("{}", count)
    return format_html('<a href="{}">{}</a>', _occurrence_list(**query), count)


def _period_rows(subscription_id: int, period: PeriodSummary) -> SafeString:
    within = {
        "subscription__id__exact": subscription_id,
        "due_on__gte": period.period.start.isoformat(),
        "due_on__lte": period.period.end.isoformat(),
    }
    rows = [
        (
            d.name,
            d.entitlement,
            {**within, "entitlement__deliverable__id__exact": d.deliverable_id},
            d.tally,
        )
        for d in period.deliverables
    ]
    rows.append(("Total", "", within, period.total))
    html = format_html(
        '<tr><th colspan="{}">Year {}: {} to {}</th></tr>',
        len(TALLY_FIELDS) + 2,
        period.period.index,
        period.period.start,
        period.period.end,
    )
    for name, terms, query, tally in rows:
        cells = format_html_join(
            "",
            "<td>{}</td>",
            ((_cell(getattr(tally, state), {**query, "state": state}),) for state in TALLY_FIELDS),
        )
        html += format_html("<tr><td>{}</td><td>{}</td>{}</tr>", name, terms, cells)
    return html


def schedule_summary_table(subscription: PackageSubscription) -> SafeString:
    """The subscription's entitled vs delivered, year by year, each figure a link to the
    occurrences behind it."""
    today = subscription.contract.organization.today(timezone.now())
    summary = subscription_schedule_summary(subscription, today)
    labels = ["Deliverable", "Entitlement", *(STATE_LABELS[state] for state in TALLY_FIELDS)]
    header = format_html_join("", "<th>{}</th>", ((label,) for label in labels))
    body = format_html_join(
        "", "{}", ((_period_rows(subscription.pk, year),) for year in summary.years)
    )
    return format_html(
        "<p>As of {} for the customer. Due: the due date has passed. Overdue: due and still "
        "scheduled. Unused: one of “up to N per year” the customer left unused.</p>"
        "<table><thead><tr>{}</tr></thead><tbody>{}</tbody></table>",
        today,
        header,
        body,
    )
