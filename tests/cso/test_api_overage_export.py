"""Finance's overage export as a CSV download: the figures, who sees which rows, and the query."""

import csv
import io
from datetime import date, timedelta
from decimal import Decimal

import pytest
import time_machine
from rest_framework.test import APIClient

from cso.api.finance import overage_csv_chunks
from cso.models import Program
from cso.selectors.overage import COLUMNS, OverageFilter
from cso.services.contracts import SubscriptionSpec, contract_create
from cso.services.time_entries import EntryFields, time_entry_log
from tests.conftest import NOW
from tests.factories import LineOfBusinessFactory, MembershipFactory, OrganizationFactory

pytestmark = pytest.mark.django_db

D = Decimal
Q1 = "period_start=2026-01-01&period_end=2026-03-31"


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False):
        yield


def as_user(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def log_days(subscription, csm, first_day, days, hours="20"):
    program = Program.objects.get(code="performance_management")
    for offset in range(days):
        fields = EntryFields(
            worked_on=first_day + timedelta(days=offset), hours=hours, program=program
        )
        time_entry_log(subscription=subscription, fields=fields, logged_by=csm, now=NOW)


@pytest.fixture
def northwind_overage(premier, csm):
    """Quarter 1: 120 hours against 113, so 7 hours of overage at 150.00."""
    log_days(premier, csm, date(2026, 2, 2), 6)
    return premier


@pytest.fixture
def contoso(catalog, csm):
    """Another customer with overage of its own in quarter 1, at 200.00."""
    organization = OrganizationFactory(name="Contoso", slug="contoso")
    organization.csms.add(csm)
    banking = LineOfBusinessFactory(organization=organization, name="Banking")
    contract = contract_create(
        organization=organization,
        term_start=date(2026, 1, 1),
        overage_rate="200.00",
        subscriptions=[SubscriptionSpec("premier", [banking])],
        reference="CB-2026",
    )
    log_days(contract.subscriptions.get(), csm, date(2026, 3, 2), 6)  # 7 hours of overage
    contract.member = MembershipFactory(organization=organization).user
    return contract


def download(user, query=Q1):
    response = as_user(user).get(f"/api/v1/overage-export/?{query}")
    assert response.status_code == 200, response.content
    text = b"".join(response.streaming_content).decode()
    return response, list(csv.DictReader(io.StringIO(text)))


def test_the_export_bills_overage_at_the_contract_rate(northwind_overage, finance):
    response, rows = download(finance)

    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == (
        'attachment; filename="overage-2026-01-01-2026-03-31.csv"'
    )
    [row] = rows
    assert list(row) == COLUMNS
    assert (row["customer"], row["contract"], row["package"]) == ("Northwind", "NW-2026", "Premier")
    assert (row["quarter"], row["quarter_start"], row["quarter_end"]) == (
        "1",
        "2026-01-01",
        "2026-03-31",
    )
    assert (D(row["included_hours"]), D(row["overage_hours"])) == (D("113"), D("7"))
    assert (row["hourly_rate"], row["currency"]) == ("150.00", "USD")
    assert D(row["amount"]) == D(row["overage_hours"]) * D("150.00") == D("1050.00")
    assert row["quarter_closed"] == "no"


def test_a_customer_downloads_only_its_own_rows(northwind_overage, contoso, customer_admin):
    _, rows = download(customer_admin)

    assert [row["customer"] for row in rows] == ["Northwind"]


def test_finance_and_csms_download_every_customer(northwind_overage, contoso, finance, csm):
    _, by_finance = download(finance)
    _, by_csm = download(csm)

    assert [row["customer"] for row in by_finance] == ["Contoso", "Northwind"]
    assert by_csm == by_finance
    contoso_row = by_finance[0]
    assert D(contoso_row["amount"]) == D(contoso_row["overage_hours"]) * D("200.00")


def test_finance_can_narrow_to_one_customer(northwind_overage, contoso, finance):
    _, rows = download(finance, f"{Q1}&organization={contoso.organization_id}")

    assert [row["customer"] for row in rows] == ["Contoso"]


def test_a_member_of_another_customer_sees_nothing_of_northwind(northwind_overage, contoso):
    _, rows = download(contoso.member)
    asked = as_user(contoso.member).get(
        f"/api/v1/overage-export/?{Q1}&organization={northwind_overage.contract.organization_id}"
    )

    assert [row["customer"] for row in rows] == ["Contoso"]
    assert asked.status_code == 400
    assert "Northwind" not in asked.content.decode()


def test_overage_only_leaves_out_quarters_within_the_hours(northwind_overage, csm, finance):
    log_days(northwind_overage, csm, date(2026, 4, 6), 1, hours="5")  # quarter 2: no overage
    whole_year = "period_start=2026-01-01&period_end=2026-06-30"

    _, every_row = download(finance, whole_year)
    _, overage_rows = download(finance, f"{whole_year}&overage_only=true")

    assert [row["quarter"] for row in every_row] == ["1", "2"]
    assert [row["quarter"] for row in overage_rows] == ["1"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (
            "",
            {
                "period_start": ["This field is required."],
                "period_end": ["This field is required."],
            },
        ),
        (
            "period_start=2026-01-01",
            {"period_end": ["This field is required."]},
        ),
        (
            "period_start=2026-04-01&period_end=2026-01-01",
            {"period_end": ["The period ends before it starts."]},
        ),
    ],
)
def test_a_missing_or_backwards_period_is_refused(finance, query, expected):
    response = as_user(finance).get(f"/api/v1/overage-export/?{query}")

    assert response.status_code == 400
    assert response.json() == expected


def test_a_malformed_day_is_named(finance):
    response = as_user(finance).get("/api/v1/overage-export/?period_start=1/1/26&period_end=x")

    assert response.status_code == 400
    assert set(response.json()) == {"period_start", "period_end"}
    assert "Date has wrong format" in response.json()["period_start"][0]


def test_the_csv_comes_in_chunks_of_rows(northwind_overage, contoso, csm):
    log_days(northwind_overage, csm, date(2026, 4, 6), 1, hours="5")
    criteria = OverageFilter(period_start=date(2026, 1, 1), period_end=date(2026, 6, 30))

    chunks = list(overage_csv_chunks(criteria, rows_per_chunk=2))

    lines = [chunk.splitlines() for chunk in chunks]
    assert [len(chunk) for chunk in lines] == [3, 1]  # header and 2 rows, then the last row
    assert lines[0][0] == ",".join(COLUMNS)
    assert "".join(chunks) == "".join(overage_csv_chunks(criteria))


def test_signed_out_downloads_are_refused():
    response = APIClient().get(f"/api/v1/overage-export/?{Q1}")

    assert response.status_code in {401, 403}
