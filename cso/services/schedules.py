"""Deliverable schedules: written at signing, then rescheduled, delivered or skipped by CSMs.

Section 3: the deliverables "cannot exceed the amount or frequency" of the package, so an
occurrence moves only within its period and no occurrence is added beyond the entitlement; work
at additional cost is booked apart, flagged as such.
"""

from datetime import date, datetime, timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import Organization, User
from accounts.selectors import may_edit_organization

from ..audit import audit_actor
from ..models import (
    EntitlementKind,
    Occurrence,
    PackageSubscription,
    SubscriptionEntitlement,
    TimeEntry,
)
from ..quarters import year_containing
from ..reminders import reminder_next, reminder_plan
from ..schedules import schedule_slots

_DAY = timedelta(days=1)


def occurrence_next_reminder(
    occurrence: Occurrence, organization: Organization, after: date
) -> None:
    """Set the occurrence's next reminder: the first of its plan after `after`, for reviews
    still scheduled; none otherwise."""
    kind, day = None, None
    if occurrence.is_review and occurrence.status == Occurrence.Status.SCHEDULED:
        plan = reminder_plan(
            occurrence.due_on,
            organization.review_reminder_days,
            organization.review_reminder_last_days,
        )
        kind, day = reminder_next(plan, after)
    occurrence.next_reminder_on, occurrence.next_reminder_kind = day, kind or ""


def schedule_create(*, subscription: PackageSubscription, now: datetime) -> list[Occurrence]:
    """The term's schedule of every entitlement given at a frequency (Tables 2-4).

    Occurrences already due when the contract is signed get no reminders: they are history.
    """
    contract = subscription.contract
    organization = contract.organization
    signed_on = organization.today(now)
    occurrences = []
    entitlements = subscription.entitlements.filter(kind=EntitlementKind.FREQUENCY).select_related(
        "deliverable"
    )
    for entitlement in entitlements:
        for slot in schedule_slots(
            frequency=entitlement.frequency,
            term_start=contract.term_start,
            term_end=contract.term_end,
            max_per_year=entitlement.max_per_year,
        ):
            occurrence = Occurrence(
                subscription=subscription,
                entitlement=entitlement,
                year_index=slot.year,
                period_start=slot.start,
                period_end=slot.end,
                due_on=slot.due_on,
                optional=slot.optional,
                is_review=entitlement.deliverable.is_review,
            )
            occurrence_next_reminder(occurrence, organization, after=signed_on - _DAY)
            occurrences.append(occurrence)
    return Occurrence.objects.bulk_create(occurrences, batch_size=1000)


def _require_editor(user: User, occurrence_or_subscription) -> None:
    subscription = getattr(occurrence_or_subscription, "subscription", occurrence_or_subscription)
    organization_id = subscription.contract.organization_id
    if not may_edit_organization(user, organization_id):
        raise PermissionDenied("Only the customer's CSM changes its schedule.")


def _locked(occurrence: Occurrence) -> Occurrence:
    return (
        Occurrence.objects.select_for_update(of=("self",))
        .select_related("subscription__contract__organization", "entitlement__deliverable")
        .get(pk=occurrence.pk)
    )


def _require_scheduled(occurrence: Occurrence) -> None:
    if occurrence.status != Occurrence.Status.SCHEDULED:
        raise ValidationError(
            {"status": [f"This occurrence is already {occurrence.get_status_display().lower()}."]}
        )


def occurrence_reschedule(
    *, occurrence: Occurrence, due_on: date, by: User, now: datetime | None = None
) -> Occurrence:
    """Move an occurrence within its period (Section 3: never beyond the frequency)."""
    now = now or timezone.now()
    _require_editor(by, occurrence)
    with transaction.atomic(), audit_actor(by):
        occurrence = _locked(occurrence)
        _require_scheduled(occurrence)
        if not occurrence.period_start <= due_on <= occurrence.period_end:
            raise ValidationError(
                {
                    "due_on": [
                        f"{occurrence.entitlement.deliverable.name} is "
                        f"{occurrence.entitlement.describe().lower()}: this one belongs to "
                        f"{occurrence.period_start} to {occurrence.period_end}. Deliverables "
                        "cannot exceed the amount or frequency of the package (Section 3)."
                    ]
                }
            )
        organization = occurrence.subscription.contract.organization
        occurrence.due_on, occurrence.updated_by = due_on, by
        occurrence_next_reminder(occurrence, organization, after=organization.today(now) - _DAY)
        occurrence.save()
    return occurrence


def occurrence_deliver(
    *,
    occurrence: Occurrence,
    delivered_on: date,
    by: User,
    notes: str = "",
    time_entries: list[TimeEntry] = (),
    now: datetime | None = None,
) -> Occurrence:
    """Mark an occurrence delivered, with the day, notes and the time logged for it."""
    now = now or timezone.now()
    _require_editor(by, occurrence)
    with transaction.atomic(), audit_actor(by):
        occurrence = _locked(occurrence)
        _require_scheduled(occurrence)
        organization = occurrence.subscription.contract.organization
        errors: dict[str, list[str]] = {}
        if delivered_on > organization.today(now):
            errors["delivered_on"] = [f"{delivered_on} has not come yet."]
        elif delivered_on < (term_start := occurrence.subscription.contract.term_start):
            errors["delivered_on"] = [f"{delivered_on} is before the contract term ({term_start})."]
        foreign = [e for e in time_entries if e.subscription_id != occurrence.subscription_id]
        if foreign:
            errors["time_entries"] = ["Link time logged for this package subscription only."]
        if errors:
            raise ValidationError(errors)
        occurrence.status = Occurrence.Status.DELIVERED
        occurrence.delivered_on, occurrence.notes, occurrence.updated_by = delivered_on, notes, by
        occurrence_next_reminder(occurrence, organization, after=delivered_on)
        occurrence.save()
        occurrence.time_entries.set(time_entries)
    return occurrence


def occurrence_skip(*, occurrence: Occurrence, reason: str, by: User) -> Occurrence:
    """Skip an occurrence, saying why (the customer declined, merged with another review...)."""
    _require_editor(by, occurrence)
    if not reason.strip():
        raise ValidationError({"skip_reason": ["Say why this occurrence is skipped."]})
    with transaction.atomic(), audit_actor(by):
        occurrence = _locked(occurrence)
        _require_scheduled(occurrence)
        occurrence.status = Occurrence.Status.SKIPPED
        occurrence.skip_reason, occurrence.updated_by = reason.strip(), by
        occurrence.next_reminder_on, occurrence.next_reminder_kind = None, ""
        occurrence.save()
    return occurrence


def occurrence_reopen(
    *, occurrence: Occurrence, by: User, now: datetime | None = None
) -> Occurrence:
    """Undo a delivery or a skip recorded by mistake: the occurrence is scheduled again."""
    now = now or timezone.now()
    _require_editor(by, occurrence)
    with transaction.atomic(), audit_actor(by):
        occurrence = _locked(occurrence)
        if occurrence.status == Occurrence.Status.SCHEDULED:
            raise ValidationError({"status": ["This occurrence is scheduled already."]})
        organization = occurrence.subscription.contract.organization
        occurrence.status = Occurrence.Status.SCHEDULED
        occurrence.delivered_on, occurrence.skip_reason, occurrence.updated_by = None, "", by
        occurrence_next_reminder(occurrence, organization, after=organization.today(now) - _DAY)
        occurrence.save()
        occurrence.time_entries.clear()
    return occurrence


def occurrence_book(
    *,
    subscription: PackageSubscription,
    entitlement: SubscriptionEntitlement,
    due_on: date,
    by: User,
    notes: str = "",
    now: datetime | None = None,
) -> Occurrence:
    """Book work "at additional cost" (Table 3); anything else is refused (Section 3)."""
    now = now or timezone.now()
    _require_editor(by, subscription)
    contract = subscription.contract
    name = entitlement.deliverable.name
    errors: dict[str, list[str]] = {}
    if entitlement.subscription_id != subscription.pk:
        errors["entitlement"] = [f"'{name}' belongs to another subscription."]
    elif entitlement.kind == EntitlementKind.FREQUENCY:
        errors["entitlement"] = [
            f"{name} is {entitlement.describe().lower()} and already scheduled for the term; "
            "deliverables cannot exceed the amount or frequency of the package (Section 3). "
            "Move an occurrence within its period instead."
        ]
    elif entitlement.kind != EntitlementKind.ADDITIONAL_COST:
        errors["entitlement"] = [
            f"{name} is {entitlement.get_kind_display().lower()} in this package, not booked."
        ]
    if not contract.term_start <= due_on <= contract.term_end:
        errors["due_on"] = [
            f"{due_on} is outside the contract term {contract.term_start} to {contract.term_end}."
        ]
    if errors:
        raise ValidationError(errors)
    year = year_containing(contract.term_start, contract.term_end, due_on).index
    occurrence = Occurrence(
        subscription=subscription,
        entitlement=entitlement,
        year_index=year,
        period_start=due_on,
        period_end=due_on,
        due_on=due_on,
        additional_cost=True,
        notes=notes,
        is_review=entitlement.deliverable.is_review,
        updated_by=by,
    )
    organization = contract.organization
    occurrence_next_reminder(occurrence, organization, after=organization.today(now) - _DAY)
    with audit_actor(by):
        occurrence.save()
    return occurrence


def review_reminders_replan(*, organization: Organization, now: datetime) -> int:
    """After a customer changes its reminder days, its scheduled reviews follow the new days.

    Reminders already sent are not sent again (the sweep keeps each kind once per review).
    """
    today = organization.today(now)
    occurrences = list(
        Occurrence.objects.filter(
            subscription__contract__organization=organization,
            is_review=True,
            status=Occurrence.Status.SCHEDULED,
            due_on__gte=today - _DAY,
        ).only("pk", "due_on", "is_review", "status")
    )
    for occurrence in occurrences:
        occurrence_next_reminder(occurrence, organization, after=today - _DAY)
    Occurrence.objects.bulk_update(
        occurrences, ["next_reminder_on", "next_reminder_kind"], batch_size=1000
    )
    return len(occurrences)
