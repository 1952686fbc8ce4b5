"""Tickets through the API: customers open and follow their own, support works them, and every
ticket shows its SLA clocks (due times, met or breached, seconds late) as of the request."""

from datetime import date, datetime, timedelta

import pytest
import time_machine
from rest_framework.test import APIClient

from accounts.models import User
from cso.services.contracts import SubscriptionSpec, contract_create
from tests.conftest import NOW
from tests.factories import (
    FinanceFactory,
    LineOfBusinessFactory,
    MembershipFactory,
    OrganizationFactory,
)
from tests.tickets.conftest import OPENED
from tickets.models import Ticket
from tickets.services.tickets import ticket_open

pytestmark = pytest.mark.django_db

H = timedelta(hours=1)
TICKETS = "/api/v1/tickets/"


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(OPENED, tick=False) as traveller:
        yield traveller


def as_user(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def at(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def target(body: dict, kind: str, cycle: int = 0) -> dict:
    return next(t for t in body["targets"] if t["kind"] == kind and t["cycle"] == cycle)


def customer_of(organization) -> User:
    return MembershipFactory(organization=organization).user


def subscription_for(name: str, package: str):
    organization = OrganizationFactory(name=name, slug=name.lower())
    line = LineOfBusinessFactory(organization=organization, name="Retail")
    contract = contract_create(
        organization=organization,
        term_start=date(2026, 1, 1),
        overage_rate="150.00",
        subscriptions=[SubscriptionSpec(package, [line])],
        reference=f"{name[:2].upper()}-2026",
        signed_at=NOW,
    )
    return contract.subscriptions.get()


@pytest.fixture
def contoso(catalog, sla_policies):
    """Another customer, on Premier too."""
    return subscription_for("Contoso", "premier")


@pytest.fixture
def opened(premier, sla_policies, customer_admin):
    """A Premier P1 the customer opened through the API at OPENED."""
    response = as_user(customer_admin).post(
        TICKETS,
        {"subscription": premier.pk, "subject": "Chat is down", "severity": "P1"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    return response.json()


def post(user, ticket: dict, what: str, data: dict | None = None):
    return as_user(user).post(f"{TICKETS}{ticket['id']}/{what}/", data or {}, format="json")


# --- Opening -------------------------------------------------------------------------------------


def test_a_customer_opens_a_premier_p1_and_reads_its_due_times(opened, premier):
    assert opened["status"] == "new"
    assert opened["organization"] == premier.contract.organization_id
    assert opened["package"] == {"code": "premier", "name": "Premier"}
    assert opened["severity"] == "P1"
    assert opened["severity_name"] == "Critical"
    assert opened["channel"] == "web"
    assert opened["sla_policy"]["code"] == "cso_enhanced"
    assert opened["paused"] is False
    # Table 8, Premier P1: first response 1 hour, updates every 2 hours, resolution 12 hours.
    assert at(opened["first_response_due_at"]) == OPENED + 1 * H
    assert at(opened["next_update_due_at"]) == OPENED + 2 * H
    assert at(opened["resolution_due_at"]) == OPENED + 12 * H
    assert opened["rca_due_at"] is None  # owed only from the resolution
    assert "acknowledgement_due_at" not in opened  # the policy has no such target
    assert "restore_due_at" not in opened
    assert target(opened, "first_response")["state"] == "running"
    assert target(opened, "root_cause_analysis")["state"] == "not_applicable"
    assert target(opened, "resolution")["duration"] == "12 hours"


def test_a_customer_is_refused_the_phone(premier, sla_policies, customer_admin):
    response = as_user(customer_admin).post(
        TICKETS,
        {"subscription": premier.pk, "subject": "x", "severity": "P1", "channel": "phone"},
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["channel"] == [
        "Customers open cases on the web or, from Expert up, by messaging their primary "
        "engineer; phone, chat and email cases are entered by support."
    ]
    assert not Ticket.objects.exists()


def test_a_foundations_customer_is_refused_the_web_with_its_package_named(catalog, sla_policies):
    foundations = subscription_for("Fabrikam", "foundations")
    customer = customer_of(foundations.contract.organization)

    response = as_user(customer).post(
        TICKETS, {"subscription": foundations.pk, "subject": "x", "severity": "1"}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["channel"] == [
        "The Foundations package does not include direct web case creation (Premier and above), "
        "so a case cannot be opened by web. Open it by chat, email."
    ]


def test_a_severity_the_policy_lacks_is_refused_under_its_field(
    premier, sla_policies, customer_admin
):
    response = as_user(customer_admin).post(
        TICKETS, {"subscription": premier.pk, "subject": "x", "severity": "P9"}, format="json"
    )

    assert response.status_code == 400
    assert response.json() == {
        "severity": ['"P9" is not a severity of CSO enhanced support: use P1, P2, P3.']
    }


def test_a_customer_cannot_open_on_another_customers_subscription(contoso, customer_admin):
    response = as_user(customer_admin).post(
        TICKETS, {"subscription": contoso.pk, "subject": "x", "severity": "P1"}, format="json"
    )

    assert response.status_code == 400
    assert "subscription" in response.json()


def test_only_support_backdates_a_ticket_or_picks_its_policy(premier, sla_policies, customer_admin):
    response = as_user(customer_admin).post(
        TICKETS,
        {
            "subscription": premier.pk,
            "subject": "x",
            "severity": "P1",
            "opened_at": (OPENED - H).isoformat(),
        },
        format="json",
    )

    assert response.status_code == 403
    assert response.json()["detail"] == (
        "Only support staff set the opening time, policy or assignee."
    )


def test_support_opens_on_another_policy_and_sees_its_other_targets_and_escalations(
    premier, sla_policies, engineer
):
    response = as_user(engineer).post(
        TICKETS,
        {
            "subscription": premier.pk,
            "subject": "Phoned in",
            "severity": "1",
            "channel": "phone",
            "sla_policy": "vendor_priority_plan",
            "opened_at": (OPENED - H / 2).isoformat(),
        },
        format="json",
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["sla_policy"]["code"] == "vendor_priority_plan"
    assert at(body["time_to_open_due_at"]) == OPENED + H / 2
    assert at(body["acknowledgement_due_at"]) == OPENED + H / 2
    assert at(body["next_update_due_at"]) == OPENED + 3.5 * H
    assert body["first_response_due_at"] is None  # always shown, null: the policy has none
    assert body["resolution_due_at"] is None
    assert "restore_due_at" not in body
    assert [(e["after"], e["action"], e["target"]) for e in body["escalations"]] == [
        ("0 minutes", "raise_level", "Level 2")
    ]


# --- Seeing ------------------------------------------------------------------------------------


def test_a_customer_sees_only_its_own_tickets(opened, contoso, engineer, customer_admin):
    theirs = ticket_open(
        subscription=contoso, subject="Theirs", severity="P2", opened_by=engineer, now=OPENED
    )
    client = as_user(customer_admin)

    listed = client.get(TICKETS).json()

    assert [t["id"] for t in listed["results"]] == [opened["id"]]
    assert client.get(f"{TICKETS}{theirs.pk}/").status_code == 404
    assert post(customer_admin, {"id": theirs.pk}, "replies", {"body": "hi"}).status_code == 404
    assert as_user(engineer).get(TICKETS).json()["count"] == 2


def test_internal_notes_are_never_shown_to_customers(opened, engineer, customer_admin):
    post(engineer, opened, "replies", {"body": "Looking at it", "is_public": True})
    noted = post(engineer, opened, "replies", {"body": "Suspect the DB", "is_public": False})

    as_customer = as_user(customer_admin).get(f"{TICKETS}{opened['id']}/").json()
    listed = as_user(customer_admin).get(TICKETS).json()["results"][0]
    as_staff = as_user(engineer).get(f"{TICKETS}{opened['id']}/").json()

    assert noted.status_code == 201
    assert [m["body"] for m in as_customer["messages"]] == ["Looking at it"]
    assert [m["body"] for m in listed["messages"]] == ["Looking at it"]
    assert [m["body"] for m in as_staff["messages"]] == ["Looking at it", "Suspect the DB"]
    assert as_staff["messages"][1]["is_public"] is False


def test_a_customer_cannot_write_an_internal_note(opened, customer_admin):
    response = post(customer_admin, opened, "replies", {"body": "psst", "is_public": False})

    assert response.status_code == 403
    assert response.json()["detail"] == (
        "Only support staff write internal notes or root cause analyses."
    )


def test_signing_in_comes_first(opened):
    assert APIClient().get(TICKETS).status_code in {401, 403}


# --- Working -------------------------------------------------------------------------------------


def test_waiting_on_the_customer_pauses_the_clocks_and_the_reply_restarts_them(
    opened, engineer, customer_admin, clock
):
    clock.move_to(OPENED + H / 2)
    asked = post(
        engineer, opened, "replies", {"body": "Which site?", "wait_on_customer": True}
    ).json()

    assert asked["status"] == "waiting_on_customer"
    assert asked["paused"] is True
    assert target(asked, "first_response")["state"] == "met"
    assert at(target(asked, "first_response")["met_at"]) == OPENED + H / 2
    assert asked["resolution_due_at"] is None
    assert target(asked, "resolution")["state"] == "paused"
    assert asked["next_update_due_at"] is None

    clock.move_to(OPENED + 3 * H)
    answered = post(customer_admin, opened, "replies", {"body": "All of them"}).json()

    held = 3 * H - H / 2
    assert answered["status"] == "open"
    assert answered["paused"] is False
    assert at(answered["resolution_due_at"]) == OPENED + 12 * H + held
    # The update at 00:30 restarted the 2-hour cycle; the pause moved it by the time held.
    assert at(answered["next_update_due_at"]) == OPENED + H / 2 + 2 * H + held
    assert target(answered, "periodic_update", cycle=1)["state"] == "running"


def test_resolving_stops_the_updates_and_starts_the_rca_clock(opened, engineer, clock):
    clock.move_to(OPENED + 2 * H)
    resolved = post(engineer, opened, "status", {"status": "resolved"}).json()

    assert resolved["status"] == "resolved"
    assert resolved["next_update_due_at"] is None
    # Resolved Monday 16:00 UTC; 3 New York business days, Thanksgiving skipped: Friday 17:00.
    assert at(resolved["rca_due_at"]) == datetime.fromisoformat("2026-11-27T22:00:00+00:00")
    assert target(resolved, "root_cause_analysis")["state"] == "running"
    assert target(resolved, "resolution")["state"] == "met"


def test_a_customer_closes_a_resolved_ticket_but_does_not_work_an_open_one(
    opened, engineer, customer_admin
):
    refused = post(customer_admin, opened, "status", {"status": "waiting_on_customer"})
    post(engineer, opened, "status", {"status": "resolved"})
    closed = post(customer_admin, opened, "status", {"status": "closed"})

    assert refused.status_code == 403
    assert refused.json()["detail"] == "Customers may reopen or close a resolved ticket only."
    assert closed.status_code == 200
    assert closed.json()["status"] == "closed"
    assert closed.json()["closed_at"] is not None


def test_an_unknown_status_is_refused_under_its_field(opened, engineer):
    response = post(engineer, opened, "status", {"status": "done"})

    assert response.status_code == 400
    assert response.json() == {"status": ['"done" is not a status.']}


@pytest.mark.parametrize(
    ("what", "data"),
    [("assign", {"assignee": None}), ("restored", {}), ("retarget", {"severity": "P2"})],
)
def test_support_only_actions_refuse_customers_and_finance(opened, customer_admin, what, data):
    finance = FinanceFactory()

    for user in (customer_admin, finance):
        response = post(user, opened, what, data)
        assert response.status_code == 403, (user, response.json())
    assert Ticket.objects.get(pk=opened["id"]).severity == "P1"


def test_support_assigns_and_retargets_from_the_opening(opened, engineer, clock):
    clock.move_to(OPENED + H)
    assigned = post(engineer, opened, "assign", {"assignee": engineer.pk}).json()
    retargeted = post(engineer, opened, "retarget", {"severity": "P2"}).json()

    assert assigned["status"] == "open"
    assert assigned["assignee"] == engineer.get_full_name()
    # Premier P2: first response in 3 hours, counted from the original opening.
    assert retargeted["severity_name"] == "Major"
    assert at(retargeted["first_response_due_at"]) == OPENED + 3 * H
    assert at(retargeted["resolution_due_at"]) == OPENED + 72 * H


def test_retargeting_to_a_severity_the_policy_lacks_is_refused(opened, engineer):
    response = post(engineer, opened, "retarget", {"severity": "P7"})

    assert response.status_code == 400
    assert response.json() == {
        "severity": ['"P7" is not a severity of CSO enhanced support: use P1, P2, P3.']
    }


def test_restoration_meets_the_restore_target(premier, sla_policies, engineer, clock):
    response = as_user(engineer).post(
        TICKETS,
        {
            "subscription": premier.pk,
            "subject": "Site down",
            "severity": "critical",
            "channel": "phone",
            "sla_policy": "vendor_uptime_sla",
        },
        format="json",
    )
    ticket = response.json()
    assert at(ticket["restore_due_at"]) == OPENED + H / 2

    clock.move_to(OPENED + H / 4)
    restored = post(engineer, ticket, "restored").json()

    assert target(restored, "restore")["state"] == "met"
    assert target(restored, "restore")["breached"] is False


def test_a_bug_has_no_non_bug_resolution_target(premier, sla_policies, customer_admin):
    response = as_user(customer_admin).post(
        TICKETS,
        {"subscription": premier.pk, "subject": "x", "severity": "P1", "kind": "bug"},
        format="json",
    )

    body = response.json()
    assert body["kind"] == "bug"
    assert body["resolution_due_at"] is None
    assert target(body, "resolution")["state"] == "not_applicable"


# --- Lateness ----------------------------------------------------------------------------------


def test_an_unmet_late_target_shows_its_lateness_growing(opened, customer_admin, clock):
    client = as_user(customer_admin)

    clock.move_to(OPENED + 3 * H)
    three_hours_in = target(client.get(f"{TICKETS}{opened['id']}/").json(), "first_response")
    clock.move_to(OPENED + 4 * H)
    four_hours_in = target(client.get(TICKETS).json()["results"][0], "first_response")

    assert three_hours_in["state"] == "breached"
    assert three_hours_in["seconds_late"] == 2 * 3600
    assert four_hours_in["breached"] is True
    assert four_hours_in["seconds_late"] == 3 * 3600


def test_a_target_met_late_keeps_its_lateness(opened, engineer, clock):
    clock.move_to(OPENED + H + timedelta(minutes=10))
    post(engineer, opened, "replies", {"body": "On it"})
    clock.move_to(OPENED + 5 * H)

    late = target(as_user(engineer).get(f"{TICKETS}{opened['id']}/").json(), "first_response")

    assert late["state"] == "met"
    assert late["breached"] is True
    assert late["seconds_late"] == 600


# --- Lists ---------------------------------------------------------------------------------------


def test_the_list_filters_by_status_severity_subscription_and_organization(
    opened, premier, contoso, engineer
):
    theirs = ticket_open(
        subscription=contoso, subject="Theirs", severity="P2", opened_by=engineer, now=OPENED
    )
    client = as_user(engineer)

    def ids(**query) -> list[int]:
        response = client.get(TICKETS, query)
        assert response.status_code == 200, response.json()
        return [t["id"] for t in response.json()["results"]]

    assert ids(severity="P2") == [theirs.pk]
    assert ids(status="new") == [theirs.pk, opened["id"]]
    assert ids(status="open") == []
    assert ids(subscription=premier.pk) == [opened["id"]]
    assert ids(organization=contoso.contract.organization_id) == [theirs.pk]


@pytest.mark.parametrize("count", [1, 20])
def test_the_list_runs_a_fixed_number_of_queries(
    premier, sla_policies, engineer, customer_admin, count, django_assert_max_num_queries
):
    for number in range(count):
        ticket = ticket_open(
            subscription=premier,
            subject=f"Ticket {number}",
            severity="P2",
            opened_by=customer_admin,
            now=OPENED,
        )
        as_user(engineer).post(f"{TICKETS}{ticket.pk}/replies/", {"body": "On it"}, format="json")

    for user in (customer_admin, engineer):
        with django_assert_max_num_queries(6):
            response = as_user(user).get(TICKETS)
        assert response.json()["count"] == count
        assert all(len(t["messages"]) == 1 for t in response.json()["results"])
