"""iCalendar for reviews: the invite a reminder email carries and the customer's feed.

Each review occurrence is one all-day event with the same UID in every invite and in the feed,
so a calendar that received an invite moves the event when the due date moves instead of adding
a second one. The functions take occurrences with their deliverable, contract, package and
customer already loaded and run no queries, except `organization_review_feed`: one query.
"""

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from email.utils import parseaddr
from urllib.parse import urlsplit

from django.conf import settings
from django.urls import reverse
from icalendar import Calendar, Event, vCalAddress, vDuration, vText

from accounts.models import Organization

from .models import Occurrence

PRODID = "-//Customer Success Portal//Reviews//EN"
# Calendar apps poll a subscribed feed at their own pace; these ask for twice a day.
REFRESH_INTERVAL = timedelta(hours=12)


def long_day(day: date) -> str:
    """ "Thursday 31 December 2026": unambiguous in every locale the customers read."""
    return f"{day:%A} {day.day} {day:%B %Y}"


def calendar_host() -> str:
    return urlsplit(settings.PORTAL_BASE_URL).hostname or "localhost"


def occurrence_uid(occurrence_id: int) -> str:
    return f"occurrence-{occurrence_id}@{calendar_host()}"


def review_summary(occurrence: Occurrence) -> str:
    organization = occurrence.subscription.contract.organization
    return f"{occurrence.entitlement.deliverable.name}: {organization.name}"


def review_facts(occurrence: Occurrence) -> list[str]:
    """What, when, which customer and package: the lines an email and an event both carry."""
    entitlement = occurrence.entitlement
    subscription = occurrence.subscription
    contract = subscription.contract
    what = f"What: {entitlement.deliverable.name}, {entitlement.describe().lower()}"
    if occurrence.optional:
        what += " (the customer may leave this one unused)"
    if occurrence.additional_cost:
        what += " (booked at additional cost)"
    when = f"When: due {long_day(occurrence.due_on)}"
    if occurrence.period_start != occurrence.period_end:
        when += (
            f"; it may move within its period, {long_day(occurrence.period_start)} to "
            f"{long_day(occurrence.period_end)}"
        )
    if occurrence.status == Occurrence.Status.DELIVERED and occurrence.delivered_on:
        when += f"; delivered {long_day(occurrence.delivered_on)}"
    return [
        what,
        when,
        f"Customer: {contract.organization.name}",
        f"Package: {subscription.package.name}, contract {contract.reference} "
        f"({long_day(contract.term_start)} to {long_day(contract.term_end)})",
    ]


def review_event(occurrence: Occurrence, *, stamp: datetime, url: str, sequence: int = 0) -> Event:
    """An all-day event on the review's day: the due date, or the day it was delivered."""
    day = occurrence.due_on
    if occurrence.status == Occurrence.Status.DELIVERED and occurrence.delivered_on:
        day = occurrence.delivered_on
    event = Event()
    event.add("uid", occurrence_uid(occurrence.pk))
    event.add("dtstamp", stamp)
    event.add("dtstart", day)
    event.add("dtend", day + timedelta(days=1))
    event.add("summary", review_summary(occurrence))
    event.add("description", "\n".join([*review_facts(occurrence), "", url]))
    event.add("url", url)
    event.add("sequence", sequence)
    event.add("status", "CONFIRMED")
    event.add("transp", "TRANSPARENT")  # a due date, not a meeting: it blocks no time
    return event


def _address(email: str, name: str = "") -> vCalAddress:
    address = vCalAddress(f"mailto:{email}")
    if name:
        address.params["cn"] = vText(name)
    return address


def review_invite(
    occurrence: Occurrence,
    *,
    stamp: datetime,
    url: str,
    attendees: list[str],
    sequence: int = 0,
) -> bytes:
    """The invite (METHOD:REQUEST) a reminder carries, from the portal's sending address.

    `sequence` must grow with every invite of the same occurrence so that calendars take the
    latest one (with a moved due date) as an update of the event they already have.
    """
    name, email = parseaddr(settings.DEFAULT_FROM_EMAIL)
    event = review_event(occurrence, stamp=stamp, url=url, sequence=sequence)
    event.add("organizer", _address(email, name))
    for attendee in attendees:
        address = _address(attendee)
        address.params["role"] = vText("REQ-PARTICIPANT")
        address.params["rsvp"] = vText("FALSE")
        event.add("attendee", address)
    calendar = _calendar("REQUEST")
    calendar.add_component(event)
    return calendar.to_ical()


def review_feed(
    organization: Organization, occurrences: Iterable[Occurrence], *, stamp: datetime, url: str
) -> bytes:
    """The customer's reviews as a calendar to subscribe to (METHOD:PUBLISH)."""
    calendar = _calendar("PUBLISH")
    calendar.add("x-wr-calname", f"{organization.name} reviews")
    calendar.add("x-wr-caldesc", f"Reviews of {organization.name}'s Customer Success packages")
    refresh = vDuration(REFRESH_INTERVAL)
    calendar.add("refresh-interval", refresh, parameters={"value": "DURATION"})
    calendar.add("x-published-ttl", refresh)
    for occurrence in occurrences:
        calendar.add_component(review_event(occurrence, stamp=stamp, url=url))
    return calendar.to_ical()


def organization_review_feed(organization: Organization, *, now: datetime) -> bytes:
    """The feed of the customer's scheduled and delivered reviews under its current and future
    contracts; skipped ones are left out. One query, however many reviews."""
    occurrences = (
        Occurrence.objects.filter(
            subscription__contract__organization=organization,
            subscription__contract__term_end__gte=organization.today(now),
            is_review=True,
            status__in=[Occurrence.Status.SCHEDULED, Occurrence.Status.DELIVERED],
        )
        .select_related(
            "subscription__contract__organization",
            "subscription__package",
            "entitlement__deliverable",
        )
        .order_by("due_on", "pk")
    )
    url = settings.PORTAL_BASE_URL + reverse("home")
    return review_feed(organization, occurrences, stamp=now, url=url)


def _calendar(method: str) -> Calendar:
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", method)
    return calendar
