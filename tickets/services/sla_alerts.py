"""SLA alerts: warn the people on a ticket before a target is breached, tell them when it is,
and carry out the policy's escalation rules, each exactly once.

Every target and escalation row keeps the next moment it owes something (`next_alert_at`,
written by `tickets.services.clocks` and under a partial index), so the sweep reads only what is
due. It works in batches, each its own transaction with a fixed number of queries: lock the due
rows (skipping those another worker holds), record what goes out (`warned_at`,
`breach_notified_at`, `fired_at`), move `next_alert_at` on, and send the emails last. A failed
send rolls the batch back and the next run sends it again; a rerun, a retried task or two
workers at once find nothing left to send. After downtime only the latest notice goes out: a
target already past due gets its breach notice, not a stale warning first.
"""

import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.db.models import DateTimeField, F, Prefetch, Value
from django.db.models.functions import Coalesce, Lower
from django.urls import NoReverseMatch, reverse

from accounts.models import User
from tickets.models import SlaPolicy, Ticket, TicketEscalation, TicketTarget
from tickets.services.clocks import escalation_next_alert_at, target_next_alert_at
from tickets.services.policies import policy_parsed
from tickets.sla import EscalationAction, TargetKind, target_state

logger = logging.getLogger(__name__)

BATCH_SIZE = 500
TARGET_KINDS = {
    TargetKind.FIRST_RESPONSE: "first response",
    TargetKind.ACKNOWLEDGEMENT: "acknowledgement",
    TargetKind.PERIODIC_UPDATE: "periodic update",
    TargetKind.RESOLUTION: "resolution",
    TargetKind.RESTORE: "service restoration",
    TargetKind.ROOT_CAUSE_ANALYSIS: "root cause analysis",
    TargetKind.TIME_TO_OPEN: "time to open (assignment)",
    TargetKind.FOLLOW_UP: "follow-up",
}
_LEVEL = re.compile(r"^\s*level\s+(\d+)\s*$", re.IGNORECASE)


@dataclass
class SlaSweepResult:
    """What one sweep sent: notices (one per target or rule) and the emails carrying them."""

    warnings: int = 0
    breaches: int = 0
    escalations: int = 0
    emails: int = 0


def sla_alerts_sweep(*, now: datetime, batch_size: int = BATCH_SIZE) -> SlaSweepResult:
    """Sweep: send every warning, breach notice and escalation owed by `now`."""
    result = SlaSweepResult()
    for read, act in ((_targets_due, _targets_alert), (_escalations_due, _escalations_fire)):
        after_pk = 0
        while True:
            with transaction.atomic():
                batch = read(now=now, after_pk=after_pk, size=batch_size)
                act(batch, now, result)
            if len(batch) < batch_size:
                break
            after_pk = batch[-1].pk
    return result


# --- Reading what is due ------------------------------------------------------------------------


def _active_csms() -> Prefetch:
    return Prefetch(
        "ticket__organization__csms",
        queryset=User.objects.filter(is_active=True).exclude(email="").order_by("email"),
        to_attr="active_csms",
    )


def _targets_due(*, now: datetime, after_pk: int, size: int) -> list[TicketTarget]:
    """The next batch of targets owed a notice, locked for this worker (index
    `target_alert_due`). Closed tickets' rows are read too, only to be cleared."""
    return list(
        TicketTarget.objects.filter(next_alert_at__lte=now, pk__gt=after_pk)
        .select_for_update(skip_locked=True, of=("self",))
        .select_related("ticket__organization", "ticket__assignee")
        .prefetch_related(_active_csms())
        .order_by("pk")[:size]
    )


def _escalations_due(*, now: datetime, after_pk: int, size: int) -> list[TicketEscalation]:
    """The next batch of escalation rules due (index `escalation_alert_due`), locked for this
    worker. Their tickets are locked next (`_tickets_lock`), not in this statement: where a
    ticket is busy, a joined lock would keep the rule locked yet unread, hidden from every
    worker until this one commits, and the rule would wait for the next run."""
    return list(
        TicketEscalation.objects.filter(next_alert_at__lte=now, pk__gt=after_pk)
        .select_for_update(skip_locked=True, of=("self",))
        .select_related("ticket__organization", "ticket__assignee")
        .prefetch_related(_active_csms())
        .order_by("pk")[:size]
    )


def _tickets_lock(batch: list[TicketEscalation]) -> set[int]:
    """Lock the batch's tickets, as the ticket services lock them, since raising the level
    writes the ticket; a ticket being changed right now is skipped, and its rules (still
    locked by this worker, so no other sends them) are escalated by the next run."""
    tickets = Ticket.objects.filter(pk__in={row.ticket_id for row in batch}).order_by("pk")
    return set(tickets.select_for_update(skip_locked=True).values_list("pk", flat=True))


def _severity_names(batch: list) -> dict[tuple[int, str], str]:
    """ "P1 Critical" for each policy and severity of the batch (one query); "Critical" alone
    where the code is the name, "Severity 1" where the name holds the code."""
    policies = SlaPolicy.objects.filter(pk__in={row.ticket.sla_policy_id for row in batch})
    names = {}
    for policy in policies:
        for severity in policy_parsed(policy).severities:
            code, words = severity.code, severity.name
            names[policy.pk, code] = words if code.lower() in words.lower() else f"{code} {words}"
    return names


# --- Targets ------------------------------------------------------------------------------------


def _targets_alert(batch: list[TicketTarget], now: datetime, result: SlaSweepResult) -> None:
    """Record, move on and send the batch's notices; the caller's transaction holds them."""
    if not batch:
        return
    severities = _severity_names(batch)
    messages = []
    warned, breached, rest = [], [], []
    for row in batch:
        if row.ticket.status == Ticket.Status.CLOSED:
            row.next_alert_at = None  # a closed ticket is final: it owes nothing more
            rest.append(row)
            continue
        notice = _target_notice(row, now)
        row.next_alert_at = target_next_alert_at(row)
        if notice == "warning" and row.next_alert_at == row.due_at:
            warned.append(row)
        elif notice == "breach" and row.next_alert_at is None:
            breached.append(row)
        else:
            rest.append(row)
        if notice is None:
            continue
        result.warnings += notice == "warning"
        result.breaches += notice == "breach"
        message = _target_email(row, notice, now, severities)
        if message is not None:
            messages.append(message)
    _targets_write(warned, breached, rest, now)
    _send(messages, result)


def _targets_write(warned: list, breached: list, rest: list, now: datetime) -> None:
    """Write the marks set-based: every warned row takes the same ones and waits for its due
    time, every breached row the same ones and its own lateness. Rows that owed nothing after
    all (met, paused or closed since their next notice was set) are few: written one by one."""
    if warned:
        TicketTarget.objects.filter(pk__in=[row.pk for row in warned]).update(
            warned_at=now, next_alert_at=F("due_at")
        )
    if breached:
        TicketTarget.objects.filter(pk__in=[row.pk for row in breached]).update(
            breach_notified_at=now,
            breached=True,
            warned_at=Coalesce("warned_at", Value(now, output_field=DateTimeField())),
            next_alert_at=None,
        )
        TicketTarget.objects.bulk_update(breached, ["seconds_late"])
    if rest:
        fields = ["warned_at", "breach_notified_at", "breached", "seconds_late", "next_alert_at"]
        TicketTarget.objects.bulk_update(rest, fields)


def _target_notice(row: TicketTarget, now: datetime) -> str | None:
    """Which notice the row owes now, marking it sent: the breach (which also stands for a
    warning never sent), else the warning; none once met or while paused."""
    if row.met_at is not None or row.due_at is None:
        return None
    state = target_state(row.due_at, row.met_at, now)
    if state.breached:
        row.breached, row.seconds_late = True, state.seconds_late
        if row.breach_notified_at is not None:
            return None
        row.breach_notified_at = now
        row.warned_at = row.warned_at or now
        return "breach"
    # No warning where it would come with the due time itself (a target of no length).
    if row.warned_at is None and row.warning_at is not None and row.warning_at <= now:
        if row.warning_at < row.due_at:
            row.warned_at = now
            return "warning"
    return None


def _target_email(
    row: TicketTarget, notice: str, now: datetime, severities: dict
) -> EmailMessage | None:
    ticket = row.ticket
    kind = TARGET_KINDS.get(row.kind, row.kind.replace("_", " "))
    severity = severities.get((ticket.sla_policy_id, ticket.severity), ticket.severity)
    about = f"ticket #{ticket.pk} ({ticket.organization.name}, {severity})"
    if notice == "breach":
        late = _span(row.seconds_late)
        subject = f"SLA breached: {kind} on {about} is {late} late"
        opening = f"The {kind} target of ticket #{ticket.pk} was breached: it is {late} late."
        timing = f"Late by: {late}"
    else:
        left = _span(int((row.due_at - now).total_seconds()))
        subject = f"SLA warning: {kind} on {about} due in {left}"
        opening = f"The {kind} target of ticket #{ticket.pk} will be breached in {left}."
        timing = f"Time left: {left}"
    facts = [
        *_ticket_facts(ticket, severity),
        f"Target: {kind} within {row.duration} ({row.calendar})",
        f"Due: {_moment(row.due_at, ticket)}",
        timing,
    ]
    return _email(ticket, subject, [opening, "\n".join(facts)])


# --- Escalations --------------------------------------------------------------------------------


def _escalations_fire(batch: list[TicketEscalation], now: datetime, result: SlaSweepResult) -> None:
    """Fire the batch's due rules once each: raise the level, tell the people and the group."""
    if not batch:
        return
    locked = _tickets_lock(batch)
    batch = [row for row in batch if row.ticket_id in locked]
    severities = _severity_names(batch)
    groups = _group_members([row for row in batch if row.action == EscalationAction.NOTIFY])
    raised: dict[int, Ticket] = {}
    fired, messages = [], []
    for row in sorted(batch, key=lambda row: (row.ticket_id, row.position)):
        ticket = raised.get(row.ticket_id, row.ticket)
        due = row.due_at is not None and row.due_at <= now and row.stopped_at is None
        if ticket.status == Ticket.Status.CLOSED or row.fired_at is not None or not due:
            row.next_alert_at = (
                None if ticket.status == Ticket.Status.CLOSED else escalation_next_alert_at(row)
            )
            continue
        row.fired_at, row.next_alert_at = now, None
        fired.append(row)
        result.escalations += 1
        before = ticket.support_level
        if row.action == EscalationAction.RAISE_LEVEL and _is_raise(before, row.target):
            ticket.support_level = row.target
            raised[ticket.pk] = ticket
        members = groups.get(_group_key(row.target), []) if row.action == "notify" else []
        message = _escalation_email(row, ticket, before, members, severities)
        if message is not None:
            messages.append(message)
    fired_pks = {row.pk for row in fired}
    TicketEscalation.objects.filter(pk__in=fired_pks).update(fired_at=now, next_alert_at=None)
    moved = [row for row in batch if row.pk not in fired_pks]
    TicketEscalation.objects.bulk_update(moved, ["next_alert_at"])
    levels: dict[str, list[int]] = {}
    for ticket in raised.values():
        levels.setdefault(ticket.support_level, []).append(ticket.pk)
    for level, pks in levels.items():  # as many statements as the policies have levels
        Ticket.objects.filter(pk__in=pks).update(support_level=level)
    _send(messages, result)


def _is_raise(current: str, target: str) -> bool:
    """A rule raises the level; a ticket already above it ("Level 3" for "Level 2") stays."""
    now_at, wanted = _LEVEL.match(current or ""), _LEVEL.match(target)
    if now_at and wanted:
        return int(wanted[1]) > int(now_at[1])
    return current != target


def _group_key(target: str) -> str:
    """The auth group a notify rule names: "operations (divert to the backup data centre)"
    names the group "operations"."""
    return target.split("(")[0].strip().lower()


def _group_members(rows: list[TicketEscalation]) -> dict[str, list[User]]:
    """Active members of the groups the rules name, by lower-cased group name (one query)."""
    names = {_group_key(row.target) for row in rows}
    if not names:
        return {}
    members: dict[str, list[User]] = {}
    users = (
        User.objects.filter(is_active=True)
        .exclude(email="")
        .annotate(group_name=Lower("groups__name"))
        .filter(group_name__in=names)
        .order_by("email")
    )
    for user in users:
        members.setdefault(user.group_name, []).append(user)
    return members


def _escalation_email(
    row: TicketEscalation, ticket: Ticket, before: str, members: list[User], severities: dict
) -> EmailMessage | None:
    severity = severities.get((ticket.sla_policy_id, ticket.severity), ticket.severity)
    about = f"ticket #{ticket.pk} ({ticket.organization.name}, {severity})"
    condition = (
        f"the {TARGET_KINDS.get(row.unless_met, row.unless_met)} target was not met"
        if row.unless_met
        else "the ticket was not resolved"
    )
    if row.action == EscalationAction.RAISE_LEVEL:
        subject = f"Escalation: {about} raised to {row.target}"
        if ticket.support_level == before:
            done = f"The ticket stays at {before}, already at or above {row.target}."
        else:
            done = f"The ticket is raised from {before} to {row.target}."
        rule = f"raise to {row.target}"
    else:
        subject = f"Escalation: {about}: notify {row.target}"
        done = (
            f"Sent to the {_group_key(row.target)} group too."
            if members
            else f'No group is named "{_group_key(row.target)}": pass this on to {row.target}.'
        )
        rule = f"notify {row.target}"
    opening = f"Ticket #{ticket.pk} reached an escalation of its SLA policy: {condition} in time."
    facts = [
        *_ticket_facts(ticket, severity),
        f"Rule: after {row.after}, {rule}",
        f"Due: {_moment(row.due_at, ticket)}",
    ]
    return _email(ticket, subject, [opening, "\n".join(facts), done], also=members)


# --- The emails ---------------------------------------------------------------------------------


def _admin_link(ticket: Ticket) -> str:
    try:
        path = reverse("admin:tickets_ticket_change", args=[ticket.pk])
    except NoReverseMatch:
        path = f"/admin/tickets/ticket/{ticket.pk}/change/"
    return settings.PORTAL_BASE_URL + path


def _moment(moment: datetime, ticket: Ticket) -> str:
    """The customer's local time and UTC: "Mon 23 Nov 2026 10:00 EST (America/New_York),
    15:00 UTC" (the UTC day is named too when it differs)."""
    zone = ticket.organization.time_zone
    local, utc = moment.astimezone(ZoneInfo(zone)), moment.astimezone(UTC)
    text = f"{local:%a} {local.day} {local:%b %Y %H:%M %Z} ({zone})"
    if zone == "UTC":
        return text
    day = "" if utc.date() == local.date() else f"{utc:%a} {utc.day} {utc:%b} "
    return f"{text}, {day}{utc:%H:%M} UTC"


def _span(seconds: int) -> str:
    """A duration in words, to the minute: "1 hour 5 minutes", "2 days 3 hours"."""
    if seconds < 60:
        return "less than a minute"
    minutes = seconds // 60
    parts = [(minutes // 1440, "day"), (minutes % 1440 // 60, "hour"), (minutes % 60, "minute")]
    words = [f"{n} {unit}{'s' if n != 1 else ''}" for n, unit in parts if n]
    return " ".join(words[:2])


def _ticket_facts(ticket: Ticket, severity: str) -> list[str]:
    assignee = ticket.assignee
    return [
        f"Ticket: #{ticket.pk} {ticket.subject}",
        f"Customer: {ticket.organization.name}",
        f"Severity: {severity}",
        f"Status: {ticket.get_status_display()}, {ticket.support_level}",
        f"Assignee: {assignee if assignee else 'nobody yet'}",
    ]


def _recipients(ticket: Ticket, also: list[User]) -> list[str]:
    """The assignee and the customer's CSMs (active, with an email), and any group told."""
    people = [*ticket.organization.active_csms, *also]
    if ticket.assignee is not None and ticket.assignee.is_active:
        people.append(ticket.assignee)
    return sorted({person.email for person in people if person.email})


def _email(
    ticket: Ticket, subject: str, paragraphs: list[str], also: list[User] | None = None
) -> EmailMessage | None:
    to = _recipients(ticket, also or [])
    if not to:
        # Recorded as sent all the same: a CSM assigned later needs no stale notice.
        logger.warning("No one to tell about %s: %s", ticket, subject)
        return None
    body = "\n\n".join([*paragraphs, f"Open the ticket: {_admin_link(ticket)}"])
    return EmailMessage(
        subject=subject, body=body + "\n", from_email=settings.DEFAULT_FROM_EMAIL, to=to
    )


def _send(messages: list[EmailMessage], result: SlaSweepResult) -> None:
    """Last, inside the batch's transaction: if sending fails, nothing the batch did is kept."""
    if messages:
        get_connection().send_messages(messages)
        result.emails += len(messages)
