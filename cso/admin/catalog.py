"""The CSO catalog in the admin: packages, what they are entitled to, programs and deliverables.

CSMs keep the catalog current here. Signed contracts copied their terms at signing, so an edit
applies to contracts signed afterwards and never to one already signed.
"""

from django.contrib import admin

from accounts.admin import ReadOnlyAdminMixin

from ..models import (
    CatalogVersion,
    Deliverable,
    Entitlement,
    ExpansionPack,
    ExpansionUse,
    Package,
    Program,
    Severity,
)

SIGNED_TERMS_NOTE = (
    "Edits here apply to contracts signed afterwards. Contracts already signed keep the hours "
    "and entitlements they copied when they were signed."
)


@admin.register(CatalogVersion)
class CatalogVersionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Read only: a version is a load of the catalog file (`manage.py load_catalog`)."""

    list_display = ("version", "effective_from", "source", "loaded_at")
    readonly_fields = ("version", "effective_from", "source", "checksum", "loaded_at")


class EntitlementInline(admin.TabularInline):
    model = Entitlement
    extra = 0
    fields = (
        "deliverable",
        "kind",
        "frequency",
        "max_per_year",
        "hours",
        "within_package_hours",
        "note",
    )

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("deliverable", "package")

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "deliverable":
            kwargs["queryset"] = Deliverable.objects.order_by("source_table", "rank")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class ExpansionPackInline(admin.StackedInline):
    model = ExpansionPack
    extra = 0
    max_num = 1
    verbose_name = "expansion pack (Table 9)"
    fields = ("level", "deployments", "hours", "within_package_hours")


@admin.register(Package)
class PackageAdmin(admin.ModelAdmin):
    list_display = ("name", "code", "rank", "quarterly_hours", "annual_hours", "catalog_version")
    list_select_related = ("catalog_version",)
    search_fields = ("name", "code")
    fieldsets = (
        (
            None,
            {
                "fields": ("name", "code", "rank", "catalog_version"),
                "description": SIGNED_TERMS_NOTE,
            },
        ),
        ("Hours (Section 1)", {"fields": ("quarterly_hours", "annual_hours")}),
    )
    inlines = (ExpansionPackInline, EntitlementInline)


@admin.register(Program)
class ProgramAdmin(admin.ModelAdmin):
    list_display = ("name", "code", "rank")
    search_fields = ("name", "code", "description")


@admin.register(Deliverable)
class DeliverableAdmin(admin.ModelAdmin):
    list_display = ("name", "code", "category", "source_table", "program", "is_review")
    list_filter = ("category", "source_table", "is_review", "program")
    list_select_related = ("program",)
    search_fields = ("name", "code", "definition")
    fieldsets = (
        (
            None,
            {
                "fields": ("name", "code", "definition"),
                "description": SIGNED_TERMS_NOTE,
            },
        ),
        ("Where it sits", {"fields": ("category", "source_table", "rank", "program")}),
        ("Reminders", {"fields": ("is_review",)}),
    )


@admin.register(ExpansionUse)
class ExpansionUseAdmin(admin.ModelAdmin):
    list_display = ("description", "allowed", "rank")
    list_filter = ("allowed",)
    search_fields = ("description", "code")


@admin.register(Severity)
class SeverityAdmin(admin.ModelAdmin):
    list_display = ("code", "rank", "definition")
    search_fields = ("code", "definition")
