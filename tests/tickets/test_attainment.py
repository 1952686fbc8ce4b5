"""SLA attainment: promises kept and broken per customer, package, severity and month, counted in
one query, in the API (each customer its own) and on the admin's report page."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.models import Organization
from cso.services.contracts import SubscriptionSpec, contract_create
from tests.conftest import NOW
from tests.factories import LineOfBusinessFactory, MembershipFactory, OrganizationFactory
from tests.tickets.conftest import OPENED
from tickets.selectors import sla_attainment
from tickets.services.tickets import ticket_open, ticket_reply

H = timedelta(hours=1)
# Five hours after the November tickets opened.
AS_OF = OPENED + 5 * H
NOVEMBER, OCTOBER = date(2026, 11, 1), date(2026, 10, 1)
API_URL = "/api/v1/sla-attainment/"


def open_ticket(subscription, engineer, severity, opened_at=OPENED, **extra):
    return ticket_open(
        subscription=subscription,
        subject=f"{severity} problem",
        severity=severity,
        opened_by=engineer,
        now=max(opened_at, OPENED),
        opened_at=opened_at,
        channel="phone",
        **extra,
    )


def reply(ticket, engineer, at):
    ticket_reply(ticket=ticket, author=engineer, body="Looking into it", now=at)


@pytest.fixture
def contoso(catalog, sla_policies):
    """Another customer, with its own member and a Premier contract."""
    organization = OrganizationFactory(name="Contoso", slug="contoso")
    contract = contract_create(
        organization=organization,
        term_start=date(2026, 1, 1),
        overage_rate="200.00",
        subscriptions=[
            SubscriptionSpec("premier", [LineOfBusinessFactory(organization=organization)])
        ],
        reference="CB-2026",
        signed_at=NOW,
    )
    subscription = contract.subscriptions.get()
    subscription.member = MembershipFactory(organization=organization).user
    return subscription


@pytest.fixture
def desk(premier, sla_policies, engineer, contoso):
    """Northwind's Premier tickets as of AS_OF (Table 8: P1 first response 1 h, updates every
    2 h; P2 first response 3 h), and one of Contoso's.

    - A, P1: answered after 30 min, then no update: its second update, due 16:30, is 2.5 h late.
    - B, P1: answered after 2 h (1 h late), which is its first update on time to the second;
      its next update, due 18:00, is 1 h late.
    - C, P2: not answered; its first response, due 17:00, is 2 h late.
    - D, P1 opened 5 October 10:00 and never touched: three October targets unmet.
    - Contoso's P1, answered on time after 15 min, then no update.
    """
    a = open_ticket(premier, engineer, "P1")
    reply(a, engineer, OPENED + H / 2)
    b = open_ticket(premier, engineer, "P1")
    reply(b, engineer, OPENED + 2 * H)
    open_ticket(premier, engineer, "P2")
    open_ticket(premier, engineer, "P1", opened_at=datetime(2026, 10, 5, 10, tzinfo=UTC))
    other = open_ticket(contoso, engineer, "P1")
    reply(other, engineer, OPENED + H / 4)


def shape(rows) -> list[tuple]:
    return [
        (
            row.organization,
            row.package_code,
            row.severity,
            row.month,
            row.target_kind,
            row.due,
            row.met_on_time,
            row.breached,
            row.average_seconds_late,
            row.worst_seconds_late,
        )
        for row in rows
    ]


# The selector --------------------------------------------------------------------------------


def test_rows_count_due_met_breached_and_lateness_in_one_query(
    desk, premier, django_assert_num_queries
):
    with django_assert_num_queries(1):
        rows = sla_attainment(now=AS_OF)

    october = int((AS_OF - datetime(2026, 10, 5, 10, tzinfo=UTC)).total_seconds())
    assert shape(rows) == [
        # Contoso: answered at 14:15, on time; the next update, due 16:15, is 2:45 late.
        ("Contoso", "premier", "P1", NOVEMBER, None, 3, 2, 1, 9900, 9900),
        # D: first response due 11:00, first update 12:00, resolution 22:00, all unmet:
        # each late by the time since the opening less 1, 2 and 12 h: less 5 h on average.
        ("Northwind", "premier", "P1", OCTOBER, None, 3, 0, 3, october - 5 * 3600, october - 3600),
        # A: 2 met, 1 breached 9000 s; B: first update met on time, response and next update
        # 3600 s late. The resolutions (due at 02:00) are still running: left out.
        ("Northwind", "premier", "P1", NOVEMBER, None, 6, 3, 3, 5400, 9000),
        ("Northwind", "premier", "P2", NOVEMBER, None, 1, 0, 1, 7200, 7200),
    ]  # fmt: skip
    assert (rows[2].attainment_percent, rows[0].attainment_percent) == (50, Decimal("66.7"))


def test_by_kind_splits_each_row_per_target_kind(desk, django_assert_num_queries):
    northwind = Organization.objects.filter(slug="northwind")

    with django_assert_num_queries(1):
        rows = sla_attainment(
            now=AS_OF, organizations=northwind, date_from=NOVEMBER, severity="P1", by_kind=True
        )

    assert shape(rows) == [
        ("Northwind", "premier", "P1", NOVEMBER, "first_response", 2, 1, 1, 3600, 3600),
        ("Northwind", "premier", "P1", NOVEMBER, "periodic_update", 4, 2, 2, 6300, 9000),
    ]


def test_filters_by_customer_months_package_and_severity(desk, contoso):
    contoso_only = Organization.objects.filter(slug="contoso")

    assert [r.organization for r in sla_attainment(now=AS_OF, organizations=contoso_only)] == [
        "Contoso"
    ]
    october = sla_attainment(now=AS_OF, date_from=OCTOBER, date_to=date(2026, 10, 31))
    assert [(r.month, r.due) for r in october] == [(OCTOBER, 3)]
    assert sla_attainment(now=AS_OF, package="expert") == []
    assert [r.severity for r in sla_attainment(now=AS_OF, severity="P2")] == ["P2"]


def test_lateness_of_an_unmet_target_grows_until_it_is_met(desk, premier, engineer):
    earlier = sla_attainment(now=AS_OF, severity="P2")
    later = sla_attainment(now=AS_OF + H, severity="P2")

    assert (earlier[0].worst_seconds_late, later[0].worst_seconds_late) == (7200, 10800)


def test_the_month_is_that_of_the_due_time_in_utc(premier, sla_policies, engineer):
    # Opened 31 October 23:30 UTC: the first response is due 00:30 on 1 November.
    open_ticket(premier, engineer, "P1", opened_at=datetime(2026, 10, 31, 23, 30, tzinfo=UTC))

    rows = sla_attainment(now=datetime(2026, 11, 1, 1, tzinfo=UTC), by_kind=True)

    assert [(r.month, r.target_kind, r.breached) for r in rows] == [(NOVEMBER, "first_response", 1)]


# The API ---------------------------------------------------------------------------------


def api(user, **params):
    client = APIClient()
    client.force_authenticate(user)
    with time_machine.travel(AS_OF, tick=False):
        return client.get(API_URL, params)


def test_a_customer_reads_only_its_own_organizations(
    desk, premier, customer_admin, contoso, django_assert_max_num_queries
):
    with django_assert_max_num_queries(1):
        response = api(customer_admin)

    assert response.status_code == 200
    body = response.json()
    assert body["as_of"] == "2026-11-23T19:00:00Z"
    assert {row["organization_name"] for row in body["rows"]} == {"Northwind"}
    assert body["rows"][1] == {
        "organization": premier.contract.organization_id,
        "organization_name": "Northwind",
        "package": "premier",
        "package_name": "Premier",
        "severity": "P1",
        "month": "2026-11",
        "target_kind": None,
        "due": 6,
        "met_on_time": 3,
        "breached": 3,
        "attainment_percent": "50.0",
        "average_seconds_late": 5400,
        "worst_seconds_late": 9000,
    }  # fmt: skip
    # Another customer's id finds nothing rather than its numbers.
    other = api(customer_admin, organization=contoso.contract.organization_id)
    assert other.json()["rows"] == []


def test_staff_read_every_customer_and_filter(desk, csm, contoso, django_assert_max_num_queries):
    with django_assert_max_num_queries(1):
        everyone = api(csm)
    filtered = api(
        csm,
        organization=contoso.contract.organization_id,
        month_from="2026-11",
        month_to="2026-11",
        package="premier",
        severity="P1",
        by_kind="true",
    )

    assert [row["organization_name"] for row in everyone.json()["rows"]] == [
        "Contoso",
        "Northwind",
        "Northwind",
        "Northwind",
    ]
    assert [(r["target_kind"], r["met_on_time"]) for r in filtered.json()["rows"]] == [
        ("first_response", 1),
        ("periodic_update", 1),
    ]


def test_months_are_checked(csm, db):
    response = api(csm, month_from="2026-11", month_to="2026-10")
    assert response.status_code == 400
    assert response.json() == {"month_to": ["The last month is before the first."]}
    assert api(csm, month_from="November").status_code == 400


def test_the_api_needs_a_signed_in_user(db):
    assert APIClient().get(API_URL).status_code in (401, 403)


# The admin's report page -------------------------------------------------------------------

REPORT = reverse("admin:tickets_slapolicy_attainment")


@pytest.fixture
def as_csm(client, csm):
    client.force_login(csm)
    with time_machine.travel(AS_OF, tick=False):
        yield client


def report_rows(page) -> list[tuple]:
    return [
        (line["row"].organization, line["row"].severity, f"{line['row'].month:%Y-%m}")
        + (line["row"].target_kind, line["average"], line["worst"])
        for line in page.context["rows"]
    ]


def test_the_report_shows_a_csm_every_customers_numbers(
    desk, as_csm, django_assert_max_num_queries
):
    with django_assert_max_num_queries(12):
        page = as_csm.get(REPORT)

    assert page.status_code == 200
    # By default the twelve months to this one: December 2025 to November 2026.
    assert page.context["form"]["month_from"].value() == "2025-12"
    assert report_rows(page) == [
        ("Contoso", "P1", "2026-11", None, "2 h 45 min", "2 h 45 min"),
        ("Northwind", "P1", "2026-10", None, "49 d 4 h", "49 d 8 h"),
        ("Northwind", "P1", "2026-11", None, "1 h 30 min", "2 h 30 min"),
        ("Northwind", "P2", "2026-11", None, "2 h", "2 h"),
    ]
    content = page.content.decode()
    assert "<td>6</td>" in content and "<td>3</td>" in content and "50.0%" in content
    assert "66.7%" in content


def test_the_report_filters_by_customer_month_and_kind(desk, as_csm, contoso):
    page = as_csm.get(
        REPORT,
        {
            "customer": contoso.contract.organization_id,
            "month_from": "2026-11",
            "month_to": "2026-11",
            "by_kind": "on",
        },
    )

    assert report_rows(page) == [
        ("Contoso", "P1", "2026-11", "first_response", "-", "-"),
        ("Contoso", "P1", "2026-11", "periodic_update", "2 h 45 min", "2 h 45 min"),
    ]
    assert "<th>Target</th>" in page.content.decode()


def test_the_report_refuses_months_in_the_wrong_order(desk, as_csm):
    page = as_csm.get(REPORT, {"month_from": "2026-11", "month_to": "2026-10"})

    assert page.context["rows"] == []
    assert page.context["form"].errors == {"month_to": ["The last month is before the first."]}


def test_finance_reads_the_report_and_customers_do_not(desk, client, finance, customer_admin):
    client.force_login(finance)
    assert client.get(REPORT).status_code == 200

    client.force_login(customer_admin)
    assert client.get(REPORT).status_code in (302, 403)
