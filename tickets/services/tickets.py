"""Opening and working tickets. Every change runs under the ticket's row lock and ends by
refreshing its clocks (`tickets.services.clocks`), in the same transaction."""

from datetime import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from accounts.models import LineOfBusiness, User
from accounts.selectors import organizations_visible_to
from cso.models import EntitlementKind, PackageSubscription
from tickets.channels import PRIMARY_ENGINEER, SELF_SERVICE_CHANNELS, channel_refusal
from tickets.models import SlaPolicy, Ticket, TicketMessage, TicketPause
from tickets.services.clocks import target_next_alert_at, ticket_clocks_refresh
from tickets.services.policies import POLICY_YEARS, policy_for_package, policy_parsed

Status = Ticket.Status


def may_work_tickets(user: User) -> bool:
    """Support engineers, CSMs and superusers answer tickets; finance only reads them."""
    return user.is_active and (user.is_superuser or user.role in {User.Role.SUPPORT, User.Role.CSM})


def signed_deliverables(subscription: PackageSubscription) -> set[str]:
    return set(
        subscription.entitlements.exclude(kind=EntitlementKind.NOT_AVAILABLE).values_list(
            "deliverable__code", flat=True
        )
    )


def ticket_open(
    *,
    subscription: PackageSubscription,
    subject: str,
    severity: str,
    opened_by: User,
    now: datetime,
    description: str = "",
    kind: str = Ticket.Kind.NON_BUG,
    channel: str = Ticket.Channel.WEB,
    line_of_business: LineOfBusiness | None = None,
    opened_at: datetime | None = None,
    assignee: User | None = None,
    sla_policy: SlaPolicy | None = None,
    import_reference: str | None = None,
) -> Ticket:
    """Open a ticket on one of the customer's subscriptions; its clocks start at `opened_at`
    (staff may give an earlier time, for tickets reported before they were entered)."""
    organization = subscription.contract.organization
    staff = may_work_tickets(opened_by)
    if not staff and not organizations_visible_to(opened_by).filter(pk=organization.pk).exists():
        raise PermissionDenied("You can open tickets only for your own organization.")
    if (opened_at is not None or sla_policy is not None or assignee is not None) and not staff:
        raise PermissionDenied("Only support staff set the opening time, policy or assignee.")
    opened_at = opened_at or now
    errors: dict[str, list[str]] = {}
    subject = subject.strip()
    limit = Ticket._meta.get_field("subject").max_length
    if not subject:
        errors["subject"] = ["Say in a few words what the problem is."]
    elif len(subject) > limit:
        errors["subject"] = [f"Keep the subject to {limit} characters (it has {len(subject)})."]
    _check_opening(errors, subscription, opened_at, now, line_of_business)
    signed = signed_deliverables(subscription)
    package = subscription.package
    if channel not in Ticket.Channel.values:
        errors.setdefault("channel", []).append(
            f'"{channel}" is not a channel: use {", ".join(Ticket.Channel.values)}.'
        )
    elif not staff and channel not in SELF_SERVICE_CHANNELS:
        errors.setdefault("channel", []).append(
            "Customers open cases on the web or, from Expert up, by messaging their primary "
            "engineer; phone, chat and email cases are entered by support."
        )
    elif refusal := channel_refusal(channel, package.name, signed):
        errors.setdefault("channel", []).append(refusal)
    primary = organization.primary_support_engineer if PRIMARY_ENGINEER in signed else None
    if channel == Ticket.Channel.MESSAGING and PRIMARY_ENGINEER in signed and primary is None:
        errors.setdefault("channel", []).append(
            f"{organization.name} has no primary engineer assigned yet; open the case on the web."
        )
    policy = sla_policy or policy_for_package(package.code)
    if policy is None:
        errors.setdefault("severity", []).append(
            f"No SLA policy serves the {package.name} package; load the policies first."
        )
    else:
        _check_severity(errors, policy, severity)
    if kind not in Ticket.Kind.values:
        errors.setdefault("kind", []).append(f'"{kind}" is not a kind: use bug or non_bug.')
    if assignee is not None and not assignee.is_staff:
        errors.setdefault("assignee", []).append(f"{assignee} is not on the support staff.")
    if import_reference and Ticket.objects.filter(import_reference=import_reference).exists():
        errors.setdefault("import_reference", []).append(
            f"A ticket was already imported as {import_reference}."
        )
    if errors:
        raise ValidationError(errors)
    assignee = assignee or primary
    with transaction.atomic():
        ticket = Ticket.objects.create(
            organization=organization,
            subscription=subscription,
            line_of_business=line_of_business,
            subject=subject,
            description=description,
            severity=severity,
            kind=kind,
            channel=channel,
            status=Status.OPEN if assignee else Status.NEW,
            assignee=assignee,
            assigned_at=opened_at if assignee else None,
            sla_policy=policy,
            sla_package=package.code if package.code in policy.applies_to else policy.applies_to[0],
            opened_at=opened_at,
            created_by=opened_by,
            import_reference=import_reference or None,
        )
        ticket_clocks_refresh(ticket=ticket, now=now)
        if opened_at < now:
            _history_notices_settle(ticket, now)
    return ticket


def _history_notices_settle(ticket: Ticket, now: datetime) -> None:
    """A ticket entered after the fact: warnings and breaches that fell before it was entered
    are history, recorded as breached but not emailed; notices from now on go out as usual."""
    targets = ticket.targets.filter(next_alert_at__lte=now)
    targets.filter(due_at__lte=now).update(
        warned_at=now, breach_notified_at=now, next_alert_at=None
    )
    for row in targets.filter(warning_at__lte=now):
        row.warned_at = now
        row.next_alert_at = target_next_alert_at(row)
        row.save(update_fields=["warned_at", "next_alert_at"])


def _check_opening(errors, subscription, opened_at, now, line_of_business) -> None:
    if opened_at.tzinfo is None:
        errors.setdefault("opened_at", []).append("Give the opening time with its time zone.")
        return
    if opened_at > now:
        errors.setdefault("opened_at", []).append("A ticket cannot be opened in the future.")
    if opened_at.year not in POLICY_YEARS:
        errors.setdefault("opened_at", []).append(
            f"Tickets opened from {POLICY_YEARS.start} on can be entered."
        )
    contract = subscription.contract
    day = contract.organization.today(opened_at)
    if not contract.term_start <= day <= contract.term_end:
        errors.setdefault("subscription", []).append(
            f"Contract {contract.reference} runs {contract.term_start} to {contract.term_end}; "
            f"it does not cover {day}."
        )
    if (
        line_of_business is not None
        and not subscription.lines_of_business.filter(pk=line_of_business.pk).exists()
    ):
        errors.setdefault("line_of_business", []).append(
            f"{line_of_business.name} is not covered by this subscription."
        )


def _check_severity(errors, policy: SlaPolicy, severity: str) -> None:
    codes = [s.code for s in policy_parsed(policy).severities]
    if severity not in codes:
        errors.setdefault("severity", []).append(
            f'"{severity}" is not a severity of {policy.name}: use {", ".join(codes)}.'
        )


def _locked(ticket: Ticket) -> Ticket:
    return Ticket.objects.select_for_update().select_related("sla_policy").get(pk=ticket.pk)


def _may_follow(user: User, ticket: Ticket) -> bool:
    return (
        may_work_tickets(user)
        or organizations_visible_to(user).filter(pk=ticket.organization_id).exists()
    )


def _require_live(ticket: Ticket) -> None:
    if ticket.status == Status.CLOSED:
        raise ValidationError({"status": ["The ticket is closed; open a new one."]})


def ticket_reply(
    *,
    ticket: Ticket,
    author: User,
    body: str,
    now: datetime,
    is_public: bool = True,
    is_root_cause_analysis: bool = False,
    wait_on_customer: bool = False,
) -> TicketMessage:
    """A public reply or an internal note. A public reply from staff is an update (it meets the
    first response and restarts the periodic update clock); a customer's reply to a ticket
    waiting on them starts the clocks again."""
    staff = may_work_tickets(author)
    if not _may_follow(author, ticket):
        raise PermissionDenied("You can reply only on your own organization's tickets.")
    if not staff and (not is_public or is_root_cause_analysis or wait_on_customer):
        raise PermissionDenied("Only support staff write internal notes or root cause analyses.")
    if not body.strip():
        raise ValidationError({"body": ["Write a message."]})
    if is_root_cause_analysis and not is_public:
        raise ValidationError({"is_root_cause_analysis": ["A root cause analysis is public."]})
    if wait_on_customer and not is_public:
        raise ValidationError(
            {
                "wait_on_customer": [
                    "Ask the customer in a public reply: an internal note does not reach them."
                ]
            }
        )
    with transaction.atomic():
        ticket = _locked(ticket)
        _require_live(ticket)
        if is_root_cause_analysis and ticket.resolved_at is None:
            raise ValidationError(
                {"is_root_cause_analysis": ["The root cause analysis follows the resolution."]}
            )
        message = TicketMessage.objects.create(
            ticket=ticket,
            author=author,
            body=body,
            is_public=is_public,
            from_staff=staff,
            is_root_cause_analysis=is_root_cause_analysis,
            created_at=now,
        )
        if staff and is_public and ticket.first_response_at is None:
            ticket.first_response_at = now
        if is_root_cause_analysis and ticket.rca_delivered_at is None:
            ticket.rca_delivered_at = now
        if staff and is_public and ticket.status == Status.NEW:
            ticket.status = Status.OPEN
        if not staff and ticket.status == Status.WAITING_ON_CUSTOMER:
            _resume(ticket, now)
        if wait_on_customer:
            _wait(ticket, now)
        ticket.save()
        ticket_clocks_refresh(ticket=ticket, now=now)
    return message


def _wait(ticket: Ticket, now: datetime) -> None:
    if ticket.status in (Status.RESOLVED, Status.WAITING_ON_CUSTOMER):
        raise ValidationError(
            {"status": [f"The ticket is already {ticket.get_status_display().lower()}."]}
        )
    TicketPause.objects.create(
        ticket=ticket, reason=TicketPause.Reason.WAITING_ON_CUSTOMER, started_at=now
    )
    ticket.status = Status.WAITING_ON_CUSTOMER


def _resume(ticket: Ticket, now: datetime) -> None:
    ticket.pauses.filter(ended_at__isnull=True).update(ended_at=now)
    ticket.status = Status.OPEN


def ticket_status_set(*, ticket: Ticket, status: str, by: User, now: datetime) -> Ticket:
    """Move the ticket: wait on the customer, resume, resolve, reopen or close.

    Waiting on the customer and being resolved pause the clocks; reopening restarts them where
    they stood. Customers may reopen or close their resolved tickets; staff do the rest.
    """
    staff = may_work_tickets(by)
    if not _may_follow(by, ticket):
        raise PermissionDenied("You can change only your own organization's tickets.")
    if status not in Status.values:
        raise ValidationError({"status": [f'"{status}" is not a status.']})
    with transaction.atomic():
        ticket = _locked(ticket)
        _require_live(ticket)
        current = ticket.status
        if not staff and not (
            current == Status.RESOLVED and status in (Status.OPEN, Status.CLOSED)
        ):
            raise PermissionDenied("Customers may reopen or close a resolved ticket only.")
        if status == current:
            state = ticket.get_status_display().lower()
            raise ValidationError({"status": [f"The ticket is already {state}."]})
        if status == Status.WAITING_ON_CUSTOMER:
            _wait(ticket, now)
        elif status == Status.RESOLVED:
            ticket.pauses.filter(ended_at__isnull=True).update(ended_at=now)
            TicketPause.objects.create(
                ticket=ticket, reason=TicketPause.Reason.RESOLVED, started_at=now
            )
            ticket.resolved_at = now
            ticket.status = Status.RESOLVED
        elif status == Status.CLOSED:
            if current != Status.RESOLVED:
                raise ValidationError({"status": ["Resolve the ticket before closing it."]})
            ticket.closed_at = now
            ticket.status = Status.CLOSED
        elif status in (Status.OPEN, Status.NEW):
            if status == Status.NEW:
                raise ValidationError({"status": ["A ticket cannot go back to new."]})
            _resume(ticket, now)
            # Reopened: the RCA answered the resolution just undone; the next resolution
            # awaits its own.
            ticket.resolved_at = None
            ticket.rca_delivered_at = None
        ticket.save()
        ticket_clocks_refresh(ticket=ticket, now=now)
    return ticket


def ticket_assign(*, ticket: Ticket, assignee: User | None, by: User, now: datetime) -> Ticket:
    if not may_work_tickets(by):
        raise PermissionDenied("Only support staff assign tickets.")
    if assignee is not None and not assignee.is_staff:
        raise ValidationError({"assignee": [f"{assignee} is not on the support staff."]})
    with transaction.atomic():
        ticket = _locked(ticket)
        _require_live(ticket)
        ticket.assignee = assignee
        if assignee is not None and ticket.assigned_at is None:
            ticket.assigned_at = now
        if assignee is not None and ticket.status == Status.NEW:
            ticket.status = Status.OPEN
        ticket.save()
        ticket_clocks_refresh(ticket=ticket, now=now)
    return ticket


def ticket_restored(*, ticket: Ticket, by: User, now: datetime) -> Ticket:
    """Service is restored (the restore target), whether or not the ticket is resolved yet."""
    if not may_work_tickets(by):
        raise PermissionDenied("Only support staff record a restoration.")
    with transaction.atomic():
        ticket = _locked(ticket)
        _require_live(ticket)
        if ticket.restored_at is None:
            ticket.restored_at = now
            ticket.save(update_fields=["restored_at"])
            ticket_clocks_refresh(ticket=ticket, now=now)
    return ticket


def ticket_retarget(
    *,
    ticket: Ticket,
    by: User,
    now: datetime,
    severity: str | None = None,
    kind: str | None = None,
    sla_policy: SlaPolicy | None = None,
) -> Ticket:
    """Change severity, kind or policy: every clock is recomputed from the original opening,
    and the change is logged with each due time before and after."""
    if not may_work_tickets(by):
        raise PermissionDenied("Only support staff change a ticket's severity, kind or policy.")
    with transaction.atomic():
        ticket = _locked(ticket)
        _require_live(ticket)
        said = []
        policy = sla_policy or ticket.sla_policy
        errors: dict[str, list[str]] = {}
        new_severity = severity if severity is not None else ticket.severity
        _check_severity(errors, policy, new_severity)
        if kind is not None and kind not in Ticket.Kind.values:
            errors["kind"] = [f'"{kind}" is not a kind: use bug or non_bug.']
        if errors:
            raise ValidationError(errors)
        if new_severity != ticket.severity:
            said.append(f"severity {ticket.severity} → {new_severity}")
            ticket.severity = new_severity
        if kind is not None and kind != ticket.kind:
            said.append(f"kind {ticket.kind} → {kind}")
            ticket.kind = kind
        if policy.pk != ticket.sla_policy_id:
            said.append(f"policy {ticket.sla_policy.code} → {policy.code}")
            ticket.sla_policy = policy
            package = ticket.subscription.package.code
            ticket.sla_package = package if package in policy.applies_to else policy.applies_to[0]
        if not said:
            return ticket
        ticket.save()
        ticket_clocks_refresh(ticket=ticket, now=now, reason="; ".join(said), actor=by)
    return ticket
