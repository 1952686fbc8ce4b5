"""Entitled vs delivered: how many occurrences were due, delivered on time or late, skipped,
overdue, left unused or are still to come, per contract year and quarter (Section 3)."""

import random
from collections import Counter
from datetime import date, timedelta

import pytest
import time_machine

from cso.models import Occurrence, PackageSubscription, SubscriptionEntitlement
from cso.selectors.schedules import TALLY_FIELDS, Tally, occurrence_state, schedule_summary
from cso.services.contracts import SubscriptionSpec, contract_create
from cso.services.schedules import (
    occurrence_book,
    occurrence_deliver,
    occurrence_skip,
)
from portal.demo import demo_load
from portal.demo_schedules import SKIP_REASON
from tests.conftest import NOW
from tests.factories import LineOfBusinessFactory, OrganizationFactory

pytestmark = pytest.mark.django_db

TODAY = NOW.date()  # 2026-11-23


def occurrences(subscription, code):
    return list(
        Occurrence.objects.filter(
            subscription=subscription, entitlement__deliverable__code=code
        ).order_by("due_on")
    )


def row(period, code):
    return next(d for d in period.deliverables if d.code == code)


def test_a_years_figures_per_deliverable(premier, csm):
    # Given an account plan delivered on time, one delivered late and one skipped; the first
    # QBR held and the next two left unused; on-site monitoring booked at additional cost
    plan = occurrences(premier, "customer_account_plan")
    occurrence_deliver(occurrence=plan[0], delivered_on=plan[0].due_on, by=csm, now=NOW)
    late_day = plan[1].due_on + timedelta(days=3)
    occurrence_deliver(occurrence=plan[1], delivered_on=late_day, by=csm, now=NOW)
    occurrence_skip(occurrence=plan[2], reason="Merged with the next one", by=csm)
    qbr = occurrences(premier, "quarterly_business_review")
    occurrence_deliver(occurrence=qbr[0], delivered_on=date(2026, 3, 20), by=csm, now=NOW)
    onsite = SubscriptionEntitlement.objects.get(
        subscription=premier, deliverable__code="onsite_operations_monitoring"
    )
    occurrence_book(
        subscription=premier, entitlement=onsite, due_on=date(2026, 12, 1), by=csm, now=NOW
    )

    # When the summary is read on 23 November 2026
    summary = schedule_summary([premier], TODAY)[premier.pk]

    # Then the account plan (twice monthly) shows 21 of 24 due, 18 of them overdue
    (year,) = summary.years
    assert (year.period.start, year.period.end) == (date(2026, 1, 1), date(2026, 12, 31))
    assert row(year, "customer_account_plan").entitlement == "Twice monthly"
    assert row(year, "customer_account_plan").tally == Tally(
        entitled=24,
        due=21,
        delivered_on_time=1,
        delivered_late=1,
        skipped=1,
        overdue=18,
        unused=0,
        upcoming=3,
    )
    # and unused QBRs are not overdue: the customer may leave "up to 4" unused
    assert row(year, "quarterly_business_review").tally == Tally(
        entitled=4, due=3, delivered_on_time=1, unused=2, upcoming=1
    )
    # and the booking is counted apart from the entitlement
    booked = row(year, "onsite_operations_monitoring")
    assert (booked.entitlement, booked.tally) == ("At additional cost", Tally(additional_cost=1))
    # and the year's total adds up its deliverables, which come in the catalog's order
    assert year.total == sum((d.tally for d in year.deliverables), Tally())
    assert (
        year.total.entitled
        == Occurrence.objects.filter(subscription=premier, additional_cost=False).count()
    )
    assert (year.total.delivered, year.total.additional_cost) == (3, 1)
    assert [d.code for d in year.deliverables][:3] == [
        "customer_account_plan",
        "customer_performance_review",
        "industry_kpi_analysis",
    ]
    assert summary.total == year.total


def test_an_occurrence_is_due_once_its_due_date_has_passed(premier, csm):
    # Given the year's one industry KPI analysis, due on 31 December
    (analysis,) = occurrences(premier, "industry_kpi_analysis")

    def tally(today):
        year = schedule_summary([premier], today)[premier.pk].years[0]
        return row(year, "industry_kpi_analysis").tally

    # Then on its due date it is upcoming, and overdue the day after
    assert tally(analysis.due_on) == Tally(entitled=1, upcoming=1)
    assert tally(analysis.due_on + timedelta(days=1)) == Tally(entitled=1, due=1, overdue=1)

    # When it is delivered ahead of its due date
    occurrence_deliver(occurrence=analysis, delivered_on=TODAY, by=csm, now=NOW)

    # Then it is delivered on time, and not yet due
    assert tally(TODAY) == Tally(entitled=1, delivered_on_time=1)


def test_quarters_follow_the_contract_term_not_the_calendar(premier, catalog):
    # Given a second customer's term starting mid-March
    organization = OrganizationFactory(name="Contoso")
    banking = LineOfBusinessFactory(organization=organization, name="Banking")
    contract = contract_create(
        organization=organization,
        term_start=date(2026, 3, 15),
        overage_rate="200.00",
        subscriptions=[SubscriptionSpec("premier", [banking])],
        reference="CB-2026",
        signed_at=NOW,
    )
    contoso = contract.subscriptions.get()

    # When both are summarised by quarter
    summaries = schedule_summary([premier, contoso], TODAY, by_quarter=True)

    # Then each has its own contract quarters, with the reviews due in them
    quarters = summaries[contoso.pk].quarters
    assert [(q.period.index, q.period.start, q.year_index) for q in quarters] == [
        (1, date(2026, 3, 15), 1),
        (2, date(2026, 6, 15), 1),
        (3, date(2026, 9, 15), 1),
        (4, date(2026, 12, 15), 1),
    ]
    assert [row(q, "quarterly_business_review").tally.entitled for q in quarters] == [1, 1, 1, 1]
    northwind_q4 = summaries[premier.pk].quarters[3]
    assert (northwind_q4.period.start, northwind_q4.period.end) == (
        date(2026, 10, 1),
        date(2026, 12, 31),
    )
    assert row(northwind_q4, "customer_account_plan").tally == Tally(
        entitled=6, due=3, overdue=3, upcoming=3
    )


def _classify(occurrence: Occurrence, today: date) -> Counter:
    """The module's definitions, one occurrence at a time: the oracle the query must match."""
    if occurrence.additional_cost:
        return Counter(additional_cost=1)
    counts = Counter(entitled=1, due=int(occurrence.due_on < today))
    if occurrence.status == "delivered":
        counts[
            "delivered_on_time"
            if occurrence.delivered_on <= occurrence.due_on
            else "delivered_late"
        ] += 1
    elif occurrence.status == "skipped":
        counts["skipped"] += 1
    elif occurrence.due_on >= today:
        counts["upcoming"] += 1
    else:
        counts["unused" if occurrence.optional else "overdue"] += 1
    return counts


def test_the_grouped_counts_match_the_definitions_occurrence_by_occurrence(premier, csm):
    # Given a schedule where a random third was delivered (early, on time or late) and a tenth
    # skipped, and two bookings at additional cost
    rng = random.Random(4)
    for occurrence in Occurrence.objects.filter(subscription=premier, due_on__lt=TODAY):
        draw = rng.random()
        if draw < 0.33:
            occurrence.status = "delivered"
            occurrence.delivered_on = occurrence.due_on + timedelta(days=rng.randint(-10, 10))
        elif draw < 0.43:
            occurrence.status, occurrence.skip_reason = "skipped", "Customer on holiday"
        occurrence.save()
    onsite = SubscriptionEntitlement.objects.get(
        subscription=premier, deliverable__code="onsite_operations_monitoring"
    )
    for day in (date(2026, 2, 10), date(2026, 12, 1)):
        occurrence_book(subscription=premier, entitlement=onsite, due_on=day, by=csm, now=NOW)
    expected: dict[tuple[int, str], Counter] = {}
    states = []
    for occurrence in Occurrence.objects.filter(subscription=premier).select_related(
        "entitlement__deliverable"
    ):
        quarter = (occurrence.due_on.month - 1) // 3 + 1  # calendar-year term: calendar quarters
        key = (quarter, occurrence.entitlement.deliverable.code)
        counts = _classify(occurrence, TODAY)
        expected.setdefault(key, Counter()).update(counts)
        (state,) = set(+counts) - {"entitled", "due"}
        states.append((state, occurrence_state(occurrence, TODAY)))

    # When the summary is read by quarter
    summary = schedule_summary([premier], TODAY, by_quarter=True)[premier.pk]

    # Then every quarter's row per deliverable counts what the definitions say
    got = {
        (quarter.period.index, d.code): Counter(
            {name: getattr(d.tally, name) for name in TALLY_FIELDS if getattr(d.tally, name)}
        )
        for quarter in summary.quarters
        for d in quarter.deliverables
    }
    assert got == expected
    # and each occurrence's own state, as the list pages show it, is the one it is counted in
    assert all(counted == shown for counted, shown in states)
    # and the partition holds: every entitled occurrence is in exactly one state
    total = summary.total
    assert total.entitled == (
        total.delivered + total.skipped + total.overdue + total.unused + total.upcoming
    )
    assert summary.years[0].total == total


def test_many_subscriptions_are_summarised_in_two_queries(
    premier, catalog, django_assert_num_queries
):
    # Given three more customers' subscriptions
    subscriptions = [premier]
    for number in range(3):
        organization = OrganizationFactory()
        contract = contract_create(
            organization=organization,
            term_start=date(2026, 1 + number, 10),
            overage_rate="100.00",
            subscriptions=[
                SubscriptionSpec("expert", [LineOfBusinessFactory(organization=organization)])
            ],
            reference=f"X-{number}",
            signed_at=NOW,
        )
        subscriptions.append(contract.subscriptions.get())

    # When they are summarised together, by quarter
    with django_assert_num_queries(2):
        summaries = schedule_summary(subscriptions, TODAY, by_quarter=True)

    # Then each has its figures
    assert set(summaries) == {s.pk for s in subscriptions}
    assert all(summary.total.entitled > 0 for summary in summaries.values())


def test_a_subscription_with_nothing_scheduled_lists_its_years_empty(premier):
    Occurrence.objects.filter(subscription=premier).delete()

    summary = schedule_summary([premier], TODAY)[premier.pk]

    assert [(year.period.index, year.deliverables) for year in summary.years] == [(1, [])]
    assert summary.total == Tally()


def test_the_demo_schedules_read_like_a_real_account(catalog):
    # Given the demo loaded on 23 November 2026
    with time_machine.travel(NOW, tick=False):
        demo_load(today=TODAY)

    # When every demo package is summarised
    summaries = schedule_summary(PackageSubscription.objects.all(), TODAY)
    total = sum((summary.total for summary in summaries.values()), Tally())

    # Then most of what was due was delivered on time, a few late; one skipped with a reason;
    # one review overdue; an "up to N" review unused; one booking at additional cost
    assert total.delivered_on_time > 4 * total.delivered_late > 0
    assert total.delivered + total.skipped + total.overdue + total.unused == total.due
    assert (total.skipped, total.overdue, total.additional_cost) == (1, 1, 1)
    assert total.unused >= 1
    overdue = Occurrence.objects.get(status="scheduled", optional=False, due_on__lt=TODAY)
    assert overdue.is_review
    assert overdue.subscription.contract.organization.slug == "northwind"
    assert Occurrence.objects.get(status="skipped").skip_reason == SKIP_REASON
    delivered = Occurrence.objects.filter(status="delivered")
    assert delivered.filter(time_entries__isnull=False).distinct().count() > delivered.count() // 2
