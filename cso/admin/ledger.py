"""The hour bank in the admin: time entries, their import, and finance's overage export.

Every write goes through `cso.services.time_entries`. The form rehearses the write in a savepoint
that is rolled back, so every refusal (also those only the recomputed split finds) comes back on
its field; `save_model` then makes the write. Entries in a closed quarter are read only: a
correction is an adjusting entry in an open quarter.
"""

from django.contrib import admin, messages
from django.contrib.admin.actions import delete_selected as confirm_and_delete
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.http import HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path
from import_export.admin import ImportMixin
from import_export.formats import base_formats

from accounts.admin import editable_organization_ids
from accounts.selectors import organizations_visible_to
from portal.imports import CheckedImportAdminMixin

from ..models import (
    EntitlementKind,
    ExpansionScope,
    PackageSubscription,
    QuarterClosing,
    SubscriptionEntitlement,
    TimeEntry,
)
from ..resources import OverageResource, TimeEntryResource
from ..selectors.overage import OverageFilter, overage_rows
from ..services.time_entries import (
    EntryFields,
    time_entry_change,
    time_entry_delete,
    time_entry_log,
)
from .billing import OverageExportForm, ServiceForm, ServiceFormAdmin

SPLIT_FIELDS = (
    "quarter",
    "year",
    "included_hours",
    "overage_hours",
    "prepaid_hours",
    "additional_cost_hours",
    "limited_by",
)


# Time entries ------------------------------------------------------------------------------


class TimeEntryForm(ServiceForm):
    checked_by_service = ("hours", "adjusts")

    class Meta:
        model = TimeEntry
        fields = (
            "subscription",
            "worked_on",
            "hours",
            "program",
            "line_of_business",
            "entitlement",
            "expansion_scope",
            "description",
            "adjusts",
        )
        labels = {"entitlement": "Deliverable"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        subscription = self.instance.subscription if self.instance.pk else None
        chosen = str(self.initial.get("subscription", ""))  # from ?subscription=<id>
        if subscription is None and chosen.isdigit() and "subscription" in self.fields:
            subscription = self.fields["subscription"].queryset.filter(pk=chosen).first()
        if subscription is not None:
            self._offer_only(subscription)
        elif "entitlement" in self.fields:
            self.fields["entitlement"].label_from_instance = (
                lambda e: f"{e.subscription.contract.reference} {e.subscription.package.name}: "
                f"{e.deliverable.name}"
            )

    def _offer_only(self, subscription: PackageSubscription) -> None:
        """The subscription's own lines, deliverables and approved scopes."""
        querysets = {
            "line_of_business": subscription.lines_of_business.select_related("organization"),
            "entitlement": SubscriptionEntitlement.objects.filter(subscription=subscription)
            .exclude(kind=EntitlementKind.NOT_AVAILABLE)
            .select_related("deliverable"),
            "expansion_scope": subscription.expansion_scopes.filter(
                status=ExpansionScope.Status.APPROVED
            ),
        }
        for name, queryset in querysets.items():
            if name in self.fields:
                self.fields[name].queryset = queryset

    def entry_fields(self) -> EntryFields:
        data = self.cleaned_data
        return EntryFields(
            worked_on=data["worked_on"],
            hours=data["hours"],
            program=data["program"],
            line_of_business=data.get("line_of_business"),
            entitlement=data.get("entitlement"),
            expansion_scope=data.get("expansion_scope"),
            description=data.get("description", ""),
            adjusts=data.get("adjusts"),
        )

    def service_write(self) -> TimeEntry:
        if self.instance.pk:
            return time_entry_change(entry=self.instance, fields=self.entry_fields(), by=self.user)
        return time_entry_log(
            subscription=self.cleaned_data["subscription"],
            fields=self.entry_fields(),
            logged_by=self.user,
        )


def _closed_quarters():
    return QuarterClosing.objects.filter(
        contract_id=OuterRef("subscription__contract_id"), quarter_index=OuterRef("quarter_index")
    )


class QuarterClosedFilter(admin.SimpleListFilter):
    title = "quarter closed"
    parameter_name = "closed"

    def lookups(self, request, model_admin):
        return [("yes", "Closed by finance"), ("no", "Open")]

    def queryset(self, request, queryset):
        if self.value() in {"yes", "no"}:
            return queryset.filter(quarter_closed=self.value() == "yes")
        return queryset


@admin.register(TimeEntry)
class TimeEntryAdmin(CheckedImportAdminMixin, ImportMixin, ServiceFormAdmin):
    """Time CSMs logged, how the budget split it, its import and the finance export."""

    customer_path = "subscription.contract.organization_id"
    form = TimeEntryForm
    resource_classes = [TimeEntryResource]
    import_formats = [base_formats.CSV, base_formats.XLSX]
    import_template_name = "admin/cso/timeentry/import.html"
    import_export_change_list_template = "admin/cso/timeentry/change_list.html"
    list_display = (
        "worked_on",
        "customer",
        "contract",
        "package",
        "hours",
        "program",
        "included_hours",
        "overage_hours",
        "prepaid_hours",
        "additional_cost_hours",
        "limited_by",
        "quarter_closed",
    )
    list_filter = ("program", QuarterClosedFilter, "limited_by")
    date_hierarchy = "worked_on"
    search_fields = (
        "subscription__contract__organization__name",
        "subscription__contract__reference",
        "description",
    )
    list_select_related = (*ServiceFormAdmin.list_select_related, "program")
    raw_id_fields = ("adjusts",)
    actions = ("delete_selected",)
    entry_fieldsets = (
        (None, {"fields": TimeEntryForm.Meta.fields[:-1]}),
        (
            "Correcting a closed quarter",
            {
                "fields": ("adjusts",),
                "classes": ("collapse",),
                "description": "An adjusting entry, dated in an open quarter, corrects an entry "
                "of a closed one; negative hours give hours back.",
            },
        ),
    )
    split_fieldsets = (
        (
            "How the budget split this entry",
            {
                "fields": SPLIT_FIELDS,
                "description": "Worked out, not typed (Section 1): entries apply in the order "
                "they were worked, each included up to what its quarter, its year and its "
                "deliverable's allowance have left; the rest is overage, billed at the "
                "contract's rate, and 'limited by' names the limit it met. Expansion hours "
                "bought with the renewal are prepaid; additional-cost work uses no package "
                "hours. Any change to the subscription's entries works it out again for all.",
            },
        ),
        ("Logged", {"fields": ("logged_by", "logged_at", "source_key")}),
    )

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(quarter_closed=Exists(_closed_quarters()))

    def get_fieldsets(self, request, obj=None):
        return self.entry_fieldsets + (() if obj is None else self.split_fieldsets)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        editable = editable_organization_ids(request)
        if db_field.name == "entitlement":
            kwargs["queryset"] = SubscriptionEntitlement.objects.exclude(
                kind=EntitlementKind.NOT_AVAILABLE
            ).select_related("deliverable", "subscription__contract", "subscription__package")
        elif db_field.name == "expansion_scope":
            kwargs["queryset"] = ExpansionScope.objects.filter(
                status=ExpansionScope.Status.APPROVED
            )
        if "queryset" in kwargs and editable is not None:
            kwargs["queryset"] = kwargs["queryset"].filter(
                subscription__contract__organization__in=editable
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    # Closed quarters are read only ---------------------------------------------------------

    def _closing(self, entry: TimeEntry) -> QuarterClosing | None:
        if "_closing" not in entry.__dict__:
            entry._closing = QuarterClosing.objects.filter(
                contract_id=entry.subscription.contract_id, quarter_index=entry.quarter_index
            ).first()
        return entry._closing

    def has_change_permission(self, request, obj=None):
        allowed = super().has_change_permission(request, obj)
        return allowed and (obj is None or self._closing(obj) is None)

    def has_delete_permission(self, request, obj=None):
        allowed = super().has_delete_permission(request, obj)
        return allowed and (obj is None or self._closing(obj) is None)

    def has_import_permission(self, request):
        return self.has_add_permission(request)

    # Columns -------------------------------------------------------------------------------

    @admin.display(description="quarter closed", boolean=True)
    def quarter_closed(self, entry: TimeEntry) -> bool:
        return entry.quarter_closed

    @admin.display(description="contract quarter")
    def quarter(self, entry: TimeEntry) -> str:
        text = f"Q{entry.quarter_index}: {entry.quarter_start} to {entry.quarter_end}"
        closing = self._closing(entry)
        if closing is not None:
            text += f"; closed by finance on {closing.closed_at:%Y-%m-%d}, so read only"
        return text

    @admin.display(description="contract year")
    def year(self, entry: TimeEntry) -> str:
        return f"Year {entry.year_index}"

    # Deleting ------------------------------------------------------------------------------

    def delete_model(self, request, obj):
        time_entry_delete(entry=obj, by=request.user)

    def delete_queryset(self, request, queryset):
        """Each through `time_entry_delete`, which works the split out again each time.

        Runs inside `delete_selected`'s transaction: one refusal and none is deleted.
        """
        for entry in queryset.select_related("subscription__contract"):
            try:
                time_entry_delete(entry=entry, by=request.user)
            except ValidationError as error:
                raise ValidationError(f"{entry}: {' '.join(error.messages)}") from error

    def delete_view(self, request, object_id, extra_context=None):
        try:
            return super().delete_view(request, object_id, extra_context)
        except ValidationError as error:
            self.message_user(request, " ".join(error.messages), messages.ERROR)
            return HttpResponseRedirect(request.path.removesuffix("delete/"))

    @admin.action(description="Delete selected time entries", permissions=["delete"])
    def delete_selected(self, request, queryset):
        """Django's confirmation page, then all the entries or none of them."""
        try:
            with transaction.atomic():
                return confirm_and_delete(self, request, queryset)
        except ValidationError as error:
            self.message_user(
                request, f"Nothing was deleted. {' '.join(error.messages)}", messages.ERROR
            )
            return None

    # The overage export ----------------------------------------------------------------------

    def get_urls(self):
        export = path(
            "overage-export/",
            self.admin_site.admin_view(self.overage_export_view),
            name="cso_timeentry_overage_export",
        )
        return [export, *super().get_urls()]

    def overage_export_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        customers = organizations_visible_to(request.user)
        data = request.GET if "period_start" in request.GET else None
        form = OverageExportForm(data, customers=customers)
        if form.is_bound and form.is_valid():
            return overage_export_response(form.cleaned_data, customers)
        context = {
            **self.admin_site.each_context(request),
            "title": "Overage export",
            "subtitle": None,
            "form": form,
            "opts": self.opts,
            "media": self.media + form.media,
        }
        return TemplateResponse(request, "admin/cso/timeentry/overage_export.html", context)


def overage_export_response(choice: dict, customers) -> HttpResponse:
    """The file: a row per customer, contract, package, line of business, quarter and rate."""
    customer = choice["customer"]
    visible = [customer.pk] if customer else list(customers.values_list("pk", flat=True))
    criteria = OverageFilter(
        period_start=choice["period_start"],
        period_end=choice["period_end"],
        organization_ids=visible,
        overage_only=choice["overage_only"],
    )
    file_format = OverageExportForm.FORMATS[choice["format"]]()
    dataset = OverageResource().export(
        overage_rows(criteria), force_native_type=file_format.is_binary()
    )
    response = HttpResponse(
        file_format.export_data(dataset), content_type=file_format.get_content_type()
    )
    name = f"overage-{choice['period_start']:%Y-%m-%d}-{choice['period_end']:%Y-%m-%d}"
    response["Content-Disposition"] = f'attachment; filename="{name}.{file_format.get_extension()}"'
    return response
