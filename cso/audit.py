"""The audit trail: who changed time entries, rates, closings, scopes, T&E and scheduled
deliverables, when, and each field before and after.

django-auditlog records every save and delete of these models. The services run their writes
inside `audit_actor(by)`, so the trail names the person also when the change comes from an
import, a Celery task or a script rather than a signed-in request.
"""

from auditlog.context import set_actor
from auditlog.registry import auditlog

# Derived columns the services recompute on every change; they are explained, not edited.
SPLIT_FIELDS = [
    "quarter_index",
    "quarter_start",
    "quarter_end",
    "year_index",
    "included_hours",
    "overage_hours",
    "prepaid_hours",
    "additional_cost_hours",
    "limited_by",
]


def register_models() -> None:
    from .models import (
        ExpansionScope,
        Occurrence,
        OverageRate,
        QuarterClosing,
        TimeEntry,
        TravelExpense,
    )

    if auditlog.contains(TimeEntry):
        return
    auditlog.register(TimeEntry, exclude_fields=SPLIT_FIELDS)
    auditlog.register(OverageRate)
    auditlog.register(QuarterClosing)
    auditlog.register(ExpansionScope)
    # Deliverables as delivered, moved or skipped; the reminder bookkeeping is the sweep's.
    auditlog.register(Occurrence, exclude_fields=["next_reminder_on", "next_reminder_kind"])
    auditlog.register(
        TravelExpense, exclude_fields=["quarter_index", "quarter_start", "quarter_end"]
    )


audit_actor = set_actor
