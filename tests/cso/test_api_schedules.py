"""Deliverable schedules through the API: occurrences, what the CSM does with them, and entitled
vs delivered; each customer sees only its own, and only the customer's CSM changes them."""

from datetime import date

import pytest
import time_machine
from rest_framework.test import APIClient

from cso.models import Occurrence, Program, SubscriptionEntitlement
from cso.services.contracts import SubscriptionSpec, contract_create
from cso.services.schedules import occurrence_deliver, occurrence_skip
from cso.services.time_entries import EntryFields, time_entry_log
from tests.conftest import NOW
from tests.factories import LineOfBusinessFactory, MembershipFactory, OrganizationFactory

pytestmark = pytest.mark.django_db

SECTION_3 = (
    "Quarterly Business Review is up to 4x per year: this one belongs to 2026-10-01 to "
    "2026-12-31. Deliverables cannot exceed the amount or frequency of the package (Section 3)."
)


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False):
        yield


def as_user(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def contoso(catalog):
    """Another customer, with its own member and a Premier contract."""
    organization = OrganizationFactory(name="Contoso", slug="contoso")
    banking = LineOfBusinessFactory(organization=organization, name="Banking")
    contract = contract_create(
        organization=organization,
        term_start=date(2026, 1, 1),
        overage_rate="200.00",
        subscriptions=[SubscriptionSpec("premier", [banking])],
        reference="CB-2026",
        signed_at=NOW,
    )
    subscription = contract.subscriptions.get()
    subscription.member = MembershipFactory(organization=organization).user
    return subscription


def occurrences(subscription, code):
    return list(
        Occurrence.objects.filter(
            subscription=subscription, entitlement__deliverable__code=code
        ).order_by("due_on")
    )


def last_qbr(subscription) -> Occurrence:
    return occurrences(subscription, "quarterly_business_review")[-1]


def log(subscription, csm, day, hours="2"):
    fields = EntryFields(
        worked_on=day, hours=hours, program=Program.objects.get(code="performance_management")
    )
    return time_entry_log(subscription=subscription, fields=fields, logged_by=csm, now=NOW)


def row(period: dict, code: str) -> dict:
    return next(d for d in period["deliverables"] if d["deliverable"] == code)


def results(response) -> list[dict]:
    assert response.status_code == 200, response.json()
    return response.json()["results"]


# --- Reading occurrences ------------------------------------------------------------------------


def test_a_customer_lists_only_its_own_schedule(premier, customer_admin, contoso):
    client = as_user(customer_admin)

    listed = client.get("/api/v1/occurrences/").json()
    others = client.get(f"/api/v1/occurrences/{last_qbr(contoso).pk}/")

    assert listed["count"] == Occurrence.objects.filter(subscription=premier).count()
    assert {item["contract"] for item in listed["results"]} == {"NW-2026"}
    assert others.status_code == 404


def test_signing_in_comes_first(premier):
    assert APIClient().get("/api/v1/occurrences/").status_code in {401, 403}
    summary = APIClient().get(f"/api/v1/subscriptions/{premier.pk}/schedule-summary/")
    assert summary.status_code in {401, 403}


def test_an_occurrence_says_what_it_is_and_what_became_of_it(premier, customer_admin):
    qbrs = occurrences(premier, "quarterly_business_review")

    body = as_user(customer_admin).get(f"/api/v1/occurrences/{qbrs[1].pk}/").json()

    assert {
        key: body[key]
        for key in [
            "contract",
            "package",
            "deliverable",
            "deliverable_name",
            "period_start",
            "period_end",
            "due_on",
            "optional",
            "is_review",
            "status",
            "state",
        ]
    } == {
        "contract": "NW-2026",
        "package": "premier",
        "deliverable": "quarterly_business_review",
        "deliverable_name": "Quarterly Business Review",
        "period_start": "2026-04-01",
        "period_end": "2026-06-30",
        "due_on": "2026-06-30",
        "optional": True,
        "is_review": True,
        "status": "scheduled",
        "state": "unused",  # up to 4 per year: left unused, not overdue
    }


def test_the_list_filters_by_review_deliverable_due_dates_and_status(premier, csm, contoso):
    plan = occurrences(premier, "customer_account_plan")
    occurrence_skip(occurrence=plan[0], reason="Holiday", by=csm)
    client = as_user(csm)

    reviews_in_december = results(
        client.get(
            "/api/v1/occurrences/",
            {
                "subscription": premier.pk,
                "is_review": "true",
                "due_from": "2026-12-01",
                "due_to": "2026-12-31",
            },
        )
    )
    kpi = results(
        client.get(
            "/api/v1/occurrences/",
            {
                "organization": contoso.contract.organization_id,
                "deliverable": "industry_kpi_analysis",
            },
        )
    )
    skipped = results(client.get("/api/v1/occurrences/", {"status": "skipped"}))

    assert sorted((o["deliverable"], o["due_on"]) for o in reviews_in_december) == [
        ("customer_account_plan", "2026-12-15"),
        ("customer_account_plan", "2026-12-31"),
        ("customer_performance_review", "2026-12-15"),
        ("customer_performance_review", "2026-12-31"),
        ("quarterly_business_review", "2026-12-31"),
    ]
    assert [(o["contract"], o["due_on"]) for o in kpi] == [("CB-2026", "2026-12-31")]
    assert [(o["id"], o["skip_reason"], o["state"]) for o in skipped] == [
        (plan[0].pk, "Holiday", "skipped")
    ]


def test_a_customer_cannot_filter_by_another_customers_subscription(customer_admin, contoso):
    response = as_user(customer_admin).get("/api/v1/occurrences/", {"subscription": contoso.pk})

    assert response.status_code == 400
    assert "subscription" in response.json()


def test_the_list_is_paginated_in_a_fixed_number_of_queries(
    premier, csm, contoso, django_assert_max_num_queries
):
    delivered = occurrences(premier, "customer_account_plan")[:10]
    for occurrence in delivered:
        occurrence_deliver(
            occurrence=occurrence,
            delivered_on=occurrence.due_on,
            time_entries=[log(premier, csm, occurrence.due_on)],
            by=csm,
            now=NOW,
        )
    client = as_user(csm)

    with django_assert_max_num_queries(4):
        first = client.get("/api/v1/occurrences/")
    with django_assert_max_num_queries(4):
        filtered = client.get("/api/v1/occurrences/", {"subscription": premier.pk})

    assert len(results(first)) == 50
    assert first.json()["count"] == Occurrence.objects.count()
    assert first.json()["next"]
    assert filtered.json()["count"] == Occurrence.objects.filter(subscription=premier).count()
    linked = {o["id"]: len(o["time_entries"]) for o in results(filtered) if o["time_entries"]}
    assert linked == {o.pk: 1 for o in delivered}


# --- The CSM changes the schedule ---------------------------------------------------------------


def test_the_csm_reschedules_within_the_period(premier, csm):
    qbr = last_qbr(premier)

    moved = as_user(csm).post(
        f"/api/v1/occurrences/{qbr.pk}/reschedule/", {"due_on": "2026-12-03"}, format="json"
    )
    refused = as_user(csm).post(
        f"/api/v1/occurrences/{qbr.pk}/reschedule/", {"due_on": "2027-01-05"}, format="json"
    )

    assert moved.status_code == 200
    assert (moved.json()["due_on"], moved.json()["updated_by"]) == ("2026-12-03", "Casey Lee")
    assert refused.status_code == 400
    assert refused.json() == {"due_on": [SECTION_3]}
    qbr.refresh_from_db()
    assert qbr.due_on == date(2026, 12, 3)


def test_the_csm_marks_an_occurrence_delivered_with_its_time(premier, csm):
    plan = occurrences(premier, "customer_account_plan")[20]  # due 2026-11-15
    workshop = log(premier, csm, date(2026, 11, 12))

    response = as_user(csm).post(
        f"/api/v1/occurrences/{plan.pk}/deliver/",
        {"delivered_on": "2026-11-17", "notes": "Plan agreed", "time_entries": [workshop.pk]},
        format="json",
    )

    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["status"], body["state"], body["delivered_on"], body["notes"]) == (
        "delivered",
        "delivered_late",
        "2026-11-17",
        "Plan agreed",
    )
    assert body["time_entries"] == [workshop.pk]


def test_delivery_refusals_come_back_on_their_fields(premier, csm, contoso):
    contoso.contract.organization.csms.add(csm)
    foreign = log(contoso, csm, date(2026, 11, 12))
    plan = occurrences(premier, "customer_account_plan")[20]
    client = as_user(csm)

    future = client.post(
        f"/api/v1/occurrences/{plan.pk}/deliver/", {"delivered_on": "2026-11-30"}, format="json"
    )
    other_time = client.post(
        f"/api/v1/occurrences/{plan.pk}/deliver/",
        {"delivered_on": "2026-11-17", "time_entries": [foreign.pk]},
        format="json",
    )
    client.post(
        f"/api/v1/occurrences/{plan.pk}/deliver/", {"delivered_on": "2026-11-17"}, format="json"
    )
    twice = client.post(
        f"/api/v1/occurrences/{plan.pk}/deliver/", {"delivered_on": "2026-11-18"}, format="json"
    )

    assert (future.status_code, future.json()) == (
        400,
        {"delivered_on": ["2026-11-30 has not come yet."]},
    )
    assert other_time.json() == {
        "time_entries": ["Link time logged for this package subscription only."]
    }
    assert twice.json() == {"status": ["This occurrence is already delivered."]}


def test_the_csm_skips_with_a_reason(premier, csm):
    plan, blank = occurrences(premier, "customer_account_plan")[20:22]

    skipped = as_user(csm).post(
        f"/api/v1/occurrences/{plan.pk}/skip/", {"reason": "Customer declined"}, format="json"
    )
    refused = as_user(csm).post(
        f"/api/v1/occurrences/{blank.pk}/skip/", {"reason": " "}, format="json"
    )

    assert (skipped.status_code, skipped.json()["skip_reason"]) == (200, "Customer declined")
    assert (refused.status_code, refused.json()) == (
        400,
        {"reason": ["Say why this occurrence is skipped."]},
    )


def test_the_csm_reopens_a_skip_recorded_by_mistake(premier, csm):
    plan = occurrences(premier, "customer_account_plan")[20]
    as_user(csm).post(
        f"/api/v1/occurrences/{plan.pk}/skip/", {"reason": "Wrong one"}, format="json"
    )

    reopened = as_user(csm).post(f"/api/v1/occurrences/{plan.pk}/reopen/")
    again = as_user(csm).post(f"/api/v1/occurrences/{plan.pk}/reopen/")

    assert (reopened.status_code, reopened.json()["status"]) == (200, "scheduled")
    assert (again.status_code, again.json()) == (
        400,
        {"status": ["This occurrence is scheduled already."]},
    )


def test_customers_and_finance_do_not_change_the_schedule(premier, customer_admin, finance):
    qbr = last_qbr(premier)

    by_customer = as_user(customer_admin).post(
        f"/api/v1/occurrences/{qbr.pk}/skip/", {"reason": "Not needed"}, format="json"
    )
    by_finance = as_user(finance).post(
        f"/api/v1/occurrences/{qbr.pk}/reschedule/", {"due_on": "2026-12-03"}, format="json"
    )

    assert (by_customer.status_code, by_customer.json()) == (
        403,
        {"detail": "Only the customer's CSM changes its schedule."},
    )
    assert (by_finance.status_code, by_finance.json()) == (
        403,
        {"detail": "Finance can read customer data but not change it."},
    )
    qbr.refresh_from_db()
    assert (qbr.status, qbr.due_on) == ("scheduled", date(2026, 12, 31))


def test_another_customers_occurrence_is_not_found(premier, contoso):
    response = as_user(contoso.member).post(
        f"/api/v1/occurrences/{last_qbr(premier).pk}/skip/", {"reason": "x"}, format="json"
    )

    assert response.status_code == 404


# --- Booking work at additional cost -----------------------------------------------------------


def test_the_csm_books_additional_cost_work_by_deliverable_or_entitlement(premier, csm):
    onsite = SubscriptionEntitlement.objects.get(
        subscription=premier, deliverable__code="onsite_operations_monitoring"
    )
    client = as_user(csm)

    by_code = client.post(
        "/api/v1/occurrences/",
        {
            "subscription": premier.pk,
            "deliverable": "onsite_operations_monitoring",
            "due_on": "2026-12-08",
            "notes": "Peak season",
        },
        format="json",
    )
    by_id = client.post(
        "/api/v1/occurrences/",
        {"subscription": premier.pk, "entitlement": onsite.pk, "due_on": "2026-12-09"},
        format="json",
    )

    assert by_code.status_code == 201, by_code.json()
    assert {k: by_code.json()[k] for k in ["additional_cost", "due_on", "notes", "state"]} == {
        "additional_cost": True,
        "due_on": "2026-12-08",
        "notes": "Peak season",
        "state": "additional_cost",
    }
    assert (by_id.status_code, by_id.json()["entitlement"]) == (201, onsite.pk)


@pytest.mark.parametrize(
    ("given", "errors"),
    [
        (
            {"deliverable": "quarterly_business_review", "due_on": "2026-12-08"},
            {
                "deliverable": [
                    "Quarterly Business Review is up to 4x per year and already scheduled for "
                    "the term; deliverables cannot exceed the amount or frequency of the package "
                    "(Section 3). Move an occurrence within its period instead."
                ]
            },
        ),
        (
            {"deliverable": "onsite_operations_monitoring", "due_on": "2027-01-04"},
            {"due_on": ["2027-01-04 is outside the contract term 2026-01-01 to 2026-12-31."]},
        ),
        (
            {"deliverable": "no_such_thing", "due_on": "2026-12-08"},
            {"deliverable": ["Premier under NW-2026 has no deliverable 'no_such_thing'."]},
        ),
        (
            {"due_on": "2026-12-08"},
            {"non_field_errors": ["Give either a deliverable code or an entitlement id."]},
        ),
    ],
)
def test_what_cannot_be_booked_is_refused_with_a_clear_message(premier, csm, given, errors):
    before = Occurrence.objects.count()

    response = as_user(csm).post(
        "/api/v1/occurrences/", {"subscription": premier.pk, **given}, format="json"
    )

    assert (response.status_code, response.json()) == (400, errors)
    assert Occurrence.objects.count() == before


def test_a_customer_admin_does_not_book(premier, customer_admin):
    response = as_user(customer_admin).post(
        "/api/v1/occurrences/",
        {
            "subscription": premier.pk,
            "deliverable": "onsite_operations_monitoring",
            "due_on": "2026-12-08",
        },
        format="json",
    )

    assert response.status_code == 403
    assert not Occurrence.objects.filter(additional_cost=True).exists()


# --- Entitled vs delivered ----------------------------------------------------------------------


def test_the_schedule_summary_counts_per_year_and_quarter(premier, csm, customer_admin):
    plan = occurrences(premier, "customer_account_plan")
    occurrence_deliver(occurrence=plan[0], delivered_on=plan[0].due_on, by=csm, now=NOW)
    occurrence_deliver(occurrence=plan[1], delivered_on=date(2026, 2, 3), by=csm, now=NOW)
    occurrence_skip(occurrence=plan[2], reason="Holiday", by=csm)

    response = as_user(customer_admin).get(
        f"/api/v1/subscriptions/{premier.pk}/schedule-summary/", {"by_quarter": "true"}
    )

    assert response.status_code == 200
    body = response.json()
    assert (body["contract"], body["package"], body["on"]) == ("NW-2026", "premier", "2026-11-23")
    (year,) = body["years"]
    assert (year["index"], year["start"], year["end"]) == (1, "2026-01-01", "2026-12-31")
    account_plan = next(
        d for d in year["deliverables"] if d["deliverable"] == "customer_account_plan"
    )
    assert account_plan == {
        "deliverable": "customer_account_plan",
        "deliverable_name": "Customer Account Plan",
        "entitlement": "Twice monthly",
        "entitled": 24,
        "due": 21,
        "delivered_on_time": 1,
        "delivered_late": 1,
        "skipped": 1,
        "overdue": 18,
        "unused": 0,
        "upcoming": 3,
        "additional_cost": 0,
    }
    assert body["total"] == year["total"]
    assert [q["index"] for q in body["quarters"]] == [1, 2, 3, 4]
    first_quarter_plan = next(
        d
        for d in body["quarters"][0]["deliverables"]
        if d["deliverable"] == "customer_account_plan"
    )
    assert (first_quarter_plan["entitled"], first_quarter_plan["overdue"]) == (6, 3)


def test_the_summary_on_an_earlier_day(premier, customer_admin):
    response = as_user(customer_admin).get(
        f"/api/v1/subscriptions/{premier.pk}/schedule-summary/", {"on": "2026-04-01"}
    )

    body = response.json()
    assert body["on"] == "2026-04-01"
    assert body["quarters"] == []
    qbr = next(
        d
        for d in body["years"][0]["deliverables"]
        if d["deliverable"] == "quarterly_business_review"
    )
    assert (qbr["due"], qbr["unused"], qbr["upcoming"]) == (1, 1, 3)


def test_another_customers_summary_is_not_found(premier, contoso):
    response = as_user(contoso.member).get(f"/api/v1/subscriptions/{premier.pk}/schedule-summary/")

    assert response.status_code == 404
