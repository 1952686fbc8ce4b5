"""The hour bank in the admin: time entries, the overage export, scopes, T&E, closings, audit."""

import csv
from datetime import date, timedelta
from decimal import Decimal
from io import BytesIO, StringIO

import openpyxl
import pytest
import time_machine
from auditlog.models import LogEntry
from django.contrib.messages import get_messages
from django.urls import reverse

from cso.models import (
    ExpansionScope,
    ExpansionUse,
    Program,
    QuarterClosing,
    TimeEntry,
    TravelExpense,
)
from cso.selectors.overage import COLUMNS
from cso.services.closings import quarter_close
from cso.services.expansion import expansion_scope_propose
from cso.services.time_entries import EntryFields, time_entry_log
from tests.conftest import NOW
from tests.factories import CsmFactory, OrganizationFactory

pytestmark = pytest.mark.django_db
D = Decimal
CLOSED_Q1 = (
    "Contract quarter 1 (2026-01-01 to 2026-03-31) is closed; log an adjusting entry in an open "
    "quarter instead."
)


def log(subscription, csm, day, hours, **kwargs):
    program = Program.objects.get(code=kwargs.pop("program", "performance_management"))
    fields = EntryFields(worked_on=day, hours=hours, program=program, **kwargs)
    return time_entry_log(subscription=subscription, fields=fields, logged_by=csm, now=NOW)


def fill_first_quarter(subscription, csm) -> list[TimeEntry]:
    """105 of the quarter's 113 hours (Section 1: Premier), in days of 21 hours."""
    return [log(subscription, csm, date(2026, 1, 5 + day), "21") for day in range(5)]


def url(name: str, *args) -> str:
    return reverse(f"admin:cso_{name}", args=args)


def shown_messages(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def entry_form(subscription, **values) -> dict:
    data = {
        "subscription": subscription.pk,
        "worked_on": "2026-04-01",
        "hours": "2",
        "program": Program.objects.get(code="performance_management").pk,
        "line_of_business": "",
        "entitlement": "",
        "expansion_scope": "",
        "description": "Workshop",
        "adjusts": "",
    }
    return data | values


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


# Time entries ------------------------------------------------------------------------------


def test_the_time_entry_list_shows_the_split_in_a_fixed_number_of_queries(
    premier, csm, as_csm, django_assert_max_num_queries
):
    fill_first_quarter(premier, csm)
    for day in range(20):
        log(premier, csm, date(2026, 3, 1 + day), "1")

    with django_assert_max_num_queries(10):
        page = as_csm.get(url("timeentry_changelist"))

    assert page.status_code == 200
    rows = page.context["cl"].result_list
    assert len(rows) == 25
    last = rows[0]  # newest first
    assert (last.worked_on, last.included_hours, last.overage_hours) == (
        date(2026, 3, 20),
        D(0),
        D(1),
    )
    assert "Northwind" in page.content.decode() and "NW-2026" in page.content.decode()


def test_the_list_filters_closed_quarters_and_searches_descriptions(premier, csm, finance, as_csm):
    log(premier, csm, date(2026, 2, 2), "3", description="Kick-off")
    log(premier, csm, date(2026, 4, 2), "2", description="Roadmap")
    quarter_close(contract=premier.contract, quarter_index=1, by=finance, now=NOW)

    closed = as_csm.get(url("timeentry_changelist"), {"closed": "yes"})
    open_ = as_csm.get(url("timeentry_changelist"), {"closed": "no"})
    found = as_csm.get(url("timeentry_changelist"), {"q": "roadmap"})

    assert [e.description for e in closed.context["cl"].result_list] == ["Kick-off"]
    assert [e.description for e in open_.context["cl"].result_list] == ["Roadmap"]
    assert [e.description for e in found.context["cl"].result_list] == ["Roadmap"]


def test_a_csm_logs_time_in_the_admin_through_the_service(premier, csm, as_csm):
    fill_first_quarter(premier, csm)

    response = as_csm.post(
        url("timeentry_add"), entry_form(premier, worked_on="2026-03-30", hours="10")
    )

    assert response.status_code == 302
    entry = TimeEntry.objects.get(worked_on=date(2026, 3, 30))
    assert (entry.logged_by, entry.included_hours, entry.overage_hours) == (csm, D(8), D(2))
    assert (entry.limited_by, entry.quarter_index) == ("quarter", 1)


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        ({"hours": "1.1"}, "hours", "Log time in steps of 0.25 hours (1.1)."),
        ({"hours": "0"}, "hours", "Hours must not be zero."),
        (
            {"worked_on": "2026-11-30"},
            "worked_on",
            "2026-11-30 has not come yet; log time once it is worked.",
        ),
        ({"worked_on": "2026-02-02"}, "worked_on", CLOSED_Q1),
    ],
)
def test_what_the_service_refuses_comes_back_on_the_field(
    premier, finance, as_csm, values, field, message
):
    quarter_close(contract=premier.contract, quarter_index=1, by=finance, now=NOW)

    response = as_csm.post(url("timeentry_add"), entry_form(premier, **values))

    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {field: [message]}
    assert not TimeEntry.objects.exists()


def test_an_adjustment_giving_back_too_much_is_refused_on_the_form(premier, csm, finance, as_csm):
    fill_first_quarter(premier, csm)
    original = log(premier, csm, date(2026, 3, 2), "20")
    quarter_close(contract=premier.contract, quarter_index=1, by=finance, now=NOW)

    response = as_csm.post(
        url("timeentry_add"),
        entry_form(premier, worked_on="2026-05-05", hours="-20.25", adjusts=original.pk),
    )

    errors = response.context["adminform"].form.errors
    assert f"gives back 20.25 hours, more than entry {original.pk} has left." in errors["hours"][0]
    assert TimeEntry.objects.count() == 6


def test_changing_an_entry_recomputes_the_split(premier, csm, as_csm):
    fill_first_quarter(premier, csm)
    late = log(premier, csm, date(2026, 3, 20), "10")
    early = TimeEntry.objects.get(worked_on=date(2026, 1, 5))

    response = as_csm.post(
        url("timeentry_change", early.pk),
        entry_form(premier, worked_on="2026-01-05", hours="23") | {"subscription": ""},
    )

    assert response.status_code == 302
    late.refresh_from_db()
    assert (late.included_hours, late.overage_hours) == (D(6), D(4))


def test_an_entry_of_a_closed_quarter_is_read_only(premier, csm, finance, as_csm):
    entry = log(premier, csm, date(2026, 2, 2), "3")
    quarter_close(contract=premier.contract, quarter_index=1, by=finance, now=NOW)

    page = as_csm.get(url("timeentry_change", entry.pk))
    refused = as_csm.post(url("timeentry_change", entry.pk), entry_form(premier, hours="4"))

    assert page.status_code == 200 and not page.context["has_change_permission"]
    assert "closed by finance on 2026-11-23, so read only" in page.content.decode()
    assert refused.status_code == 403
    assert as_csm.post(url("timeentry_delete", entry.pk), {"post": "yes"}).status_code == 403
    entry.refresh_from_db()
    assert entry.hours == D(3)


def test_choosing_the_subscription_first_offers_only_its_deliverables(premier, as_csm):
    page = as_csm.get(url("timeentry_add"), {"subscription": premier.pk})

    offered = page.context["adminform"].form.fields["entitlement"].queryset
    assert {e.subscription_id for e in offered} == {premier.pk}
    assert "monthly_business_review" not in {e.deliverable.code for e in offered}
    assert len(offered) == premier.entitlements.exclude(kind="not_available").count()


def test_a_csm_changes_only_their_own_customers_time(premier, csm, client):
    entry = log(premier, csm, date(2026, 4, 2), "3")
    client.force_login(CsmFactory())

    with time_machine.travel(NOW, tick=False):
        refused = client.post(url("timeentry_change", entry.pk), entry_form(premier, hours="4"))
        add_page = client.get(url("timeentry_add"))

    assert refused.status_code == 403
    assert list(add_page.context["adminform"].form.fields["subscription"].queryset) == []


def test_deleting_entries_goes_through_the_service(premier, csm, as_csm):
    fill_first_quarter(premier, csm)
    late = log(premier, csm, date(2026, 3, 20), "10")
    first, second = TimeEntry.objects.filter(worked_on__lte=date(2026, 1, 6)).order_by("worked_on")

    as_csm.post(url("timeentry_delete", first.pk), {"post": "yes"})
    late.refresh_from_db()
    assert late.overage_hours == D(0)
    response = as_csm.post(
        url("timeentry_changelist"),
        {"action": "delete_selected", "_selected_action": [second.pk, late.pk], "post": "yes"},
    )

    assert shown_messages(response)[-1] == "Successfully deleted 2 time entries."
    assert TimeEntry.objects.count() == 3
    assert sum(e.included_hours for e in TimeEntry.objects.all()) == D(63)


def test_bulk_delete_refuses_a_selection_with_a_closed_quarter_entry(premier, csm, finance, as_csm):
    closed = log(premier, csm, date(2026, 2, 2), "3")
    open_ = log(premier, csm, date(2026, 4, 2), "3")
    quarter_close(contract=premier.contract, quarter_index=1, by=finance, now=NOW)

    page = as_csm.post(
        url("timeentry_changelist"),
        {"action": "delete_selected", "_selected_action": [closed.pk, open_.pk]},
    )

    assert "Cannot delete time entries" in page.content.decode()
    assert TimeEntry.objects.count() == 2


def test_finance_reads_time_entries_and_cannot_change_them(premier, csm, as_finance):
    entry = log(premier, csm, date(2026, 4, 2), "3")

    page = as_finance.get(url("timeentry_changelist"))
    detail = as_finance.get(url("timeentry_change", entry.pk))

    assert page.status_code == 200
    content = page.content.decode()
    assert url("timeentry_overage_export") in content
    assert url("timeentry_add") not in content and url("timeentry_import") not in content
    assert not detail.context["has_change_permission"]
    assert "How the budget split this entry" in detail.content.decode()


# The overage export ------------------------------------------------------------------------


def overage_period(client, **choices):
    query = {"period_start": "2026-01-01", "period_end": "2026-06-30", "format": "csv"}
    return client.get(url("timeentry_overage_export"), query | choices)


def csv_rows(response) -> list[dict]:
    return list(csv.DictReader(StringIO(response.content.decode())))


@pytest.fixture
def overage(premier, csm):
    """Q1: 105 + 20 hours, so 12 beyond the 113; Q2: 10 hours, all included."""
    fill_first_quarter(premier, csm)
    log(premier, csm, date(2026, 3, 30), "20")
    log(premier, csm, date(2026, 4, 2), "10")


def test_the_overage_export_bills_the_hours_beyond_the_package(overage, as_finance):
    response = overage_period(as_finance, overage_only="on")

    assert response["Content-Type"] == "text/csv"
    assert 'filename="overage-2026-01-01-2026-06-30.csv"' in response["Content-Disposition"]
    (row,) = csv_rows(response)
    assert list(row) == COLUMNS
    assert {k: row[k] for k in ("customer", "contract", "package", "quarter", "quarter_end")} == {
        "customer": "Northwind",
        "contract": "NW-2026",
        "package": "Premier",
        "quarter": "1",
        "quarter_end": "2026-03-31",
    }
    assert (row["included_hours"], row["overage_hours"], row["hourly_rate"]) == (
        "113.00",
        "12.00",
        "150.00",
    )
    assert (row["amount"], row["currency"], row["quarter_closed"]) == ("1800.00", "USD", "no")


def test_without_overage_only_every_quarter_that_ended_is_listed(overage, as_csm):
    rows = csv_rows(overage_period(as_csm))
    everything_in_q1 = csv_rows(overage_period(as_csm, period_end="2026-03-31"))

    assert [(r["quarter"], r["overage_hours"], r["amount"]) for r in rows] == [
        ("1", "12.00", "1800.00"),
        ("2", "0.00", "0.00"),
    ]
    assert len(everything_in_q1) == 1


def test_the_overage_export_as_excel_keeps_numbers_and_dates(overage, as_finance):
    response = overage_period(as_finance, format="xlsx", overage_only="on")

    sheet = openpyxl.load_workbook(BytesIO(response.content)).active
    header, row = list(sheet.values)
    values = dict(zip(header, row, strict=True))
    assert list(header) == COLUMNS
    assert (values["overage_hours"], values["hourly_rate"], values["amount"]) == (12, 150, 1800)
    assert values["quarter_end"].date() == date(2026, 3, 31)
    assert values["currency"] == "USD"


def test_the_overage_export_form_refuses_a_period_ending_before_it_starts(premier, as_finance):
    page = overage_period(as_finance, period_end="2025-12-31")

    assert page.status_code == 200
    assert page.context["form"].errors == {"period_end": ["The period ends before it starts."]}


def test_the_overage_export_limits_to_the_chosen_customer(premier, overage, as_csm):
    other = OrganizationFactory(name="Globex", slug="globex")

    northwind = csv_rows(overage_period(as_csm, customer=premier.contract.organization_id))
    globex = csv_rows(overage_period(as_csm, customer=other.pk))

    assert ([row["customer"] for row in northwind], globex) == (["Northwind", "Northwind"], [])


# Expansion scopes and T&E --------------------------------------------------------------------


def scope_form(premier, **values) -> dict:
    use = ExpansionUse.objects.filter(allowed=True).first()
    data = {"subscription": premier.pk, "title": "Messaging for Wholesale", "use": use.pk}
    return data | {"hours": "20", "description": ""} | values


def test_a_csm_proposes_an_expansion_scope_the_customer_then_decides(premier, csm, as_csm):
    response = as_csm.post(url("expansionscope_add"), scope_form(premier))

    assert response.status_code == 302
    scope = ExpansionScope.objects.get()
    assert (scope.status, scope.proposed_by, scope.hours) == ("proposed", csm, D(20))
    change_page = as_csm.get(url("expansionscope_change", scope.pk))
    assert "status" in change_page.context["adminform"].readonly_fields


def test_a_scope_the_service_refuses_comes_back_on_the_form(premier, as_csm):
    response = as_csm.post(url("expansionscope_add"), scope_form(premier, hours="2.1"))

    assert response.context["adminform"].form.errors == {
        "hours": ["Scope hours in steps of 0.25 hours."]
    }
    assert not ExpansionScope.objects.exists()


def test_an_approved_scope_is_read_only(premier, csm, as_csm):
    scope = expansion_scope_propose(
        subscription=premier,
        title="Voice",
        use=ExpansionUse.objects.filter(allowed=True).first(),
        hours=D(10),
        by=csm,
        now=NOW,
    )
    ExpansionScope.objects.filter(pk=scope.pk).update(status=ExpansionScope.Status.APPROVED)

    page = as_csm.get(url("expansionscope_change", scope.pk))

    assert not page.context["has_change_permission"]


def test_a_csm_requests_travel_in_advance_and_the_request_is_then_read_only(premier, as_csm):
    form = {
        "subscription": premier.pk,
        "line_of_business": "",
        "incurred_on": "2026-12-01",
        "description": "On-site QBR",
        "amount": "1200.00",
    }
    late = as_csm.post(url("travelexpense_add"), form | {"incurred_on": "2026-11-01"})
    requested = as_csm.post(url("travelexpense_add"), form)

    assert late.context["adminform"].form.errors == {
        "incurred_on": [
            "T&E needs the customer's approval in advance; request it before the travel date."
        ]
    }
    assert requested.status_code == 302
    expense = TravelExpense.objects.get()
    assert (expense.status, expense.quarter_index, expense.amount) == ("requested", 4, D(1200))
    assert not as_csm.get(url("travelexpense_change", expense.pk)).context["has_change_permission"]


# Quarter closings, alerts, the audit trail ----------------------------------------------------


def test_finance_closes_the_quarters_that_ended_by_a_date(premier, as_finance):
    response = as_finance.post(url("quarterclosing_close"), {"through": "2026-06-30"})

    assert response.url == url("quarterclosing_changelist")
    assert shown_messages(response) == ["Closed 2 contract quarters: NW-2026 Q1, NW-2026 Q2."]
    assert list(QuarterClosing.objects.values_list("quarter_index", flat=True)) == [1, 2]
    listing = as_finance.get(url("quarterclosing_changelist")).content.decode()
    assert "Close quarters that ended by a date" in listing


def test_quarters_are_closed_only_once_they_end(premier, as_finance):
    page = as_finance.post(url("quarterclosing_close"), {"through": "2026-12-31"})

    assert page.context["form"].errors == {
        "through": ["Quarters can be closed only once they end (2026-12-31)."]
    }
    assert not QuarterClosing.objects.exists()


def test_csms_neither_close_nor_change_quarter_closings(premier, finance, as_csm):
    closing = quarter_close(contract=premier.contract, quarter_index=1, by=finance, now=NOW)

    assert as_csm.get(url("quarterclosing_close")).status_code == 403
    assert as_csm.get(url("quarterclosing_add")).status_code == 302
    detail = as_csm.get(url("quarterclosing_change", closing.pk))
    assert not detail.context["has_change_permission"]
    assert "Close quarters" not in as_csm.get(url("quarterclosing_changelist")).content.decode()


def test_consumption_alerts_are_listed_read_only(premier, as_finance):
    page = as_finance.get(url("consumptionalert_changelist"))

    assert page.status_code == 200
    assert not page.context["has_add_permission"]


@pytest.mark.parametrize("person", ["csm", "finance"])
def test_csms_and_finance_read_the_audit_trail(premier, csm, client, request, person):
    entry = log(premier, csm, date(2026, 4, 2), "3")
    client.force_login(request.getfixturevalue(person))
    record = LogEntry.objects.get_for_object(entry).get()

    listing = client.get(reverse("admin:auditlog_logentry_changelist"))
    detail = client.get(reverse("admin:auditlog_logentry_change", args=[record.pk]))

    assert listing.status_code == 200 and record in listing.context["cl"].result_list
    assert detail.status_code == 200 and not detail.context["has_change_permission"]
    assert not listing.context["has_add_permission"]


def test_yesterday_is_offered_as_the_closing_day(premier, as_finance):
    page = as_finance.get(url("quarterclosing_close"))

    assert page.context["form"]["through"].value() == NOW.date() - timedelta(days=1)
