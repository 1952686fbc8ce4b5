"""The hour bank through the API: time entries and their split, consumption, expansion scopes,
T&E and quarter closings; each customer sees only its own, and only the right people write."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.test import Client
from rest_framework.test import APIClient

from cso.models import ExpansionScope, ExpansionUse, Program, QuarterClosing, TimeEntry
from cso.services.closings import quarter_close
from cso.services.contracts import SubscriptionSpec, contract_create
from cso.services.expansion import expansion_scope_propose
from cso.services.expenses import travel_expense_request
from cso.services.time_entries import EntryFields, time_entry_log
from tests.conftest import NOW
from tests.factories import (
    CsmFactory,
    LineOfBusinessFactory,
    MembershipFactory,
    OrganizationFactory,
)

pytestmark = pytest.mark.django_db

D = Decimal


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def api():
    return APIClient()


def as_user(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def member(premier):
    return MembershipFactory(organization=premier.contract.organization).user


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
    )
    contract.member = MembershipFactory(organization=organization).user
    return contract


def log(subscription, csm, day, hours, program="performance_management", **kwargs):
    fields = EntryFields(
        worked_on=day, hours=hours, program=Program.objects.get(code=program), **kwargs
    )
    return time_entry_log(subscription=subscription, fields=fields, logged_by=csm, now=NOW)


def log_days(subscription, csm, first_day, days, hours="20", **kwargs):
    return [
        log(subscription, csm, first_day + timedelta(days=offset), hours, **kwargs)
        for offset in range(days)
    ]


def ids(response):
    return [item["id"] for item in response.json()["results"]]


# --- Time entries -------------------------------------------------------------------------------


def test_the_csm_logs_time_and_sees_how_the_quarter_split_it(premier, csm):
    log_days(premier, csm, date(2026, 2, 2), 5)  # 100 of the quarter's 113 hours

    response = as_user(csm).post(
        "/api/v1/time-entries/",
        {
            "subscription": premier.pk,
            "worked_on": "2026-03-03",
            "hours": "20",
            "program": "performance_management",
            "description": "Quarterly business review",
        },
        format="json",
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert {key: body[key] for key in ["hours", "included_hours", "overage_hours"]} == {
        "hours": "20.00",
        "included_hours": "13.00",
        "overage_hours": "7.00",
    }
    assert (body["limited_by"], body["quarter_index"], body["year_index"]) == ("quarter", 1, 1)
    assert (body["quarter_start"], body["quarter_end"]) == ("2026-01-01", "2026-03-31")
    assert (body["prepaid_hours"], body["additional_cost_hours"]) == ("0.00", "0.00")
    assert (body["contract"], body["program"], body["logged_by"]) == (
        "NW-2026",
        "performance_management",
        "Casey Lee",
    )
    assert TimeEntry.objects.get(pk=body["id"]).description == "Quarterly business review"


@pytest.mark.parametrize(
    ("sent", "expected"),
    [
        ({"hours": "1.1"}, {"hours": ["Log time in steps of 0.25 hours (1.1)."]}),
        ({"hours": "lots"}, {"hours": ["'lots' is not a number of hours."]}),
        (
            {"worked_on": "2026-11-24"},
            {"worked_on": ["2026-11-24 has not come yet; log time once it is worked."]},
        ),
        ({"program": "astrology"}, {"program": ["Object with code=astrology does not exist."]}),
    ],
)
def test_refused_entries_answer_400_by_field_and_save_nothing(premier, csm, sent, expected):
    data = {
        "subscription": premier.pk,
        "worked_on": "2026-11-20",
        "hours": "2",
        "program": "performance_management",
        **sent,
    }

    response = as_user(csm).post("/api/v1/time-entries/", data, format="json")

    assert response.status_code == 400
    assert response.json() == expected
    assert not TimeEntry.objects.exists()


def test_only_the_customers_csm_logs_time(premier, customer_admin, finance):
    data = {
        "subscription": premier.pk,
        "worked_on": "2026-11-20",
        "hours": "2",
        "program": "performance_management",
    }
    other_csm = CsmFactory(first_name="Robin", last_name="Vale")

    by_other_csm = as_user(other_csm).post("/api/v1/time-entries/", data, format="json")
    by_customer = as_user(customer_admin).post("/api/v1/time-entries/", data, format="json")
    by_finance = as_user(finance).post("/api/v1/time-entries/", data, format="json")

    assert by_other_csm.status_code == 403
    assert by_other_csm.json() == {"detail": f"{other_csm} does not log time for Northwind."}
    assert by_customer.status_code == 403
    assert by_finance.status_code == 403
    assert by_finance.json() == {"detail": "Finance can read customer data but not change it."}
    assert not TimeEntry.objects.exists()


def test_changing_an_entry_recomputes_the_split_of_later_ones(premier, csm):
    log_days(premier, csm, date(2026, 4, 10), 4, hours="22.5")  # 90 of 113 hours
    big = log(premier, csm, date(2026, 4, 1), "20")
    later = log(premier, csm, date(2026, 6, 2), "10")
    assert TimeEntry.objects.get(pk=later.pk).overage_hours == D(7)

    response = as_user(csm).patch(f"/api/v1/time-entries/{big.pk}/", {"hours": "13"})

    assert response.status_code == 200, response.json()
    assert (response.json()["hours"], response.json()["worked_on"]) == ("13.00", "2026-04-01")
    later.refresh_from_db()
    assert (later.included_hours, later.overage_hours) == (D(10), D(0))


def test_deleting_an_entry_gives_its_hours_back(premier, csm):
    log_days(premier, csm, date(2026, 4, 10), 6)  # 120 of 113 hours
    later = log(premier, csm, date(2026, 6, 2), "10")
    first = TimeEntry.objects.order_by("worked_on").first()
    assert later.overage_hours == D(10)

    response = as_user(csm).delete(f"/api/v1/time-entries/{first.pk}/")

    assert response.status_code == 204
    later.refresh_from_db()
    assert (later.included_hours, later.overage_hours) == (D(10), D(0))


def test_a_closed_quarter_refuses_changes_with_the_reason(premier, csm, finance):
    entry = log(premier, csm, date(2026, 2, 2), "4")
    quarter_close(contract=premier.contract, quarter_index=1, by=finance, now=NOW)
    client = as_user(csm)

    changed = client.patch(f"/api/v1/time-entries/{entry.pk}/", {"hours": "5"}, format="json")
    deleted = client.delete(f"/api/v1/time-entries/{entry.pk}/")

    message = (
        "Contract quarter 1 (2026-01-01 to 2026-03-31) is closed; log an adjusting entry in an "
        "open quarter instead."
    )
    assert changed.status_code == deleted.status_code == 400
    assert changed.json() == deleted.json() == {"worked_on": [message]}
    assert TimeEntry.objects.get(pk=entry.pk).hours == D(4)


def test_customers_read_their_own_entries_and_nobody_elses(premier, csm, member, contoso):
    entry = log(premier, csm, date(2026, 5, 5), "3")
    outsider = as_user(contoso.member)

    own = as_user(member).get("/api/v1/time-entries/")
    other_list = outsider.get("/api/v1/time-entries/")
    other_detail = outsider.get(f"/api/v1/time-entries/{entry.pk}/")
    own_detail = as_user(member).get(f"/api/v1/time-entries/{entry.pk}/")

    assert ids(own) == [entry.pk]
    assert own_detail.status_code == 200 and own_detail.json()["included_hours"] == "3.00"
    assert ids(other_list) == []
    assert other_detail.status_code == 404


def test_customers_cannot_change_their_entries(premier, csm, customer_admin):
    entry = log(premier, csm, date(2026, 5, 5), "3")

    response = as_user(customer_admin).delete(f"/api/v1/time-entries/{entry.pk}/")

    assert response.status_code == 403
    assert TimeEntry.objects.filter(pk=entry.pk).exists()


@pytest.mark.parametrize(
    ("query", "expected_days"),
    [
        ("quarter_index=2", ["2026-05-05", "2026-04-01"]),
        ("worked_on_from=2026-04-02&worked_on_to=2026-08-01", ["2026-07-07", "2026-05-05"]),
        ("program=operational_consulting", ["2026-05-05"]),
        ("year_index=1&quarter_index=3", ["2026-07-07"]),
    ],
)
def test_time_entries_filter(premier, csm, member, query, expected_days):
    log(premier, csm, date(2026, 4, 1), "1")
    log(premier, csm, date(2026, 5, 5), "1", program="operational_consulting")
    log(premier, csm, date(2026, 7, 7), "1")

    response = as_user(member).get(f"/api/v1/time-entries/?{query}")

    assert [item["worked_on"] for item in response.json()["results"]] == expected_days


def test_filtering_by_another_customers_subscription_is_refused(premier, member, contoso):
    theirs = contoso.subscriptions.get()

    response = as_user(member).get(f"/api/v1/time-entries/?subscription={theirs.pk}")

    assert response.status_code == 400
    assert "subscription" in response.json()


@pytest.mark.parametrize("entries", [3, 30])
def test_the_entry_list_runs_a_fixed_number_of_queries(
    premier, csm, member, entries, django_assert_max_num_queries
):
    retail = premier.lines_of_business.get(name="Retail")
    log_days(premier, csm, date(2026, 1, 5), entries, hours="1", line_of_business=retail)
    client = as_user(member)

    with django_assert_max_num_queries(3):
        response = client.get(f"/api/v1/time-entries/?subscription={premier.pk}")

    assert response.json()["count"] == entries
    assert response.json()["results"][0]["line_of_business"]["name"] == "Retail"


# --- Consumption --------------------------------------------------------------------------------


def test_consumption_adds_up_the_quarter_and_the_year(premier, csm, member):
    q1 = log_days(premier, csm, date(2026, 2, 2), 6)  # 120 h: 113 included, 7 overage
    q2 = [log(premier, csm, date(2026, 4, 1), "10", program="operational_consulting")]

    response = as_user(member).get(f"/api/v1/subscriptions/{premier.pk}/consumption/?on=2026-04-15")

    assert response.status_code == 200, response.json()
    body = response.json()
    quarter, year = body["quarter"], body["year"]
    assert (body["on"], body["contract"], body["package"]) == ("2026-04-15", "NW-2026", "premier")
    assert (quarter["index"], quarter["start"], quarter["end"]) == (2, "2026-04-01", "2026-06-30")
    assert {k: quarter[k] for k in ["allowance", "used", "included", "overage", "remaining"]} == {
        "allowance": "113.00",
        "used": "10.00",
        "included": "10.00",
        "overage": "0.00",
        "remaining": "103.00",
    }
    assert quarter["percent_used"] == "8.8"
    assert quarter["entry_ids"] == [entry.pk for entry in q2]
    assert {k: year[k] for k in ["allowance", "used", "included", "overage", "remaining"]} == {
        "allowance": "455.00",
        "used": "130.00",
        "included": "123.00",
        "overage": "7.00",
        "remaining": "332.00",
    }
    assert sorted(year["entry_ids"]) == sorted(entry.pk for entry in q1 + q2)
    programs = {row["program"]: row for row in year["by_program"]}
    assert programs["performance_management"]["overage"] == "7.00"
    assert programs["operational_consulting"]["used"] == "10.00"


def test_consumption_links_to_the_entries_behind_each_figure(premier, csm, member):
    log(premier, csm, date(2026, 1, 5), "2")
    behind = [log(premier, csm, date(2026, 4, 1), "3", program="operational_consulting")]
    log(premier, csm, date(2026, 4, 2), "1")
    client = as_user(member)

    body = client.get(f"/api/v1/subscriptions/{premier.pk}/consumption/?on=2026-05-01").json()
    link = next(
        row["entries"]
        for row in body["quarter"]["by_program"]
        if row["program"] == "operational_consulting"
    )

    assert ids(client.get(link)) == [entry.pk for entry in behind]
    assert sorted(ids(client.get(body["quarter"]["entries"]))) == sorted(
        body["quarter"]["entry_ids"]
    )


def test_consumption_defaults_to_today_where_the_customer_is(premier, member):
    organization = premier.contract.organization
    organization.time_zone = "Pacific/Auckland"
    organization.save()
    # 13:00 UTC on 30 September is already 1 October in Auckland: quarter 4 there.
    with time_machine.travel(datetime(2026, 9, 30, 13, tzinfo=UTC), tick=False):
        body = as_user(member).get(f"/api/v1/subscriptions/{premier.pk}/consumption/").json()

    assert (body["on"], body["quarter"]["index"]) == ("2026-10-01", 4)


def test_consumption_of_another_customer_is_not_found(premier, contoso):
    response = as_user(contoso.member).get(f"/api/v1/subscriptions/{premier.pk}/consumption/")

    assert response.status_code == 404


def test_consumption_names_a_bad_day(premier, member):
    response = as_user(member).get(f"/api/v1/subscriptions/{premier.pk}/consumption/?on=soon")

    assert response.status_code == 400
    assert "Date has wrong format" in response.json()["on"][0]


# --- Expansion scopes ---------------------------------------------------------------------------


@pytest.fixture
def proposed(premier, csm):
    return expansion_scope_propose(
        subscription=premier,
        title="Wholesale messaging",
        use=ExpansionUse.objects.get(code="new_lines_of_business"),
        hours=D("40"),
        by=csm,
        now=NOW,
    )


def decide(user, scope, decision, note=""):
    return as_user(user).post(
        f"/api/v1/expansion-scopes/{scope.pk}/decision/",
        {"decision": decision, "note": note},
        format="json",
    )


def test_the_csm_proposes_an_expansion_scope(premier, csm):
    response = as_user(csm).post(
        "/api/v1/expansion-scopes/",
        {
            "subscription": premier.pk,
            "title": "Wholesale messaging",
            "use": "new_lines_of_business",
            "hours": "40",
        },
        format="json",
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["status"], body["hours"], body["proposed_by"]) == (
        "proposed",
        "40.00",
        "Casey Lee",
    )


def test_only_the_customers_csm_proposes_scopes_and_requests_t_and_e(premier, customer_admin):
    client = as_user(customer_admin)

    scope = client.post(
        "/api/v1/expansion-scopes/",
        {"subscription": premier.pk, "title": "DIY", "use": "new_lines_of_business", "hours": "4"},
        format="json",
    )
    trip = client.post(
        "/api/v1/travel-expenses/",
        {
            "subscription": premier.pk,
            "incurred_on": "2026-12-02",
            "description": "Trip",
            "amount": "9",
        },
        format="json",
    )

    assert scope.status_code == trip.status_code == 403
    assert scope.json() == {"detail": "Only the customer's CSM scopes expansion work."}
    assert trip.json() == {"detail": "Only the customer's CSM requests T&E."}


def test_a_proposal_for_a_forbidden_use_is_refused(premier, csm):
    response = as_user(csm).post(
        "/api/v1/expansion-scopes/",
        {"subscription": premier.pk, "title": "Training", "use": "training", "hours": "4"},
        format="json",
    )

    assert response.status_code == 400
    assert response.json() == {"use": ["Expansion hours cannot be used for: Training."]}


def test_the_customer_admin_approves_a_scope(proposed, customer_admin):
    response = decide(customer_admin, proposed, "approve")

    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "approved"
    assert response.json()["decided_by"] == customer_admin.get_full_name()


def test_a_scope_beyond_the_pack_is_funded_not_approved(premier, csm, customer_admin):
    scope = expansion_scope_propose(
        subscription=premier,
        title="Three deployments",
        use=ExpansionUse.objects.get(code="new_lines_of_business"),
        hours=D("70"),
        by=csm,
        now=NOW,
    )

    approved = decide(customer_admin, scope, "approve")
    funded = decide(customer_admin, scope, "fund")

    assert approved.status_code == 400
    assert approved.json() == {
        "decision": [
            "The pack has 60.00 hours left and the scope needs 70.00: fund the other 10.00 "
            "hours or ask for a change."
        ]
    }
    assert funded.status_code == 200
    assert (funded.json()["status"], funded.json()["funded_hours"]) == ("approved", "10.00")


def test_a_change_request_needs_a_note_and_the_csm_revises(proposed, customer_admin, csm):
    without_note = decide(customer_admin, proposed, "request_change")
    with_note = decide(customer_admin, proposed, "request_change", "Split it per line")
    revised = as_user(csm).put(
        f"/api/v1/expansion-scopes/{proposed.pk}/",
        {"title": "Wholesale messaging, phase 1", "use": "new_lines_of_business", "hours": "20"},
        format="json",
    )

    assert without_note.json() == {"note": ["Say what should change."]}
    assert with_note.json()["customer_note"] == "Split it per line"
    assert with_note.json()["status"] == "change_requested"
    assert revised.status_code == 200
    assert (revised.json()["status"], revised.json()["hours"]) == ("proposed", "20.00")


def test_only_the_customers_admins_decide(proposed, member, contoso):
    by_member = decide(member, proposed, "approve")
    by_outsider = decide(contoso.member, proposed, "approve")

    assert by_member.status_code == 403
    assert by_member.json() == {"detail": "Only the customer's admins decide on expansion scopes."}
    assert by_outsider.status_code == 404
    assert ExpansionScope.objects.get(pk=proposed.pk).status == "proposed"


def test_customers_list_only_their_own_scopes(proposed, member, contoso):
    assert ids(as_user(member).get("/api/v1/expansion-scopes/")) == [proposed.pk]
    assert ids(as_user(contoso.member).get("/api/v1/expansion-scopes/")) == []


# --- Travel and expenses ------------------------------------------------------------------------


def test_the_csm_requests_t_and_e_and_the_admin_approves(premier, csm, customer_admin):
    requested = as_user(csm).post(
        "/api/v1/travel-expenses/",
        {
            "subscription": premier.pk,
            "incurred_on": "2026-12-02",
            "description": "On-site QBR in Seattle",
            "amount": "1250.00",
        },
        format="json",
    )
    expense_id = requested.json()["id"]

    approved = as_user(customer_admin).post(
        f"/api/v1/travel-expenses/{expense_id}/decision/",
        {"approve": True, "note": "Fine"},
        format="json",
    )

    assert requested.status_code == 201, requested.json()
    assert (requested.json()["status"], requested.json()["quarter_index"]) == ("requested", 4)
    assert approved.status_code == 200
    assert (approved.json()["status"], approved.json()["amount"]) == ("approved", "1250.00")


def test_t_and_e_after_the_trip_is_refused(premier, csm):
    response = as_user(csm).post(
        "/api/v1/travel-expenses/",
        {
            "subscription": premier.pk,
            "incurred_on": "2026-11-01",
            "description": "Trip",
            "amount": "10",
        },
        format="json",
    )

    assert response.status_code == 400
    assert response.json() == {
        "incurred_on": [
            "T&E needs the customer's approval in advance; request it before the travel date."
        ]
    }


def test_a_member_cannot_decide_t_and_e_but_an_admin_can_decline(
    premier, csm, member, customer_admin
):
    expense = travel_expense_request(
        subscription=premier,
        incurred_on=date(2026, 12, 2),
        description="Workshop",
        amount="800",
        by=csm,
        now=NOW,
    )
    path = f"/api/v1/travel-expenses/{expense.pk}/decision/"

    by_member = as_user(member).post(path, {"approve": True}, format="json")
    declined = as_user(customer_admin).post(path, {"approve": False}, format="json")

    assert by_member.status_code == 403
    assert by_member.json() == {"detail": "Only the customer's admins approve T&E."}
    assert declined.json()["status"] == "declined"


# --- Quarter closings ---------------------------------------------------------------------------


def test_finance_closes_one_quarter_and_quarters_close_in_order(premier, finance):
    client = as_user(finance)
    early = client.post(
        "/api/v1/quarter-closings/",
        {"contract": premier.contract_id, "quarter_index": 2},
        format="json",
    )
    client.post(
        "/api/v1/quarter-closings/",
        {"contract": premier.contract_id, "quarter_index": 1},
        format="json",
    )
    response = client.post(
        "/api/v1/quarter-closings/",
        {"contract": premier.contract_id, "quarter_index": 2},
        format="json",
    )

    assert early.status_code == 400
    assert early.json() == {
        "quarter_index": ["Close quarter 1 of NW-2026 first; quarters close in order."]
    }
    assert response.status_code == 201, response.json()
    [closing] = response.json()
    assert (closing["contract_reference"], closing["quarter_index"]) == ("NW-2026", 2)
    assert (closing["quarter_start"], closing["quarter_end"]) == ("2026-04-01", "2026-06-30")


def test_finance_closes_every_quarter_ended_by_a_day(premier, finance, contoso):
    response = as_user(finance).post(
        "/api/v1/quarter-closings/",
        {"through": "2026-10-31", "organization": premier.contract.organization_id},
        format="json",
    )

    assert response.status_code == 201, response.json()
    assert sorted(c["quarter_index"] for c in response.json()) == [1, 2, 3]
    assert not QuarterClosing.objects.filter(contract=contoso).exists()
    listed = as_user(finance).get("/api/v1/quarter-closings/").json()
    assert listed["count"] == 3


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (
            {"quarter_index": 4},
            {"quarter_index": ["Quarter 4 runs until 2026-12-31; close it after."]},
        ),
        ({"quarter_index": 9}, {"quarter_index": ["NW-2026 has quarters 1 to 4."]}),
        ({}, {"quarter_index": ["Required to close one quarter."]}),
        (
            {"quarter_index": 1, "through": "2026-06-30"},
            {
                "non_field_errors": [
                    "Give either a contract and its quarter_index, or a through date."
                ]
            },
        ),
    ],
)
def test_closing_refusals_are_named(premier, finance, data, expected):
    response = as_user(finance).post(
        "/api/v1/quarter-closings/", {"contract": premier.contract_id, **data}, format="json"
    )

    assert response.status_code == 400
    assert response.json() == expected


def test_only_finance_closes_and_customers_do_not_see_closings(premier, csm, customer_admin):
    by_csm = as_user(csm).post(
        "/api/v1/quarter-closings/",
        {"contract": premier.contract_id, "quarter_index": 1},
        format="json",
    )
    customer_list = as_user(customer_admin).get("/api/v1/quarter-closings/")

    assert by_csm.status_code == 403
    assert by_csm.json() == {"detail": "Only finance closes quarters."}
    assert customer_list.status_code == 403
    assert not QuarterClosing.objects.exists()


# --- Signed out and schema ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/api/v1/time-entries/", "/api/v1/expansion-scopes/", "/api/v1/travel-expenses/"]
)
def test_signed_out_requests_are_refused(api, path):
    assert api.get(path).status_code in {401, 403}


def test_the_schema_describes_the_hour_bank():
    paths = Client().get("/api/schema/?format=json").json()["paths"]

    assert {
        "/api/v1/time-entries/",
        "/api/v1/time-entries/{id}/",
        "/api/v1/subscriptions/{id}/consumption/",
        "/api/v1/expansion-scopes/{id}/decision/",
        "/api/v1/travel-expenses/{id}/decision/",
        "/api/v1/quarter-closings/",
        "/api/v1/overage-export/",
    } <= set(paths)
    filters = {p["name"] for p in paths["/api/v1/time-entries/"]["get"]["parameters"]}
    assert {"subscription", "organization", "worked_on_from", "worked_on_to", "program"} <= filters
