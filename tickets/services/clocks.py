"""Storing a ticket's clocks: the plan of `tickets.clock` written as target and escalation rows.

Every event that can move a clock (opening, reply, pause, resolution, severity or policy change)
ends by calling `ticket_clocks_refresh` inside its transaction, so the rows always match the
facts. Notices already sent (warning, breach, escalation) are kept, never sent again.
"""

from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.db import transaction

from accounts.models import User
from tickets.clock import (
    PlannedEscalation,
    PlannedTarget,
    TicketFacts,
    escalations_plan,
    targets_plan,
)
from tickets.models import SlaPolicy, SlaRecalculation, Ticket, TicketEscalation, TicketTarget
from tickets.services.policies import policy_parsed
from tickets.sla import TargetState, target_state

# Tickets whose clocks still matter: a closed ticket is final.
LIVE_STATUSES = [s for s in Ticket.Status if s != Ticket.Status.CLOSED]
_TARGET_FIELDS = ("duration", "calendar", "started_at", "due_at", "warning_at", "met_at")


def warning_share() -> Decimal:
    return Decimal(str(settings.SLA_WARNING_SHARE))


def ticket_facts(ticket: Ticket) -> TicketFacts:
    """What has happened on the ticket, as plain values (2 queries)."""
    pauses = tuple(
        ticket.pauses.order_by("started_at").values_list("started_at", "ended_at", "reason")
    )
    updates = tuple(
        ticket.messages.filter(is_public=True, from_staff=True)
        .order_by("created_at")
        .values_list("created_at", flat=True)
    )
    return TicketFacts(
        severity=ticket.severity,
        package=ticket.sla_package,
        is_bug=ticket.is_bug,
        opened_at=ticket.opened_at,
        pauses=tuple((start, end) for start, end, _ in pauses),
        resolutions=tuple((start, end) for start, end, reason in pauses if reason == "resolved"),
        staff_updates=updates,
        assigned_at=ticket.assigned_at,
        restored_at=ticket.restored_at,
        rca_delivered_at=ticket.rca_delivered_at,
    )


def ticket_clocks_refresh(
    *,
    ticket: Ticket,
    now: datetime,
    reason: str = "",
    actor: User | None = None,
) -> list[dict]:
    """Recompute the ticket's clocks from its facts and store them; with a `reason`, log what
    moved (a recalculation). Returns the changes: each target whose due time moved, and each
    target added or removed (`before` or `after` None)."""
    policy = policy_parsed(ticket.sla_policy)
    facts = ticket_facts(ticket)
    targets = targets_plan(facts, policy, warning_share=warning_share())
    escalations = escalations_plan(facts, policy, targets)
    changes = _targets_write(ticket, targets, now, retarget=bool(reason))
    _escalations_write(ticket, escalations)
    if reason:
        SlaRecalculation.objects.create(
            ticket=ticket, at=now, actor=actor, reason=reason, changes=changes
        )
    return changes


def policy_tickets_recalculate(
    *, policy: SlaPolicy, now: datetime, reason: str, actor: User | None = None
) -> int:
    """Recalculate every ticket still running on `policy`, each logged; returns how many."""
    count = 0
    tickets = Ticket.objects.filter(sla_policy=policy, status__in=LIVE_STATUSES).order_by("pk")
    for pk in tickets.values_list("pk", flat=True).iterator(chunk_size=500):
        with transaction.atomic():
            # Under the row lock, as every other change to a ticket's clocks.
            locked = Ticket.objects.select_for_update().select_related("sla_policy").get(pk=pk)
            ticket_clocks_refresh(ticket=locked, now=now, reason=reason, actor=actor)
        count += 1
    return count


def _targets_write(
    ticket: Ticket, planned: list[PlannedTarget], now: datetime, *, retarget: bool = False
) -> list[dict]:
    """Write the plan. On a re-target (new severity, kind or policy) a target whose due time
    moved is a new promise: the notices sent for the old one no longer stand."""
    # Locked: a sweep marking these rows finishes first, so no mark is overwritten.
    existing = {(r.kind, r.cycle): r for r in ticket.targets.select_for_update()}
    changes, to_create, to_update = [], [], []
    for plan in planned:
        row = existing.pop((plan.kind.value, plan.cycle), None)
        added = row is None
        if added:
            row = TicketTarget(ticket=ticket, kind=plan.kind.value, cycle=plan.cycle)
            to_create.append(row)
            before = None
        else:
            before = row.due_at
            to_update.append(row)
        for name in _TARGET_FIELDS:
            setattr(row, name, getattr(plan, name))
        if retarget and not added and before != row.due_at:
            row.warned_at = row.breach_notified_at = None
        _state_set(row, now)
        if added or before != row.due_at:
            changes.append(
                {
                    "target": plan.kind.value,
                    "cycle": plan.cycle,
                    "before": _iso(before),
                    "after": _iso(row.due_at),
                }
            )
    TicketTarget.objects.bulk_create(to_create)
    fields = [*_TARGET_FIELDS, "breached", "seconds_late", "next_alert_at"]
    fields += ["warned_at", "breach_notified_at"]
    TicketTarget.objects.bulk_update(to_update, fields)
    for gone in existing.values():
        changes.append(
            {"target": gone.kind, "cycle": gone.cycle, "before": _iso(gone.due_at), "after": None}
        )
    TicketTarget.objects.filter(pk__in=[row.pk for row in existing.values()]).delete()
    return changes


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _state_set(row: TicketTarget, now: datetime) -> None:
    """Breach state as of `now`, and the next notice the sweep owes (`sla_alerts`); a closed
    ticket is owed nothing more, so it leaves the sweep's index."""
    closed = row.ticket.status == Ticket.Status.CLOSED
    state = ticket_target_state(row, now)
    row.breached = state.breached
    row.seconds_late = state.seconds_late
    row.next_alert_at = None if closed else target_next_alert_at(row)


def ticket_target_state(row: TicketTarget, now: datetime) -> TargetState:
    """The target's state as the stored rows, the API and the admin show it at `now`: an unmet
    target is late until now, or until its ticket was closed (closing is final)."""
    ticket = row.ticket
    until = now
    if ticket.closed_at is not None and ticket.status == Ticket.Status.CLOSED:
        until = min(now, ticket.closed_at)
    return target_state(row.due_at, row.met_at, until)


def target_next_alert_at(row: TicketTarget) -> datetime | None:
    """The warning until it is sent, then the breach until it is sent; nothing once met."""
    if row.met_at is not None or row.due_at is None:
        return None
    if row.warned_at is None and row.warning_at is not None and row.warning_at < row.due_at:
        return row.warning_at
    if row.breach_notified_at is None:
        return row.due_at
    return None


def _escalations_write(ticket: Ticket, planned: list[PlannedEscalation]) -> None:
    existing = {row.position: row for row in ticket.escalations.select_for_update()}
    to_create, to_update = [], []
    for plan in planned:
        row = existing.pop(plan.position, None)
        if row is None:
            row = TicketEscalation(ticket=ticket, position=plan.position)
            to_create.append(row)
        else:
            to_update.append(row)
        for name in ("after", "action", "target", "unless_met", "due_at", "stopped_at"):
            setattr(row, name, getattr(plan, name))
        closed = ticket.status == Ticket.Status.CLOSED
        row.next_alert_at = None if closed else escalation_next_alert_at(row)
    TicketEscalation.objects.bulk_create(to_create)
    fields = ["after", "action", "target", "unless_met", "due_at", "stopped_at", "next_alert_at"]
    TicketEscalation.objects.bulk_update(to_update, fields)
    TicketEscalation.objects.filter(
        pk__in=[row.pk for row in existing.values() if not row.fired_at]
    ).delete()


def escalation_next_alert_at(row: TicketEscalation) -> datetime | None:
    if row.fired_at is not None or row.stopped_at is not None:
        return None
    return row.due_at
