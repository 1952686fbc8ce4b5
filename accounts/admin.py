"""The admin as CSMs use it: customers, their lines of business and people.

Model permissions come from the user's role (`accounts.roles`). On top of them, staff see every
customer but a CSM changes only the customers assigned to them (`organizations_editable_by`);
superusers change everything and finance changes nothing.
"""

from operator import attrgetter

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import BaseUserCreationForm
from django.contrib.auth.forms import UserChangeForm as DjangoUserChangeForm
from django.db.models import Count
from django.urls import reverse
from django.utils import timezone

from .models import LineOfBusiness, Membership, Organization, User, new_calendar_token
from .selectors import organizations_editable_by
from .services import organization_csm_assign


def editable_organization_ids(request) -> frozenset[int] | None:
    """Ids of the customers the signed-in user may change, or None for all of them.

    Read once per request: the admin asks about permissions many times while drawing a page.
    """
    if not hasattr(request, "_editable_organization_ids"):
        user = request.user
        request._editable_organization_ids = (
            None
            if user.is_superuser and user.is_active
            else frozenset(organizations_editable_by(user).values_list("pk", flat=True))
        )
    return request._editable_organization_ids


def may_edit_customer(request, organization_id: int | None) -> bool:
    """Whether the user may change data of this customer (None: a customer not chosen yet)."""
    editable = editable_organization_ids(request)
    return organization_id is None or editable is None or organization_id in editable


class CustomerScopedAdmin(admin.ModelAdmin):
    """A model admin whose rows belong to a customer, found by `customer_path` from the row."""

    customer_path = "organization_id"

    def _may_edit(self, request, obj) -> bool:
        return obj is None or may_edit_customer(request, attrgetter(self.customer_path)(obj))

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and self._may_edit(request, obj)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and self._may_edit(request, obj)


class EditGuardMixin:
    """Add, change and delete only where `_may_edit(request, parent)` allows, on top of the role's
    model permissions."""

    def _may_edit(self, request, parent) -> bool:
        raise NotImplementedError

    def has_add_permission(self, request, obj):
        return super().has_add_permission(request, obj) and self._may_edit(request, obj)

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and self._may_edit(request, obj)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and self._may_edit(request, obj)


class EditableOrganizationChoiceMixin:
    """Offer only the customers the user may edit wherever an organization is chosen."""

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "organization":
            editable = editable_organization_ids(request)
            if editable is not None:
                kwargs["queryset"] = Organization.objects.filter(pk__in=editable)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class ReadOnlyAdminMixin:
    """Records nobody edits by hand (they come from a load or a signature)."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class CustomerScopedInline(EditGuardMixin, admin.options.InlineModelAdmin):
    """An inline editable only when its parent's customer is: `customer_path` is from the parent."""

    customer_path = "organization_id"

    def _may_edit(self, request, parent) -> bool:
        if parent is None or parent.pk is None:
            return True
        return may_edit_customer(request, attrgetter(self.customer_path)(parent))


def assigned_csm_filter(path: str) -> type[admin.SimpleListFilter]:
    """A list filter by assigned CSM, where `path` leads from the listed model to `csms`."""

    class AssignedCsmFilter(admin.SimpleListFilter):
        title = "assigned CSM"
        parameter_name = "csm"

        def lookups(self, request, model_admin):
            choices = [("none", "No CSM assigned")]
            if request.user.role == User.Role.CSM:
                choices.insert(0, ("me", "Assigned to me"))
            csms = User.objects.filter(role=User.Role.CSM, is_active=True).order_by("email")
            return choices + [(str(csm.pk), str(csm)) for csm in csms]

        def queryset(self, request, queryset):
            value = self.value()
            if value == "me":
                return queryset.filter(**{path: request.user.pk})
            if value == "none":
                return queryset.filter(**{f"{path}__isnull": True})
            if value and value.isdigit():
                return queryset.filter(**{path: int(value)})
            return queryset

    return AssignedCsmFilter


# Organizations -----------------------------------------------------------------------------


class LineOfBusinessFormSet(forms.BaseInlineFormSet):
    def clean(self):
        """A line of business covered by a contract stays until it is taken off the contract."""
        super().clean()
        for form in self.deleted_forms:
            line = form.instance
            if line.pk is None:
                continue
            references = sorted(
                {
                    subscription.contract.reference
                    for subscription in line.subscriptions.select_related("contract")
                }
            )
            if references:
                raise forms.ValidationError(
                    f"{line.name} is covered by contract {', '.join(references)}; take it off "
                    "the contract before removing it."
                )


class LineOfBusinessInline(CustomerScopedInline, admin.TabularInline):
    model = LineOfBusiness
    formset = LineOfBusinessFormSet
    customer_path = "pk"
    extra = 0
    fields = ("name",)


class OrganizationMembershipInline(CustomerScopedInline, admin.TabularInline):
    model = Membership
    customer_path = "pk"
    extra = 0
    fields = ("user", "role", "created_at")
    readonly_fields = ("created_at",)
    autocomplete_fields = ("user",)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("user", "organization")

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "user":
            kwargs["queryset"] = User.objects.filter(role=User.Role.CUSTOMER)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(Organization)
class OrganizationAdmin(CustomerScopedAdmin):
    customer_path = "pk"
    list_display = ("name", "slug", "time_zone", "assigned_csms", "contracts_count")
    list_filter = (assigned_csm_filter("csms"),)
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    filter_horizontal = ("csms",)
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "name",
                    "slug",
                    "time_zone",
                    "csms",
                    "primary_support_engineer",
                    "created_at",
                )
            },
        ),
        (
            "Review reminders",
            {
                "fields": ("review_reminder_days", "review_reminder_last_days"),
                "description": "Reviews remind the assigned CSMs and the customer's contacts "
                "this many days before they are due, then on the day and once overdue.",
            },
        ),
    )
    readonly_fields = ("created_at", "calendar_feed")
    inlines = (LineOfBusinessInline, OrganizationMembershipInline)
    actions = ("calendar_address_renew",)

    def get_fieldsets(self, request, obj=None):
        # The feed's address is a secret: shown to those who look after the customer.
        if obj is None or not may_edit_customer(request, obj.pk):
            return self.fieldsets
        (main, reminders) = self.fieldsets
        fields = (*reminders[1]["fields"], "calendar_feed")
        return (main, (reminders[0], {**reminders[1], "fields": fields}))

    @admin.display(description="review calendar feed")
    def calendar_feed(self, organization: Organization) -> str:
        path = reverse("review-calendar", args=[organization.calendar_token])
        return settings.PORTAL_BASE_URL + path

    @admin.action(description="Issue new review calendar addresses", permissions=["change"])
    def calendar_address_renew(self, request, queryset):
        """When an address has leaked: the old one stops working at once."""
        renewed = []
        for organization in queryset:
            if not self.has_change_permission(request, organization):
                self.message_user(
                    request,
                    f"{organization.name} keeps its address: it is not one of your customers.",
                    messages.ERROR,
                )
                continue
            organization.calendar_token = new_calendar_token()
            organization.save(update_fields=["calendar_token"])
            renewed.append(organization.name)
        if renewed:
            self.message_user(
                request,
                f"New review calendar address for {', '.join(renewed)}; the old one no longer "
                "works. Give the customer's contacts the new one.",
                messages.SUCCESS,
            )

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(contracts_count=Count("contracts", distinct=True))
            .prefetch_related("csms")
        )

    @admin.display(description="assigned CSMs")
    def assigned_csms(self, organization: Organization) -> str:
        return ", ".join(csm.get_full_name() or csm.email for csm in organization.csms.all())

    @admin.display(description="contracts", ordering="contracts_count")
    def contracts_count(self, organization: Organization) -> int:
        return organization.contracts_count

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        if change and {"review_reminder_days", "review_reminder_last_days"} & set(
            form.changed_data
        ):
            from cso.services.schedules import review_reminders_replan

            review_reminders_replan(organization=form.instance, now=timezone.now())
        # After the form's own CSM list is saved, or saving it would undo the assignment.
        # Superusers edit every customer already and choose its CSMs in the form.
        if not change and request.user.is_csm and not request.user.is_superuser:
            organization_csm_assign(organization=form.instance, csm=request.user)


# Users -------------------------------------------------------------------------------------


class UserCreationForm(BaseUserCreationForm):
    class Meta:
        model = User
        fields = ("email", "first_name", "last_name", "role")


class UserChangeForm(DjangoUserChangeForm):
    class Meta:
        model = User
        fields = "__all__"


class UserMembershipInline(EditGuardMixin, EditableOrganizationChoiceMixin, admin.TabularInline):
    """A person's memberships; changeable when the person is (see `UserAdmin`)."""

    model = Membership
    fk_name = "user"
    extra = 0
    fields = ("organization", "role", "created_at")
    readonly_fields = ("created_at",)
    verbose_name_plural = "memberships"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("organization", "user")

    def _may_edit(self, request, user) -> bool:
        return user is None or self.admin_site._registry[User].has_change_permission(request, user)


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    """People by email. CSMs look after customer users; staff accounts are for superusers."""

    form = UserChangeForm
    add_form = UserCreationForm
    add_form_template = None
    list_display = ("email", "first_name", "last_name", "role", "is_active")
    list_filter = ("role", "is_active")
    search_fields = ("email", "first_name", "last_name")
    ordering = ("email",)
    readonly_fields = ("is_staff", "last_login", "date_joined")
    inlines = (UserMembershipInline,)
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Name", {"fields": ("first_name", "last_name")}),
        (
            "Role and access",
            {
                "fields": ("role", "is_active", "is_staff"),
                "description": "CSMs and finance work in this admin; customers use the portal.",
            },
        ),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    superuser_fieldsets = (
        ("Extra permissions", {"fields": ("is_superuser", "groups", "user_permissions")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("email", "first_name", "last_name", "role", "password1", "password2"),
            },
        ),
    )

    def get_inline_instances(self, request, obj=None):
        # Memberships come after the person exists: saving the add form opens the change page.
        return [] if obj is None else super().get_inline_instances(request, obj)

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is not None and request.user.is_superuser:
            fieldsets = fieldsets + self.superuser_fieldsets
        return fieldsets

    def formfield_for_choice_field(self, db_field, request, **kwargs):
        if db_field.name == "role" and not request.user.is_superuser:
            # Only superusers make staff: a CSM adds and changes customer users.
            kwargs["choices"] = [(User.Role.CUSTOMER.value, User.Role.CUSTOMER.label)]
        return super().formfield_for_choice_field(db_field, request, **kwargs)

    def _may_edit(self, request, person: User | None) -> bool:
        """A CSM changes customer users whose every membership is at a customer of theirs."""
        if person is None or request.user.is_superuser:
            return True
        if person.is_superuser or person.role != User.Role.CUSTOMER:
            return False
        editable = editable_organization_ids(request) or frozenset()
        cache = request.__dict__.setdefault("_editable_people", {})
        if person.pk not in cache:
            cache[person.pk] = not person.memberships.exclude(organization__in=editable).exists()
        return cache[person.pk]

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and self._may_edit(request, obj)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and self._may_edit(request, obj)

    def get_search_results(self, request, queryset, search_term):
        queryset, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        # Memberships are for customer users; offer only them when picking a member.
        if request.GET.get("model_name") == "membership" and request.GET.get("field_name"):
            queryset = queryset.filter(role=User.Role.CUSTOMER)
        return queryset, may_have_duplicates


__all__ = [
    "CustomerScopedAdmin",
    "CustomerScopedInline",
    "assigned_csm_filter",
    "editable_organization_ids",
    "may_edit_customer",
]
