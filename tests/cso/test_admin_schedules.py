"""Deliverable schedules in the admin: CSMs reschedule, deliver, skip and book; finance reads;
entitled vs delivered on the package subscription's page."""

from datetime import date

import pytest
import time_machine
from django.urls import reverse

from cso.models import Occurrence, Program, SubscriptionEntitlement
from cso.services.contracts import SubscriptionSpec, contract_create
from cso.services.schedules import occurrence_deliver, occurrence_skip
from cso.services.time_entries import EntryFields, time_entry_log
from tests.admin_forms import formset
from tests.conftest import NOW
from tests.factories import CsmFactory, LineOfBusinessFactory, OrganizationFactory

pytestmark = pytest.mark.django_db


def url(name: str, *args) -> str:
    return reverse(f"admin:cso_{name}", args=args)


def occurrences(subscription, code):
    return list(
        Occurrence.objects.filter(
            subscription=subscription, entitlement__deliverable__code=code
        ).order_by("due_on")
    )


def last_qbr(subscription) -> Occurrence:
    return occurrences(subscription, "quarterly_business_review")[-1]  # 2026-10-01..12-31


def change_form(**values) -> dict:
    data = {
        "outcome": "scheduled",
        "due_on": "",
        "delivered_on": "",
        "notes": "",
        "skip_reason": "",
    }
    return data | values


def log(subscription, csm, day, hours="2"):
    fields = EntryFields(
        worked_on=day, hours=hours, program=Program.objects.get(code="performance_management")
    )
    return time_entry_log(subscription=subscription, fields=fields, logged_by=csm, now=NOW)


def form_errors(response) -> dict:
    return response.context["adminform"].form.errors


@pytest.fixture
def as_csm(client, csm):
    client.force_login(csm)
    with time_machine.travel(NOW, tick=False):
        yield client


@pytest.fixture
def as_finance(client, finance):
    client.force_login(finance)
    with time_machine.travel(NOW, tick=False):
        yield client


def another_customer(catalog, number: int):
    organization = OrganizationFactory()
    contract = contract_create(
        organization=organization,
        term_start=date(2026, number, 1),
        overage_rate="120.00",
        subscriptions=[
            SubscriptionSpec("premier", [LineOfBusinessFactory(organization=organization)])
        ],
        reference=f"OTHER-{number}",
        signed_at=NOW,
    )
    return contract.subscriptions.get()


# The list ----------------------------------------------------------------------------------


def test_the_list_takes_the_same_few_queries_for_one_customer_or_many(
    premier, catalog, as_csm, django_assert_max_num_queries
):
    with django_assert_max_num_queries(11) as one_customer:
        page = as_csm.get(url("occurrence_changelist"))
    for number in range(2, 5):
        another_customer(catalog, number)

    with django_assert_max_num_queries(len(one_customer.captured_queries)):
        busier = as_csm.get(url("occurrence_changelist"))

    assert page.status_code == busier.status_code == 200
    assert busier.context["cl"].result_count == 4 * page.context["cl"].result_count
    content = page.content.decode()
    assert "Customer Account Plan" in content and "NW-2026" in content and "Northwind" in content


def test_the_list_filters_by_state_today_and_searches_deliverables(premier, csm, as_csm):
    # Given the first QBR held, the account plans delivered through June
    qbrs = occurrences(premier, "quarterly_business_review")
    occurrence_deliver(occurrence=qbrs[0], delivered_on=date(2026, 3, 30), by=csm, now=NOW)

    unused = as_csm.get(url("occurrence_changelist"), {"state": "unused"})
    overdue_qbrs = as_csm.get(
        url("occurrence_changelist"), {"state": "overdue", "q": "quarterly business"}
    )
    found = as_csm.get(url("occurrence_changelist"), {"q": "business review"})

    # Then the two QBRs left after their quarter are unused, not overdue
    assert [o.due_on for o in unused.context["cl"].result_list] == [
        date(2026, 6, 30),
        date(2026, 9, 30),
    ]
    assert list(overdue_qbrs.context["cl"].result_list) == []
    assert {o.entitlement.deliverable.code for o in found.context["cl"].result_list} == {
        "quarterly_business_review"
    }
    assert "Unused" in unused.content.decode()


def test_the_list_filters_by_deliverable_and_review(premier, as_csm):
    analysis = SubscriptionEntitlement.objects.get(
        subscription=premier, deliverable__code="industry_kpi_analysis"
    )

    by_deliverable = as_csm.get(
        url("occurrence_changelist"),
        {"entitlement__deliverable__id__exact": analysis.deliverable_id},
    )
    reviews = as_csm.get(url("occurrence_changelist"), {"is_review__exact": "1"})

    assert [o.due_on for o in by_deliverable.context["cl"].result_list] == [date(2026, 12, 31)]
    assert {o.entitlement.deliverable.code for o in reviews.context["cl"].result_list} == {
        "customer_account_plan",
        "customer_performance_review",
        "quarterly_business_review",
    }


# Changing an occurrence --------------------------------------------------------------------


def test_a_csm_moves_an_occurrence_within_its_period(premier, as_csm):
    qbr = last_qbr(premier)

    response = as_csm.post(url("occurrence_change", qbr.pk), change_form(due_on="2026-12-03"))

    assert response.status_code == 302
    qbr.refresh_from_db()
    assert (qbr.due_on, qbr.status) == (date(2026, 12, 3), "scheduled")


def test_moving_beyond_the_period_is_refused_on_the_due_date(premier, as_csm):
    qbr = last_qbr(premier)

    response = as_csm.post(url("occurrence_change", qbr.pk), change_form(due_on="2027-01-05"))

    assert response.status_code == 200
    assert form_errors(response) == {
        "due_on": [
            "Quarterly Business Review is up to 4x per year: this one belongs to 2026-10-01 to "
            "2026-12-31. Deliverables cannot exceed the amount or frequency of the package "
            "(Section 3)."
        ]
    }
    qbr.refresh_from_db()
    assert qbr.due_on == date(2026, 12, 31)


def test_a_csm_marks_an_occurrence_delivered_with_its_time(premier, csm, as_csm):
    plan = occurrences(premier, "customer_account_plan")[20]  # due 2026-11-15
    workshop = log(premier, csm, date(2026, 11, 12))

    response = as_csm.post(
        url("occurrence_change", plan.pk),
        change_form(
            outcome="delivered",
            due_on=plan.due_on.isoformat(),
            delivered_on="2026-11-17",
            notes="Plan agreed with the VP of Sales",
            time_entries=[workshop.pk],
        ),
    )

    assert response.status_code == 302
    plan.refresh_from_db()
    assert (plan.status, plan.delivered_on, plan.notes) == (
        "delivered",
        date(2026, 11, 17),
        "Plan agreed with the VP of Sales",
    )
    assert list(plan.time_entries.all()) == [workshop]
    assert plan.updated_by == csm


def test_moving_and_delivering_at_once_does_both(premier, csm, as_csm):
    qbr = last_qbr(premier)

    response = as_csm.post(
        url("occurrence_change", qbr.pk),
        change_form(outcome="delivered", due_on="2026-11-20", delivered_on="2026-11-23"),
    )

    assert response.status_code == 302
    qbr.refresh_from_db()
    assert (qbr.due_on, qbr.status, qbr.delivered_on) == (
        date(2026, 11, 20),
        "delivered",
        date(2026, 11, 23),
    )


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        ({"outcome": "delivered"}, "delivered_on", "Give the day it was delivered."),
        (
            {"outcome": "delivered", "delivered_on": "2026-11-30"},
            "delivered_on",
            "2026-11-30 has not come yet.",
        ),
        ({"outcome": "skipped", "skip_reason": "  "}, "skip_reason", None),
        (
            {"outcome": "scheduled", "delivered_on": "2026-11-20"},
            "delivered_on",
            "Choose “Delivered” to record the day of delivery.",
        ),
    ],
)
def test_what_cannot_be_recorded_comes_back_on_its_field(premier, as_csm, values, field, message):
    plan = occurrences(premier, "customer_account_plan")[20]

    response = as_csm.post(
        url("occurrence_change", plan.pk), change_form(due_on=plan.due_on.isoformat(), **values)
    )

    assert response.status_code == 200
    expected = message or "Say why this occurrence is skipped."
    assert form_errors(response) == {field: [expected]}
    plan.refresh_from_db()
    assert plan.status == "scheduled"


def test_only_time_of_the_same_subscription_is_offered_and_linked(premier, csm, catalog, as_csm):
    other = another_customer(catalog, 2)
    other.contract.organization.csms.add(csm)
    foreign = log(other, csm, date(2026, 11, 12))
    own = log(premier, csm, date(2026, 11, 12))
    plan = occurrences(premier, "customer_account_plan")[20]

    page = as_csm.get(url("occurrence_change", plan.pk))
    response = as_csm.post(
        url("occurrence_change", plan.pk),
        change_form(
            outcome="delivered",
            due_on=plan.due_on.isoformat(),
            delivered_on="2026-11-17",
            time_entries=[foreign.pk],
        ),
    )

    assert list(page.context["adminform"].form.fields["time_entries"].queryset) == [own]
    assert "time_entries" in form_errors(response)
    plan.refresh_from_db()
    assert plan.status == "scheduled"


def test_a_csm_skips_an_occurrence_with_a_reason_and_it_is_then_a_record(premier, as_csm):
    plan = occurrences(premier, "customer_account_plan")[20]

    response = as_csm.post(
        url("occurrence_change", plan.pk),
        change_form(
            outcome="skipped",
            due_on=plan.due_on.isoformat(),
            skip_reason="Merged with the performance review",
        ),
    )
    page = as_csm.get(url("occurrence_change", plan.pk))
    again = as_csm.post(url("occurrence_change", plan.pk), change_form(due_on="2026-11-14"))

    assert response.status_code == 302
    plan.refresh_from_db()
    assert (plan.status, plan.skip_reason) == ("skipped", "Merged with the performance review")
    assert page.status_code == 200 and not page.context["has_change_permission"]
    assert "Merged with the performance review" in page.content.decode()
    assert again.status_code == 403


def test_another_csm_and_finance_only_read_the_schedule(premier, client, finance):
    qbr = last_qbr(premier)
    for person in (CsmFactory(), finance):
        client.force_login(person)
        with time_machine.travel(NOW, tick=False):
            page = client.get(url("occurrence_change", qbr.pk))
            refused = client.post(
                url("occurrence_change", qbr.pk), change_form(due_on="2026-12-03")
            )
            add_page = client.get(url("occurrence_add"))

        assert page.status_code == 200 and not page.context["has_change_permission"]
        assert refused.status_code == 403
        if person == finance:
            assert add_page.status_code == 403
        else:  # a CSM books work only for their own customers
            assert list(add_page.context["adminform"].form.fields["subscription"].queryset) == []
    qbr.refresh_from_db()
    assert qbr.due_on == date(2026, 12, 31)


def test_occurrences_are_never_deleted(premier, as_csm):
    qbr = last_qbr(premier)

    response = as_csm.post(url("occurrence_delete", qbr.pk), {"post": "yes"})

    assert response.status_code == 403
    assert Occurrence.objects.filter(pk=qbr.pk).exists()


# Booking work at additional cost -----------------------------------------------------------


def test_a_csm_books_work_at_additional_cost(premier, csm, as_csm):
    onsite = SubscriptionEntitlement.objects.get(
        subscription=premier, deliverable__code="onsite_operations_monitoring"
    )

    page = as_csm.get(url("occurrence_add"), {"subscription": premier.pk})
    response = as_csm.post(
        url("occurrence_add"),
        {
            "subscription": premier.pk,
            "entitlement": onsite.pk,
            "due_on": "2026-12-08",
            "notes": "Peak season monitoring",
        },
    )

    offered = page.context["adminform"].form.fields["entitlement"].queryset
    assert [e.deliverable.code for e in offered] == ["onsite_operations_monitoring"]
    assert response.status_code == 302
    booked = Occurrence.objects.get(additional_cost=True)
    assert (booked.entitlement, booked.due_on, booked.notes, booked.updated_by) == (
        onsite,
        date(2026, 12, 8),
        "Peak season monitoring",
        csm,
    )


def test_a_booking_outside_the_term_is_refused_on_its_date(premier, as_csm):
    onsite = SubscriptionEntitlement.objects.get(
        subscription=premier, deliverable__code="onsite_operations_monitoring"
    )

    response = as_csm.post(
        url("occurrence_add"),
        {"subscription": premier.pk, "entitlement": onsite.pk, "due_on": "2027-02-01"},
    )

    assert response.status_code == 200
    assert form_errors(response) == {
        "due_on": ["2027-02-01 is outside the contract term 2026-01-01 to 2026-12-31."]
    }
    assert not Occurrence.objects.filter(additional_cost=True).exists()


def test_a_scheduled_deliverable_cannot_be_booked_again(premier, as_csm):
    qbr = SubscriptionEntitlement.objects.get(
        subscription=premier, deliverable__code="quarterly_business_review"
    )
    scheduled = Occurrence.objects.count()

    response = as_csm.post(
        url("occurrence_add"),
        {"subscription": premier.pk, "entitlement": qbr.pk, "due_on": "2026-12-08"},
    )

    assert response.status_code == 200
    assert list(form_errors(response)) == ["entitlement"]
    assert Occurrence.objects.count() == scheduled


# Entitled vs delivered ---------------------------------------------------------------------


def test_the_subscription_page_shows_entitled_vs_delivered_with_links(premier, csm, as_finance):
    plan = occurrences(premier, "customer_account_plan")
    occurrence_deliver(occurrence=plan[0], delivered_on=plan[0].due_on, by=csm, now=NOW)
    occurrence_skip(occurrence=plan[1], reason="Holiday", by=csm)

    page = as_finance.get(url("packagesubscription_change", premier.pk))

    assert page.status_code == 200
    content = page.content.decode()
    assert "entitled vs delivered" in content.lower()
    assert "Year 1: 2026-01-01 to 2026-12-31" in content
    row = content[content.index("<td>Customer Account Plan</td>") :].split("</tr>")[0]
    cells = [cell.split("</td>")[0] for cell in row.split("<td>")[1:]]
    assert cells[1] == "Twice monthly"
    figures = [
        cell.rsplit(">", 2)[-2].removesuffix("</a") if "<a" in cell else cell for cell in cells[2:]
    ]
    # entitled, due, on time, late, skipped, overdue, unused, upcoming, additional cost
    assert figures == ["24", "21", "1", "0", "1", "19", "0", "3", "0"]
    overdue_link = (
        url("occurrence_changelist")
        + f"?subscription__id__exact={premier.pk}&amp;due_on__gte=2026-01-01"
        f"&amp;due_on__lte=2026-12-31&amp;entitlement__deliverable__id__exact={plan[0].entitlement.deliverable_id}"
        "&amp;state=overdue"
    )
    assert overdue_link in row


def test_a_figures_link_lists_the_occurrences_behind_it(premier, as_csm):
    plan = SubscriptionEntitlement.objects.get(
        subscription=premier, deliverable__code="customer_account_plan"
    )

    response = as_csm.get(
        url("occurrence_changelist"),
        {
            "subscription__id__exact": premier.pk,
            "due_on__gte": "2026-01-01",
            "due_on__lte": "2026-12-31",
            "entitlement__deliverable__id__exact": plan.deliverable_id,
            "state": "upcoming",
        },
    )

    assert [o.due_on for o in response.context["cl"].result_list] == [
        date(2026, 11, 30),
        date(2026, 12, 15),
        date(2026, 12, 31),
    ]


# Review reminders and the calendar feed on the customer's page -----------------------------


def customer_form(organization, **values) -> dict:
    data = {
        "name": organization.name,
        "slug": organization.slug,
        "time_zone": organization.time_zone,
        "csms": [csm.pk for csm in organization.csms.all()],
        "review_reminder_days": organization.review_reminder_days,
        "review_reminder_last_days": organization.review_reminder_last_days,
        **formset("lines_of_business", []),
        **formset("memberships", []),
    }
    return data | values


def customer_url(organization) -> str:
    return reverse("admin:accounts_organization_change", args=[organization.pk])


def test_a_csm_sets_when_reviews_remind_the_customer(premier, as_csm):
    northwind = premier.contract.organization

    saved = as_csm.post(
        customer_url(northwind),
        customer_form(northwind, review_reminder_days=14, review_reminder_last_days=2),
    )
    refused = as_csm.post(
        customer_url(northwind),
        customer_form(northwind, review_reminder_days=3, review_reminder_last_days=5),
    )

    assert saved.status_code == 302
    assert refused.status_code == 200
    assert refused.context["adminform"].form.non_field_errors() == [
        "The last reminder comes after the first: give it fewer days before the due date."
    ]
    northwind.refresh_from_db()
    assert (northwind.review_reminder_days, northwind.review_reminder_last_days) == (14, 2)


def test_only_the_customers_csm_sees_the_calendar_feed_address(premier, as_csm, client, finance):
    northwind = premier.contract.organization

    for_csm = as_csm.get(customer_url(northwind)).content.decode()
    client.force_login(finance)
    for_finance = client.get(customer_url(northwind)).content.decode()

    assert f"/calendar/{northwind.calendar_token}.ics" in for_csm
    assert northwind.calendar_token not in for_finance


def test_a_leaked_calendar_address_is_replaced(premier, as_csm):
    northwind = premier.contract.organization
    other = OrganizationFactory(name="Globex")
    old_token, others_token = northwind.calendar_token, other.calendar_token

    response = as_csm.post(
        reverse("admin:accounts_organization_changelist"),
        {"action": "calendar_address_renew", "_selected_action": [northwind.pk, other.pk]},
        follow=True,
    )

    northwind.refresh_from_db()
    other.refresh_from_db()
    assert northwind.calendar_token != old_token
    assert other.calendar_token == others_token
    shown = [str(message) for message in response.context["messages"]]
    assert "Globex keeps its address: it is not one of your customers." in shown
    assert (
        "New review calendar address for Northwind; the old one no longer works. Give the "
        "customer's contacts the new one." in shown
    )


def test_changing_a_customers_reminder_days_in_the_admin_moves_its_next_reminders(
    client, premier, csm
):
    import time_machine
    from django.urls import reverse

    from cso.models import Occurrence
    from tests.accounts.test_admin import organization_post
    from tests.conftest import NOW

    organization = premier.contract.organization
    client.force_login(csm)
    data = organization_post(name=organization.name, slug=organization.slug, csms=[csm])
    data |= {"review_reminder_days": 14, "review_reminder_last_days": 2, "time_zone": "UTC"}
    data |= {"lines_of_business-TOTAL_FORMS": 0, "lines_of_business-INITIAL_FORMS": 0}
    for index, line in enumerate(organization.lines_of_business.order_by("pk")):
        data |= {
            "lines_of_business-TOTAL_FORMS": index + 1,
            "lines_of_business-INITIAL_FORMS": index + 1,
            f"lines_of_business-{index}-id": line.pk,
            f"lines_of_business-{index}-organization": organization.pk,
            f"lines_of_business-{index}-name": line.name,
        }
    memberships = organization.memberships.order_by("pk")
    data |= {
        "memberships-TOTAL_FORMS": len(memberships),
        "memberships-INITIAL_FORMS": len(memberships),
    }
    for index, membership in enumerate(memberships):
        data |= {
            f"memberships-{index}-id": membership.pk,
            f"memberships-{index}-organization": organization.pk,
            f"memberships-{index}-user": membership.user_id,
            f"memberships-{index}-role": membership.role,
        }

    with time_machine.travel(NOW, tick=False):
        response = client.post(
            reverse("admin:accounts_organization_change", args=[organization.pk]), data
        )

    assert response.status_code == 302, response.context["adminform"].form.errors
    upcoming = (
        Occurrence.objects.filter(
            subscription=premier, entitlement__deliverable__code="quarterly_business_review"
        )
        .order_by("due_on")
        .last()
    )
    assert upcoming.next_reminder_on.isoformat() == "2026-12-17"
