"""Renewal reminders: tell the assigned CSMs that a term is ending while there is time to renew.

Expansion packs can be bought only on renewal (Section 9), so a renewal that slips costs the
customer. The sweep is idempotent: each contract is claimed with a conditional update before its
email goes out, so reruns, retries and two workers at once send each reminder once.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse

from ..models import Contract


def contracts_due_renewal_reminder(*, now: datetime, days_ahead: int):
    today = now.date()
    return Contract.objects.filter(
        renewal_reminder_sent_at__isnull=True,
        renewal__isnull=True,
        term_end__gte=today,
        term_end__lte=today + timedelta(days=days_ahead),
    )


def _reminder_recipients(contract: Contract) -> list[str]:
    return sorted(
        contract.organization.csms.filter(is_active=True).values_list("email", flat=True)
    )


def renewal_reminder_send(*, contract_id: int, now: datetime) -> bool:
    """Send one contract's reminder unless it has been sent already. Returns whether it sent."""
    with transaction.atomic():
        claimed = Contract.objects.filter(
            pk=contract_id, renewal_reminder_sent_at__isnull=True
        ).update(renewal_reminder_sent_at=now)
        if not claimed:
            return False
        contract = Contract.objects.select_related("organization").get(pk=contract_id)
        recipients = _reminder_recipients(contract)
        days_left = (contract.term_end - now.date()).days
        link = settings.PORTAL_BASE_URL + reverse("admin:cso_contract_change", args=[contract.pk])
        subject = f"Renewal due: {contract.organization.name} ends {contract.term_end:%d %b %Y}"
        body = (
            f"The contract {contract.reference} of {contract.organization.name} ends on "
            f"{contract.term_end:%A %d %B %Y}, in {days_left} days, and has not been renewed.\n\n"
            "Expansion packs can only be bought with a renewal, and unused hours do not carry "
            f"forward.\n\nContract: {link}\n"
        )
        if recipients:
            transaction.on_commit(
                lambda: send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, recipients)
            )
    return True


def renewal_reminders_send(*, now: datetime, days_ahead: int | None = None) -> int:
    """Sweep: remind about every unrenewed contract ending within `days_ahead` days."""
    days_ahead = settings.RENEWAL_REMINDER_DAYS if days_ahead is None else days_ahead
    due_ids = list(
        contracts_due_renewal_reminder(now=now, days_ahead=days_ahead).values_list("pk", flat=True)
    )
    return sum(renewal_reminder_send(contract_id=pk, now=now) for pk in due_ids)
