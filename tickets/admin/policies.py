"""SLA policies in the admin: read only, as loaded from their files (`manage.py
load_sla_policies`), with the notes that say how each reads its contract, and the one thing
staff do with them: recalculate the clocks of the tickets still running on one.
"""

from django.contrib import admin, messages
from django.utils import timezone
from django.utils.html import format_html

from tickets.models import SlaPolicy
from tickets.services.clocks import policy_tickets_recalculate
from tickets.services.tickets import may_work_tickets

from .attainment import AttainmentReportMixin


@admin.register(SlaPolicy)
class SlaPolicyAdmin(AttainmentReportMixin, admin.ModelAdmin):
    """A policy changes by editing its file and loading it again, which raises its version."""

    list_display = ("code", "name", "version", "packages", "loaded_at")
    search_fields = ("code", "name")
    change_list_template = "admin/tickets/slapolicy/change_list.html"
    actions = ("recalculate_open_tickets",)
    fields = (
        "code",
        "name",
        "version",
        "packages",
        "source",
        "notes",
        "loaded_at",
        "checksum",
        "policy_file",
    )
    readonly_fields = fields

    @admin.display(description="applies to")
    def packages(self, policy: SlaPolicy) -> str:
        return ", ".join(policy.applies_to) or "-"

    @admin.display(description="policy file as loaded")
    def policy_file(self, policy: SlaPolicy):
        return format_html('<pre style="white-space: pre-wrap">{}</pre>', policy.text)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_recalculate_permission(self, request) -> bool:
        return may_work_tickets(request.user)

    @admin.action(description="Recalculate open tickets", permissions=["recalculate"])
    def recalculate_open_tickets(self, request, queryset):
        """Every ticket not closed on the chosen policies gets its clocks recomputed; each
        recalculation is logged on the ticket with the due times it moved."""
        now = timezone.now()
        for policy in queryset:
            count = policy_tickets_recalculate(
                policy=policy,
                now=now,
                reason=f"{policy.name} version {policy.version} recalculated by {request.user}",
                actor=request.user,
            )
            self.log_change(request, policy, f"Recalculated {count} open tickets.")
            self.message_user(
                request,
                f"{policy.name}: recalculated {count} open ticket{'s' if count != 1 else ''}.",
                messages.SUCCESS,
            )
