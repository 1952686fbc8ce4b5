"""The SLA attainment report in the admin: promises kept and broken per customer, package,
severity and month (what is counted: `tickets.selectors`).

It hangs off the SLA policy admin (`SlaPolicyAdmin.get_urls`), so it needs no model of its own,
and is linked from the ticket and policy lists. Staff who read tickets read it; each sees the
customers they may see.
"""

from urllib.parse import urlencode

from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone

from accounts.selectors import organizations_visible_to, sees_all_customers
from tickets.forms import AttainmentFilterForm
from tickets.selectors import AttainmentRow, last_day_of_month, months_before, sla_attainment

# Shown by default: this month and the eleven before it.
DEFAULT_MONTHS = 12


def lateness(seconds: int | None) -> str:
    """ "2 d 3 h 5 min": minutes are enough to read a breach by; under a minute, seconds."""
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds} s"
    minutes = (seconds + 59) // 60  # rounded up, as lateness is
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    parts = [(days, "d"), (hours, "h"), (minutes, "min")]
    return " ".join(f"{amount} {unit}" for amount, unit in parts if amount)


def _tickets_of(row: AttainmentRow) -> str:
    query = {"organization__id__exact": row.organization_id, "severity": row.severity}
    return f"{reverse('admin:tickets_ticket_changelist')}?{urlencode(query)}"


class AttainmentReportMixin:
    """Adds the report's page to a model admin of the tickets app."""

    def get_urls(self):
        report = path(
            "attainment/",
            self.admin_site.admin_view(self.attainment_view),
            name="tickets_slapolicy_attainment",
        )
        return [report, *super().get_urls()]

    def attainment_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        now = timezone.now()
        user = request.user
        customers = organizations_visible_to(user)
        default_start = months_before(now.date(), DEFAULT_MONTHS - 1)
        data = request.GET or {"month_from": f"{default_start:%Y-%m}"}
        form = AttainmentFilterForm(data, customers=customers)
        rows: list[AttainmentRow] = []
        if form.is_valid():
            choice = form.cleaned_data
            scope = None if sees_all_customers(user) else customers
            if choice["customer"] is not None:
                scope = customers.filter(pk=choice["customer"].pk)
            month_to = choice["month_to"]
            rows = sla_attainment(
                now=now,
                organizations=scope,
                date_from=choice["month_from"],
                date_to=last_day_of_month(month_to) if month_to else None,
                package=choice["package"].code if choice["package"] else None,
                severity=choice["severity"] or None,
                by_kind=choice["by_kind"],
            )
        context = {
            **self.admin_site.each_context(request),
            "title": "SLA attainment",
            "subtitle": None,
            "form": form,
            "opts": self.opts,
            "media": self.media + form.media,
            "as_of": now,
            "by_kind": form.is_valid() and form.cleaned_data["by_kind"],
            "rows": [
                {
                    "row": row,
                    "tickets_url": _tickets_of(row),
                    "average": lateness(row.average_seconds_late),
                    "worst": lateness(row.worst_seconds_late),
                }
                for row in rows
            ],
        }
        return TemplateResponse(request, "admin/tickets/slapolicy/attainment.html", context)
