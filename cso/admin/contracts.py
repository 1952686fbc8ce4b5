"""Contracts in the admin: a customer's packages, the lines of business they cover and the rate.

The forms (`cso.forms`) refuse what `contract_create` refuses, in the same words. Permissions:
staff view every contract; a CSM changes those of the customers assigned to them.
"""

from datetime import timedelta

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Prefetch
from django.utils import timezone

from accounts.admin import (
    CustomerScopedAdmin,
    CustomerScopedInline,
    EditableOrganizationChoiceMixin,
    ReadOnlyAdminMixin,
    assigned_csm_filter,
    editable_organization_ids,
)
from accounts.models import LineOfBusiness

from ..forms import (
    ContractForm,
    OverageRateForm,
    OverageRateFormSet,
    SubscriptionForm,
    SubscriptionFormSet,
)
from ..models import (
    Contract,
    OverageRate,
    PackageSubscription,
    SubscriptionEntitlement,
    SubscriptionExpansionPack,
    TimeEntry,
)
from ..selectors import overage_rate_current
from ..services.contracts import contract_renew
from .schedules import schedule_summary_table

# Packages and rates ------------------------------------------------------------------------


class SubscriptionInline(CustomerScopedInline, admin.StackedInline):
    model = PackageSubscription
    form = SubscriptionForm
    formset = SubscriptionFormSet
    extra = 0
    fields = ("package", "lines_of_business", "quarterly_hours", "annual_hours", "catalog_version")
    readonly_fields = ("quarterly_hours", "annual_hours", "catalog_version")
    filter_horizontal = ("lines_of_business",)
    show_change_link = True
    verbose_name = "package"
    verbose_name_plural = "packages (Section 1)"

    def get_extra(self, request, obj=None, **kwargs):
        return 1 if obj is None else 0

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("package", "contract")

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        field = formset.form.base_fields.get("lines_of_business")
        if field is not None:
            field.queryset = self._lines_offered(request, obj)
        return formset

    def _lines_offered(self, request, contract: Contract | None):
        """The contract's customer's lines; any the user edits when posting, so that the check
        can say which customer a wrong line belongs to."""
        lines = LineOfBusiness.objects.select_related("organization")
        organization_id = contract.organization_id if contract else None
        if organization_id is None and request.method == "GET":
            requested = request.GET.get("organization", "")
            organization_id = int(requested) if requested.isdigit() else None
        if request.method == "GET" and organization_id:
            return lines.filter(organization_id=organization_id)
        editable = editable_organization_ids(request)
        return lines if editable is None else lines.filter(organization_id__in=editable)


class OverageRateInline(CustomerScopedInline, admin.TabularInline):
    model = OverageRate
    form = OverageRateForm
    formset = OverageRateFormSet
    extra = 0
    fields = ("effective_from", "hourly_rate", "agreement_reference")

    def get_extra(self, request, obj=None, **kwargs):
        return 1 if obj is None else 0


# Contracts ---------------------------------------------------------------------------------


class TermEndFilter(admin.SimpleListFilter):
    title = "term end"
    parameter_name = "term_end"

    def lookups(self, request, model_admin):
        return [
            ("30", "Within 30 days"),
            ("90", "Within 90 days"),
            ("later", "Later"),
            ("ended", "Ended"),
        ]

    def queryset(self, request, queryset):
        today = timezone.localdate()
        if self.value() in {"30", "90"}:
            last_day = today + timedelta(days=int(self.value()))
            return queryset.filter(term_end__gte=today, term_end__lte=last_day)
        if self.value() == "later":
            return queryset.filter(term_end__gt=today + timedelta(days=90))
        if self.value() == "ended":
            return queryset.filter(term_end__lt=today)
        return queryset


@admin.register(Contract)
class ContractAdmin(EditableOrganizationChoiceMixin, CustomerScopedAdmin):
    form = ContractForm
    list_display = (
        "reference",
        "organization",
        "term_start",
        "term_end",
        "currency",
        "packages",
        "current_rate",
    )
    list_filter = (
        TermEndFilter,
        "currency",
        assigned_csm_filter("organization__csms"),
        ("subscriptions__package", admin.RelatedOnlyFieldListFilter),
    )
    search_fields = ("reference", "organization__name")
    date_hierarchy = "term_start"
    inlines = (SubscriptionInline, OverageRateInline)
    actions = ("renew_selected",)
    fieldsets = (
        (None, {"fields": ("organization", "reference", "term_start", "term_end", "currency")}),
        (
            "Signing and renewal",
            {
                "fields": (
                    "signed_at",
                    "signed_by",
                    "previous_term",
                    "renewed_as",
                    "renewal_reminder_sent_at",
                )
            },
        ),
        ("Notes", {"fields": ("notes",)}),
    )
    readonly_fields = (
        "signed_at",
        "signed_by",
        "previous_term",
        "renewed_as",
        "renewal_reminder_sent_at",
    )

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("organization")
            .prefetch_related(
                Prefetch(
                    "subscriptions", queryset=PackageSubscription.objects.select_related("package")
                ),
                "overage_rates",
            )
        )

    def get_readonly_fields(self, request, obj=None):
        # A contract stays with the customer it was signed with: its lines of business hang on it.
        fields = super().get_readonly_fields(request, obj)
        if obj is None:
            return fields
        if obj.closings.exists() or TimeEntry.objects.filter(subscription__contract=obj).exists():
            # Time is logged against these quarters and this currency; they stay as signed.
            fields = (*fields, "term_start", "term_end", "currency")
        return (*fields, "organization")

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return (self.fieldsets[0], self.fieldsets[2])
        return super().get_fieldsets(request, obj)

    @admin.display(description="packages")
    def packages(self, contract: Contract) -> str:
        return ", ".join(subscription.package.name for subscription in contract.subscriptions.all())

    @admin.display(description="current overage rate")
    def current_rate(self, contract: Contract) -> str:
        rate = overage_rate_current(contract, timezone.localdate())
        return f"{rate.hourly_rate} {contract.currency}/h" if rate else "-"

    @admin.display(description="renewed as")
    def renewed_as(self, contract: Contract) -> str:
        renewal = Contract.objects.filter(previous_term=contract).first()
        return str(renewal) if renewal else "-"

    def save_model(self, request, obj, form, change):
        if not change:
            obj.signed_at = timezone.now()
            obj.signed_by = request.user
        super().save_model(request, obj, form, change)

    @admin.action(description="Renew selected contracts", permissions=["add"])
    def renew_selected(self, request, queryset):
        """Sign the next term of each: same packages, current catalog terms (Section 9)."""
        for contract in queryset:
            if not self.has_change_permission(request, contract):
                self.message_user(
                    request,
                    f"{contract.reference} was not renewed: {contract.organization.name} "
                    "is not one of your customers.",
                    messages.ERROR,
                )
                continue
            try:
                renewal = contract_renew(contract=contract, signed_by=request.user)
            except ValidationError as error:
                self.message_user(
                    request,
                    f"{contract.reference} was not renewed: {' '.join(error.messages)}",
                    messages.ERROR,
                )
            else:
                self.message_user(
                    request,
                    f"{contract.reference} renewed as {renewal.reference}, "
                    f"{renewal.term_start} to {renewal.term_end}.",
                    messages.SUCCESS,
                )


# Signed terms --------------------------------------------------------------------------------


class SignedTermsInline(ReadOnlyAdminMixin, admin.options.InlineModelAdmin):
    """Terms as signed are a record: shown, never edited."""

    extra = 0
    can_delete = False


class SubscriptionEntitlementInline(SignedTermsInline, admin.TabularInline):
    model = SubscriptionEntitlement
    fields = ("deliverable", "entitlement", "within_package_hours", "note")
    readonly_fields = fields
    verbose_name_plural = "entitlements as signed"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("deliverable")

    @admin.display(description="entitlement")
    def entitlement(self, entitlement: SubscriptionEntitlement) -> str:
        return entitlement.describe()


class SubscriptionExpansionPackInline(SignedTermsInline, admin.TabularInline):
    model = SubscriptionExpansionPack
    fields = ("level", "deployments", "hours")
    readonly_fields = fields
    verbose_name_plural = "expansion pack as signed (Table 9)"


@admin.register(PackageSubscription)
class PackageSubscriptionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """A package as signed under a contract; change it from the contract's page."""

    list_display = (
        "package",
        "contract",
        "covered_lines",
        "quarterly_hours",
        "annual_hours",
        "catalog_version",
    )
    list_filter = ("package", "catalog_version")
    list_select_related = ("package", "contract__organization")
    search_fields = ("contract__reference", "contract__organization__name")
    fields = (
        "contract",
        "package",
        "covered_lines",
        "quarterly_hours",
        "annual_hours",
        "catalog_version",
        "entitled_vs_delivered",
    )
    readonly_fields = fields
    inlines = (SubscriptionExpansionPackInline, SubscriptionEntitlementInline)

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("lines_of_business")

    @admin.display(description="lines of business")
    def covered_lines(self, subscription: PackageSubscription) -> str:
        return ", ".join(line.name for line in subscription.lines_of_business.all())

    @admin.display(description="deliverables: entitled vs delivered (Section 3)")
    def entitled_vs_delivered(self, subscription: PackageSubscription) -> str:
        return schedule_summary_table(subscription)
