"""Renewal reminders: tell the assigned CSMs that a term is ending while there is time to renew.

Expansion packs can be bought only on renewal (Section 9), so a renewal that slips costs the
customer. The sweep is idempotent and set-based: due contracts are locked (skipping rows another
worker holds), claimed in one update that records `renewal_reminder_sent_at`, and their emails go
out after commit. Reruns, retries and two workers at once therefore send each reminder once, and
a sweep after downtime picks up everything still inside the window.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.db.models import Exists, OuterRef, Prefetch, QuerySet
from django.urls import reverse
from django.utils import timezone

from accounts.models import User

from ..models import Contract


def contracts_due_renewal_reminder(*, now: datetime, days_ahead: int) -> QuerySet[Contract]:
    """Unrenewed contracts ending within the window whose customer has an active CSM.

    A customer without a CSM is left unclaimed, so the reminder still goes out once one is
    assigned. Days are the portal's local days, as in the admin.
    """
    today = timezone.localdate(now)
    has_csm = User.objects.filter(
        assigned_organizations=OuterRef("organization_id"), is_active=True
    )
    return Contract.objects.filter(
        Exists(has_csm),
        renewal_reminder_sent_at__isnull=True,
        renewal__isnull=True,
        term_end__gte=today,
        term_end__lte=today + timedelta(days=days_ahead),
    )


def _reminder_email(contract: Contract, now: datetime) -> EmailMessage:
    recipients = sorted(csm.email for csm in contract.organization.active_csms)
    days_left = (contract.term_end - timezone.localdate(now)).days
    link = settings.PORTAL_BASE_URL + reverse("admin:cso_contract_change", args=[contract.pk])
    return EmailMessage(
        subject=f"Renewal due: {contract.organization.name} ends {contract.term_end:%d %b %Y}",
        body=(
            f"The contract {contract.reference} of {contract.organization.name} ends on "
            f"{contract.term_end:%A %d %B %Y}, in {days_left} days, and has not been renewed.\n\n"
            "Expansion packs can only be bought with a renewal, and unused hours do not carry "
            f"forward.\n\nContract: {link}\n"
        ),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=recipients,
    )


@transaction.atomic
def renewal_reminders_send(*, now: datetime, days_ahead: int | None = None) -> int:
    """Sweep: remind about every unrenewed contract ending within `days_ahead` days.

    Runs a fixed number of queries however many contracts are due. Returns how many it claimed.
    """
    days_ahead = settings.RENEWAL_REMINDER_DAYS if days_ahead is None else days_ahead
    due = list(
        contracts_due_renewal_reminder(now=now, days_ahead=days_ahead)
        .select_for_update(skip_locked=True, of=("self",))
        .select_related("organization")
        .prefetch_related(
            Prefetch(
                "organization__csms",
                queryset=User.objects.filter(is_active=True),
                to_attr="active_csms",
            )
        )
    )
    if not due:
        return 0
    Contract.objects.filter(pk__in=[contract.pk for contract in due]).update(
        renewal_reminder_sent_at=now
    )
    messages = [_reminder_email(contract, now) for contract in due]
    transaction.on_commit(lambda: get_connection().send_messages(messages))
    return len(due)
