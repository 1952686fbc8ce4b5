"""Review reminders: tell the assigned CSMs and the customer's contacts that a review is coming,
is due today, or is overdue (the reminder plan of `cso.reminders`).

The sweep is idempotent and runs a fixed number of queries per batch. Every occurrence keeps
the day of the next reminder it is owed (`next_reminder_on`, indexed), so the sweep reads one
range of it, locks the rows (skipping those another worker holds), records each reminder under
a unique (occurrence, kind) constraint, moves the plan on and sends the emails, all in one
transaction: a failed send rolls the batch back and the next run sends it again; a rerun, a
retried task or two workers at once find nothing left to send. After downtime the next sweep
sends the latest reminder whose day has come (an overdue review is not told it is a week away)
and the plan goes on from there.
"""

from datetime import UTC, date, datetime, timedelta

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.db.models import Prefetch
from django.urls import reverse

from accounts.models import Membership, Organization, User

from ..calendars import long_day, review_facts, review_invite
from ..models import Occurrence, OccurrenceReminder
from ..reminders import reminder_owed, reminder_plan

BATCH_SIZE = 500
# No customer's today is later than the day at UTC+14, so the indexed range query up to that
# day finds every reminder due somewhere; each row is then held to its own customer's today.
LATEST_UTC_OFFSET = timedelta(hours=14)
_ORGANIZATION = "subscription__contract__organization"


def review_reminders_send(*, now: datetime, batch_size: int = BATCH_SIZE) -> int:
    """Sweep: send every review reminder owed by `now`; returns how many reminders went out.

    Each batch is its own transaction with a fixed number of queries, whatever the number of
    occurrences and customers in it.
    """
    sent, after_pk = 0, 0
    while True:
        with transaction.atomic():
            batch = _due_batch(now=now, after_pk=after_pk, size=batch_size)
            sent += _remind(batch, now)
        if len(batch) < batch_size:
            return sent
        after_pk = batch[-1].pk


def _due_batch(*, now: datetime, after_pk: int, size: int) -> list[Occurrence]:
    """The next batch of reviews owed a reminder somewhere on earth, locked for this worker.

    Rows another worker holds are skipped: that worker reminds them.
    """
    latest_today = (now.astimezone(UTC) + LATEST_UTC_OFFSET).date()
    return list(
        Occurrence.objects.filter(
            next_reminder_on__lte=latest_today,
            status=Occurrence.Status.SCHEDULED,
            is_review=True,
            pk__gt=after_pk,
        )
        .select_for_update(skip_locked=True, of=("self",))
        .select_related(_ORGANIZATION, "subscription__package", "entitlement__deliverable")
        .prefetch_related(
            Prefetch(
                f"{_ORGANIZATION}__csms",
                queryset=User.objects.filter(is_active=True).order_by("email"),
                to_attr="active_csms",
            ),
            Prefetch(
                f"{_ORGANIZATION}__memberships",
                queryset=Membership.objects.filter(user__is_active=True)
                .select_related("user")
                .order_by("user__email"),
                to_attr="active_memberships",
            ),
            Prefetch(
                "reminders",
                queryset=OccurrenceReminder.objects.only("occurrence", "kind").order_by(),
            ),
        )
        .order_by("pk")[:size]
    )


def _remind(batch: list[Occurrence], now: datetime) -> int:
    """Record, reschedule and send the batch's reminders; the caller's transaction holds them."""
    reminders, messages, moved = [], [], []
    for occurrence in batch:
        organization = occurrence.subscription.contract.organization
        today = organization.today(now)
        if occurrence.next_reminder_on > today:
            continue  # due somewhere on earth, but not yet where this customer is
        plan = reminder_plan(
            occurrence.due_on,
            organization.review_reminder_days,
            organization.review_reminder_last_days,
        )
        owed, (next_kind, next_day) = reminder_owed(plan, today)
        sent_kinds = {reminder.kind for reminder in occurrence.reminders.all()}
        # A review moved later owes its plan again; a kind already sent is not sent twice.
        if owed and owed not in sent_kinds:
            emails = _emails(occurrence, today=today, now=now, sequence=len(sent_kinds))
            if emails:  # nobody to tell (no CSM, no contact): nothing is recorded as sent
                reminders.append(OccurrenceReminder(occurrence=occurrence, kind=owed, sent_at=now))
                messages.extend(emails)
        occurrence.next_reminder_on, occurrence.next_reminder_kind = next_day, next_kind or ""
        moved.append(occurrence)
    OccurrenceReminder.objects.bulk_create(reminders)
    Occurrence.objects.bulk_update(moved, ["next_reminder_on", "next_reminder_kind"])
    if messages:
        # Last, inside the transaction: if sending fails, nothing above is kept.
        get_connection().send_messages(messages)
    return len(reminders)


# --- The emails ---------------------------------------------------------------------------------


def _admin_link(occurrence: Occurrence) -> str:
    return settings.PORTAL_BASE_URL + reverse("admin:cso_occurrence_change", args=[occurrence.pk])


def _dashboard_link(occurrence: Occurrence) -> str:
    return f"{settings.PORTAL_BASE_URL}{reverse('home')}#subscription-{occurrence.subscription_id}"


def _feed_link(organization: Organization) -> str:
    return settings.PORTAL_BASE_URL + reverse("review-calendar", args=[organization.calendar_token])


def _when(due_on: date, today: date) -> tuple[str, str]:
    """How far the due date is, for the subject and for the first sentence."""
    days = (due_on - today).days
    if days > 1:
        return f"in {days} days", f"is due in {days} days, on {long_day(due_on)}"
    if days == 1:
        return "tomorrow", f"is due tomorrow, {long_day(due_on)}"
    if days == 0:
        return "due today", f"is due today, {long_day(due_on)}"
    late = f"{-days} day{'s' if days < -1 else ''}"
    return (
        f"overdue by {late}",
        f"is overdue by {late}: it was due on {long_day(due_on)} and is not marked delivered",
    )


def _emails(
    occurrence: Occurrence, *, today: date, now: datetime, sequence: int
) -> list[EmailMessage]:
    """One email to the assigned CSMs (linking the admin, where they deliver, reschedule or
    skip it) and one to the customer's contacts (linking their dashboard and feed)."""
    organization = occurrence.subscription.contract.organization
    csms = [csm.email for csm in organization.active_csms]
    contacts = [
        membership.user.email
        for membership in organization.active_memberships
        if membership.user.email not in csms
    ]
    deliverable = occurrence.entitlement.deliverable.name
    distance, sentence = _when(occurrence.due_on, today)
    subject = (
        f"Review {distance}: {deliverable} for {organization.name}, "
        f"{occurrence.due_on:%a} {occurrence.due_on.day} {occurrence.due_on:%b %Y}"
    )
    opening = f"The {deliverable} of {organization.name} {sentence}.\n\n"
    facts = "\n".join(review_facts(occurrence)) + "\n\n"
    invite = "The attached invite puts the review in your calendar.\n"
    emails = []
    if csms:
        link = _admin_link(occurrence)
        body = (
            f"{opening}{facts}Mark it delivered, move it within its period or skip it with a "
            f"reason: {link}\n\n{invite}"
        )
        emails.append(_email(occurrence, subject, body, csms, link, now, sequence))
    if contacts:
        link = _dashboard_link(occurrence)
        csm_line = "".join(
            f"Your customer success manager: {csm.get_full_name() or csm.email} <{csm.email}>\n"
            for csm in organization.active_csms
        )
        body = (
            f"{opening}{facts}{csm_line}Your package dashboard: {link}\n\n{invite}"
            f"Subscribe to all of {organization.name}'s reviews in Outlook or Google Calendar: "
            f"{_feed_link(organization)}\n"
        )
        emails.append(_email(occurrence, subject, body, contacts, link, now, sequence))
    return emails


def _email(
    occurrence: Occurrence,
    subject: str,
    body: str,
    to: list[str],
    link: str,
    now: datetime,
    sequence: int,
) -> EmailMessage:
    message = EmailMessage(
        subject=subject, body=body, from_email=settings.DEFAULT_FROM_EMAIL, to=to
    )
    invite = review_invite(occurrence, stamp=now, url=link, attendees=to, sequence=sequence)
    message.attach("review.ics", invite.decode(), "text/calendar; method=REQUEST")
    return message
