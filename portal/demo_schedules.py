"""Demo schedule history: what the CSM did with the deliverables due before today.

Recorded through the same services CSMs use. Most occurrences due before today were delivered on
time, a few late, with the time logged for them; one was skipped with a reason; the first
customer's latest review is left overdue and the latest "up to N" review left unused; and one
piece of work is booked at additional cost, so the entitled-vs-delivered figures read like a
real account.
"""

import random
from datetime import UTC, date, datetime, time, timedelta

from accounts.models import User
from cso.models import Contract, EntitlementKind, Occurrence, PackageSubscription, TimeEntry
from cso.services.schedules import (
    occurrence_book,
    occurrence_deliver,
    occurrence_skip,
)

LATE_SHARE = 0.15
SKIP_REASON = "The customer asked to fold it into the quarterly business review."


def _latest(past: list[Occurrence], **flags) -> Occurrence | None:
    matching = [o for o in past if all(getattr(o, k) == v for k, v in flags.items())]
    return matching[-1] if matching else None


def _time_for(entries: list[TimeEntry], occurrence: Occurrence, delivered_on: date) -> list:
    """The latest entry worked in the occurrence's period by the day it was delivered."""
    within = [e for e in entries if occurrence.period_start <= e.worked_on <= delivered_on]
    return within[-1:]


def _history(
    subscription: PackageSubscription,
    csm: User,
    today: date,
    rng: random.Random,
    *,
    leave_overdue: bool,
    skip_one: bool,
) -> None:
    now = datetime.combine(today, time(12), tzinfo=UTC)
    past = list(
        subscription.occurrences.filter(
            status=Occurrence.Status.SCHEDULED, additional_cost=False, due_on__lt=today
        ).select_related("entitlement__deliverable", "subscription__contract__organization")
    )
    entries = list(subscription.time_entries.order_by("worked_on", "pk"))
    untouched = {_latest(past, optional=True)}
    if leave_overdue:
        untouched.add(_latest(past, is_review=True, optional=False))
    skipped = _latest(past, is_review=False, optional=False) if skip_one else None
    if skipped is not None:
        occurrence_skip(occurrence=skipped, reason=SKIP_REASON, by=csm)
    for occurrence in past:
        if occurrence in untouched or occurrence == skipped:
            continue
        if rng.random() < LATE_SHARE:
            delivered_on = min(occurrence.due_on + timedelta(days=rng.randint(2, 9)), today)
        else:
            early = timedelta(days=rng.randint(0, 4))
            delivered_on = max(occurrence.due_on - early, occurrence.period_start)
        occurrence_deliver(
            occurrence=occurrence,
            delivered_on=delivered_on,
            notes=f"{occurrence.entitlement.deliverable.name} walked through with the customer.",
            time_entries=_time_for(entries, occurrence, delivered_on),
            by=csm,
            now=now,
        )


def _book_additional_cost_work(contracts: list[Contract], csm: User, today: date) -> None:
    """One booking of work the package gives at additional cost, a fortnight from today."""
    for contract in contracts:
        day = today + timedelta(days=14)
        if not contract.term_start <= day <= contract.term_end:
            continue
        for subscription in contract.subscriptions.all():
            entitlement = subscription.entitlements.filter(
                kind=EntitlementKind.ADDITIONAL_COST
            ).first()
            if entitlement is not None:
                occurrence_book(
                    subscription=subscription,
                    entitlement=entitlement,
                    due_on=day,
                    notes="Requested by the customer for its peak season.",
                    by=csm,
                    now=datetime.combine(today, time(12), tzinfo=UTC),
                )
                return


def demo_schedule_history(*, contracts: list[Contract], csm: User, today: date) -> None:
    """Deliver, skip and book on the demo contracts' schedules (after their time is logged).

    The first contract's latest past review stays overdue; the second's first package skips
    one occurrence.
    """
    for position, contract in enumerate(contracts):
        for number, subscription in enumerate(contract.subscriptions.order_by("pk")):
            _history(
                subscription,
                csm,
                today,
                random.Random(f"{contract.reference}/{number}"),
                leave_overdue=position == 0 and number == 0,
                skip_one=position == 1 and number == 0,
            )
    _book_additional_cost_work(contracts, csm, today)
