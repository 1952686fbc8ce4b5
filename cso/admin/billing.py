"""What the hour bank bills and who decides it, in the admin: expansion scopes, T&E, finance's
quarter closings, consumption alerts, and the forms the overage export and the closings use.

CSMs propose scopes and request T&E here; the customer decides in the portal, so decisions are
read only. Finance closes quarters; closings and alerts are records, never edited.
"""

from datetime import timedelta

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import flatten_fieldsets
from django.contrib.admin.widgets import AdminDateWidget
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from import_export.formats import base_formats

from accounts.admin import CustomerScopedAdmin, ReadOnlyAdminMixin, editable_organization_ids
from accounts.models import LineOfBusiness, Organization, User

from ..models import (
    ConsumptionAlert,
    ExpansionScope,
    PackageSubscription,
    QuarterClosing,
    TravelExpense,
)
from ..services.closings import quarters_close_through
from ..services.expansion import expansion_scope_propose
from ..services.expenses import travel_expense_request

CUSTOMER_COLUMNS = ("customer", "contract", "package")
SEARCH_BY_CUSTOMER = (
    "subscription__contract__reference",
    "subscription__contract__organization__name",
)


class _Rehearsal(Exception):
    """Rolls back a write made only to learn whether the service accepts it."""


class ServiceForm(forms.ModelForm):
    """A model form whose save is a service call; the service's refusals land on its fields.

    `clean` rehearses the call in a savepoint that is rolled back, so every rule the service
    applies comes back on the form, with the field it concerns, before anything is saved.
    """

    user = None  # the signed-in person, set per request by `ServiceFormAdmin.get_form`
    checked_by_service: tuple[str, ...] = ()  # database constraints the service words better

    def service_write(self):
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
                for field, field_messages in error.message_dict.items():
                    for message in field_messages:
                        self.add_error(field if field in self.fields else None, message)
            except PermissionDenied as error:
                self.add_error(None, str(error))
        return cleaned

    def _get_validation_exclusions(self):
        return super()._get_validation_exclusions() | set(self.checked_by_service)


class SubscriptionColumns:
    """List columns for rows that belong to a package subscription."""

    @admin.display(description="customer", ordering="subscription__contract__organization__name")
    def customer(self, row) -> str:
        return row.subscription.contract.organization.name

    @admin.display(description="contract", ordering="subscription__contract__reference")
    def contract(self, row) -> str:
        return row.subscription.contract.reference

    @admin.display(description="package")
    def package(self, row) -> str:
        return row.subscription.package.name


class ServiceFormAdmin(SubscriptionColumns, CustomerScopedAdmin):
    """Saves through `form.service_write()`, the call the form rehearsed."""

    customer_path = "subscription.contract.organization_id"
    list_select_related = ("subscription__contract__organization", "subscription__package")

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        return type(form.__name__, (form,), {"user": request.user})

    def save_model(self, request, obj, form, change):
        saved = form.service_write()
        for field in obj._meta.concrete_fields:
            setattr(obj, field.attname, getattr(saved, field.attname))
        obj._state.adding = False

    def save_related(self, request, form, formsets, change):
        """The service saved everything there is."""

    def get_readonly_fields(self, request, obj=None):
        """What the form takes is typed; all else shown is worked out, or the customer's say.

        Time, scopes and T&E stay with the subscription they were recorded under.
        """
        typed = set(self.form._meta.fields) - ({"subscription"} if obj else set())
        shown = flatten_fieldsets(self.get_fieldsets(request, obj))
        return [field for field in shown if field not in typed]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        editable = editable_organization_ids(request)
        if db_field.name == "subscription":
            subscriptions = PackageSubscription.objects.select_related(
                "contract__organization", "package"
            )
            if editable is not None:
                subscriptions = subscriptions.filter(contract__organization__in=editable)
            kwargs["queryset"] = subscriptions
        elif db_field.name == "line_of_business":
            lines = LineOfBusiness.objects.select_related("organization")
            kwargs["queryset"] = (
                lines if editable is None else lines.filter(organization__in=editable)
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


# Expansion scopes (Section 9) -----------------------------------------------------------------


class ExpansionScopeForm(ServiceForm):
    checked_by_service = ("hours",)

    class Meta:
        model = ExpansionScope
        fields = ("subscription", "title", "use", "hours", "description")

    def service_write(self) -> ExpansionScope:
        data = self.cleaned_data
        scope = ExpansionScope.objects.get(pk=self.instance.pk) if self.instance.pk else None
        return expansion_scope_propose(
            subscription=scope.subscription if scope else data["subscription"],
            title=data["title"],
            use=data["use"],
            hours=data["hours"],
            description=data.get("description", ""),
            scope=scope,
            by=self.user,
        )


@admin.register(ExpansionScope)
class ExpansionScopeAdmin(ServiceFormAdmin):
    """A CSM scopes the work; the customer approves, funds or asks for a change in the portal."""

    form = ExpansionScopeForm
    list_display = ("title", *CUSTOMER_COLUMNS, "use", "hours", "funded_hours", "status")
    list_filter = ("status",)
    search_fields = ("title", *SEARCH_BY_CUSTOMER)
    fieldsets = (
        (None, {"fields": ExpansionScopeForm.Meta.fields}),
        (
            "The customer's decision",
            {
                "fields": ("status", "funded_hours", "customer_note", "decided_by", "decided_at"),
                "description": "Customers decide in the portal. A scope they asked to change "
                "can be revised here, which proposes it again; an approved scope is final.",
            },
        ),
        ("Proposed", {"fields": ("proposed_by", "proposed_at")}),
    )

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if db_field.name == "subscription":
            field.queryset = field.queryset.filter(expansion_pack__isnull=False)
        return field

    def has_change_permission(self, request, obj=None):
        allowed = super().has_change_permission(request, obj)
        return allowed and (obj is None or obj.status != ExpansionScope.Status.APPROVED)

    def has_delete_permission(self, request, obj=None):
        return False  # the customer's decision on it is a record


# Travel and expenses (Section 1) ------------------------------------------------------------


class TravelExpenseForm(ServiceForm):
    checked_by_service = ("amount",)

    class Meta:
        model = TravelExpense
        fields = ("subscription", "line_of_business", "incurred_on", "description", "amount")

    def service_write(self) -> TravelExpense:
        data = self.cleaned_data
        return travel_expense_request(
            subscription=data["subscription"],
            line_of_business=data.get("line_of_business"),
            incurred_on=data["incurred_on"],
            description=data["description"],
            amount=data["amount"],
            by=self.user,
        )


@admin.register(TravelExpense)
class TravelExpenseAdmin(ServiceFormAdmin):
    """A CSM asks before the trip; the customer approves or declines in the portal."""

    form = TravelExpenseForm
    list_display = ("description", *CUSTOMER_COLUMNS, "incurred_on", "amount", "status")
    list_filter = ("status",)
    date_hierarchy = "incurred_on"
    search_fields = ("description", *SEARCH_BY_CUSTOMER)
    fieldsets = (
        (None, {"fields": TravelExpenseForm.Meta.fields}),
        (
            "The customer's decision",
            {
                "fields": ("status", "customer_note", "decided_by", "decided_at"),
                "description": "Customers approve T&E in the portal, before the travel date.",
            },
        ),
        ("Billed in", {"fields": ("quarter_index", "quarter_start", "quarter_end")}),
        ("Requested", {"fields": ("requested_by", "requested_at")}),
    )

    def get_fieldsets(self, request, obj=None):
        return self.fieldsets[:1] if obj is None else self.fieldsets

    def has_change_permission(self, request, obj=None):
        # Once requested, the customer decides on what they were asked; ask again if it changed.
        return obj is None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False


# Quarter closings (finance) -------------------------------------------------------------


def closes_quarters(user: User) -> bool:
    return user.is_active and (user.is_superuser or user.role == User.Role.FINANCE)


class CloseQuartersForm(forms.Form):
    through = forms.DateField(
        widget=AdminDateWidget,
        label="Close quarters that ended by",
        help_text="Every open contract quarter that ended on or before this day is closed.",
    )
    customer = forms.ModelChoiceField(
        queryset=Organization.objects.all(), required=False, empty_label="All customers"
    )


@admin.register(QuarterClosing)
class QuarterClosingAdmin(admin.ModelAdmin):
    """Closed quarters are final and billed; finance closes them in bulk, nobody edits them."""

    list_display = (
        "contract",
        "customer",
        "quarter_index",
        "quarter_start",
        "quarter_end",
        "closed_at",
        "closed_by",
    )
    list_select_related = ("contract__organization", "closed_by")
    list_filter = (("closed_by", admin.RelatedOnlyFieldListFilter),)
    date_hierarchy = "quarter_end"
    search_fields = ("contract__reference", "contract__organization__name")
    change_list_template = "admin/cso/quarterclosing/change_list.html"

    @admin.display(description="customer", ordering="contract__organization__name")
    def customer(self, closing: QuarterClosing) -> str:
        return closing.contract.organization.name

    def has_add_permission(self, request):
        return super().has_add_permission(request) and closes_quarters(request.user)

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_urls(self):
        close = path(
            "close/",
            self.admin_site.admin_view(self.close_view),
            name="cso_quarterclosing_close",
        )
        return [close, *super().get_urls()]

    def add_view(self, request, form_url="", extra_context=None):
        return HttpResponseRedirect(reverse("admin:cso_quarterclosing_close"))

    def close_view(self, request):
        if not self.has_add_permission(request):
            raise PermissionDenied
        yesterday = timezone.localdate() - timedelta(days=1)
        form = CloseQuartersForm(request.POST or None, initial={"through": yesterday})
        if request.method == "POST" and form.is_valid():
            try:
                closings = quarters_close_through(
                    through=form.cleaned_data["through"],
                    organization=form.cleaned_data["customer"],
                    by=request.user,
                )
            except ValidationError as error:
                form.add_error("through", error.message_dict.get("through", error.messages))
            else:
                self.message_user(request, _closed_message(closings), messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:cso_quarterclosing_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "title": "Close contract quarters",
            "subtitle": None,
            "form": form,
            "opts": self.opts,
            "media": self.media + form.media,
        }
        return TemplateResponse(request, "admin/cso/quarterclosing/close.html", context)


def _closed_message(closings: list[QuarterClosing]) -> str:
    if not closings:
        return "Every contract quarter that ended by then was closed already."
    closed = ", ".join(f"{c.contract.reference} Q{c.quarter_index}" for c in closings)
    return f"Closed {len(closings)} contract quarters: {closed}."


# Consumption alerts ---------------------------------------------------------------------


@admin.register(ConsumptionAlert)
class ConsumptionAlertAdmin(SubscriptionColumns, ReadOnlyAdminMixin, admin.ModelAdmin):
    """Alerts sent when a period's hours reached a threshold; each goes out once."""

    list_display = (
        *CUSTOMER_COLUMNS,
        "period_kind",
        "period_index",
        "threshold_percent",
        "used_hours",
        "allowance_hours",
        "sent_at",
    )
    list_filter = ("period_kind", "threshold_percent")
    list_select_related = ("subscription__contract__organization", "subscription__package")
    search_fields = (
        "subscription__contract__reference",
        "subscription__contract__organization__name",
    )


# The overage export's choices ------------------------------------------------------------


class OverageExportForm(forms.Form):
    FORMATS = {"csv": base_formats.CSV, "xlsx": base_formats.XLSX}

    period_start = forms.DateField(widget=AdminDateWidget)
    period_end = forms.DateField(
        widget=AdminDateWidget, help_text="Contract quarters that end in the period are exported."
    )
    customer = forms.ModelChoiceField(
        queryset=Organization.objects.none(), required=False, empty_label="All customers"
    )
    overage_only = forms.BooleanField(
        required=False, label="Only rows with overage or additional-cost hours"
    )
    format = forms.ChoiceField(choices=[("csv", "CSV"), ("xlsx", "Excel (XLSX)")])

    def __init__(self, *args, customers, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["customer"].queryset = customers
        last_month_end = timezone.localdate().replace(day=1) - timedelta(days=1)
        self.fields["period_start"].initial = last_month_end.replace(day=1)
        self.fields["period_end"].initial = last_month_end

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("period_start"), cleaned.get("period_end")
        if start and end and end < start:
            self.add_error("period_end", "The period ends before it starts.")
        return cleaned
