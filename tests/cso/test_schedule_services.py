"""Schedules written at signing; rescheduling, delivering, skipping and booking (Section 3)."""

from collections import Counter
from datetime import date

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from cso.models import Occurrence, SubscriptionEntitlement
from cso.services.schedules import (
    occurrence_book,
    occurrence_deliver,
    occurrence_reschedule,
    occurrence_skip,
)
from tests.conftest import NOW
from tests.factories import CsmFactory


def occurrences(subscription, code):
    return Occurrence.objects.filter(
        subscription=subscription, entitlement__deliverable__code=code
    ).order_by("due_on")


def test_signing_writes_the_terms_schedule_from_the_signed_entitlements(premier):
    counts = Counter(
        Occurrence.objects.filter(subscription=premier).values_list(
            "entitlement__deliverable__code", flat=True
        )
    )

    assert counts["customer_account_plan"] == 24  # twice monthly
    assert counts["quarterly_business_review"] == 4  # up to 4 per year
    assert counts["onsite_operations_monitoring"] == 0  # at additional cost: booked, not scheduled
    qbrs = occurrences(premier, "quarterly_business_review")
    assert [(o.period_start, o.due_on, o.optional, o.is_review) for o in qbrs][:2] == [
        (date(2026, 1, 1), date(2026, 3, 31), True, True),
        (date(2026, 4, 1), date(2026, 6, 30), True, True),
    ]


def test_an_occurrence_moves_only_within_its_period(premier, csm):
    qbr = occurrences(premier, "quarterly_business_review").last()

    moved = occurrence_reschedule(occurrence=qbr, due_on=date(2026, 12, 3), by=csm, now=NOW)
    with pytest.raises(ValidationError) as excinfo:
        occurrence_reschedule(occurrence=qbr, due_on=date(2027, 1, 5), by=csm, now=NOW)

    assert moved.due_on == date(2026, 12, 3)
    assert excinfo.value.message_dict["due_on"] == [
        "Quarterly Business Review is up to 4x per year: this one belongs to 2026-10-01 to "
        "2026-12-31. Deliverables cannot exceed the amount or frequency of the package "
        "(Section 3)."
    ]


def test_booking_beyond_the_entitlement_is_refused_and_additional_cost_work_is_flagged(
    premier, csm
):
    qbr = SubscriptionEntitlement.objects.get(
        subscription=premier, deliverable__code="quarterly_business_review"
    )
    onsite = SubscriptionEntitlement.objects.get(
        subscription=premier, deliverable__code="onsite_operations_monitoring"
    )

    with pytest.raises(ValidationError) as refused:
        occurrence_book(
            subscription=premier, entitlement=qbr, due_on=date(2026, 12, 1), by=csm, now=NOW
        )
    booked = occurrence_book(
        subscription=premier, entitlement=onsite, due_on=date(2026, 12, 1), by=csm, now=NOW
    )

    assert (
        "cannot exceed the amount or frequency of the package (Section 3)"
        in (refused.value.message_dict["entitlement"][0])
    )
    assert (booked.additional_cost, booked.due_on) == (True, date(2026, 12, 1))


def test_delivering_and_skipping(premier, csm):
    first, second, third = occurrences(premier, "customer_account_plan")[:3]

    delivered = occurrence_deliver(
        occurrence=first, delivered_on=date(2026, 1, 14), notes="Plan agreed", by=csm, now=NOW
    )
    skipped = occurrence_skip(occurrence=second, reason="Customer asked to merge it", by=csm)
    with pytest.raises(ValidationError):
        occurrence_skip(occurrence=third, reason="  ", by=csm)
    with pytest.raises(ValidationError):
        occurrence_deliver(occurrence=first, delivered_on=date(2026, 1, 15), by=csm, now=NOW)
    with pytest.raises(PermissionDenied):
        occurrence_skip(occurrence=third, reason="No", by=CsmFactory())

    assert (delivered.status, delivered.next_reminder_on) == ("delivered", None)
    assert (skipped.status, skipped.skip_reason) == ("skipped", "Customer asked to merge it")


def test_reviews_due_after_signing_wait_for_their_first_reminder(premier):
    upcoming = occurrences(premier, "quarterly_business_review").last()

    assert (upcoming.next_reminder_kind, upcoming.next_reminder_on) == ("ahead", date(2026, 12, 24))


def test_a_renewal_gets_the_next_terms_schedule_and_a_catalog_edit_rewrites_none(premier):
    from cso.models import Entitlement
    from cso.services.contracts import contract_renew

    signed = list(Occurrence.objects.filter(subscription=premier).values_list("pk", "due_on"))
    catalog_plan = Entitlement.objects.get(
        package__code="premier", deliverable__code="customer_account_plan"
    )
    catalog_plan.frequency = "monthly"
    catalog_plan.save()

    renewal = contract_renew(contract=premier.contract, signed_at=NOW)
    renewed = renewal.subscriptions.get()

    assert list(Occurrence.objects.filter(subscription=premier).values_list("pk", "due_on")) == (
        signed
    )
    assert occurrences(renewed, "customer_account_plan").count() == 12  # the catalog of its day
    assert occurrences(renewed, "customer_account_plan").first().due_on == date(2027, 1, 31)


def test_new_reminder_days_move_the_next_reminder_of_scheduled_reviews(premier):
    from cso.services.schedules import review_reminders_replan

    organization = premier.contract.organization
    organization.review_reminder_days = 14
    organization.review_reminder_last_days = 2
    organization.save()

    review_reminders_replan(organization=organization, now=NOW)

    upcoming = occurrences(premier, "quarterly_business_review").last()
    assert (upcoming.next_reminder_kind, upcoming.next_reminder_on) == ("ahead", date(2026, 12, 17))


def test_a_delivery_or_skip_recorded_by_mistake_is_reopened(premier, csm):
    from cso.services.schedules import occurrence_reopen

    qbr = occurrences(premier, "quarterly_business_review").last()
    occurrence_deliver(occurrence=qbr, delivered_on=date(2026, 11, 20), by=csm, now=NOW)

    reopened = occurrence_reopen(occurrence=qbr, by=csm, now=NOW)
    with pytest.raises(ValidationError):
        occurrence_reopen(occurrence=qbr, by=csm, now=NOW)

    assert (reopened.status, reopened.delivered_on) == ("scheduled", None)
    assert (reopened.next_reminder_kind, reopened.next_reminder_on) == ("ahead", date(2026, 12, 24))


def test_a_delivery_before_the_term_is_refused(premier, csm):
    first = occurrences(premier, "customer_account_plan").first()

    with pytest.raises(ValidationError) as excinfo:
        occurrence_deliver(occurrence=first, delivered_on=date(2025, 12, 20), by=csm, now=NOW)

    assert excinfo.value.message_dict == {
        "delivered_on": ["2025-12-20 is before the contract term (2026-01-01)."]
    }
