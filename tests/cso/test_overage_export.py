"""The finance export's figures, row by row."""

from datetime import date, timedelta
from decimal import Decimal

from cso.models import Program
from cso.selectors.overage import COLUMNS, OverageFilter, overage_export_sql, overage_rows
from cso.services.closings import quarter_close, quarters_close_through
from cso.services.contracts import overage_rate_set
from cso.services.expenses import travel_expense_decide, travel_expense_request
from cso.services.time_entries import EntryFields, time_entry_log
from tests.conftest import NOW

D = Decimal
YEAR_2026 = OverageFilter(date(2026, 1, 1), date(2026, 12, 31))


def log(subscription, csm, day, hours, lob=None, **kwargs):
    return time_entry_log(
        subscription=subscription,
        fields=EntryFields(
            worked_on=day,
            hours=hours,
            program=Program.objects.get(code="operational_consulting"),
            line_of_business=lob,
            **kwargs,
        ),
        logged_by=csm,
        now=NOW,
    )


def fill(subscription, csm, first_day, total):
    day = first_day
    while total > 0:
        log(subscription, csm, day, str(min(total, 20)))
        day, total = day + timedelta(days=1), total - 20


def test_a_quarter_over_its_hours_bills_the_overage_at_the_rate(premier, csm, finance):
    fill(premier, csm, date(2026, 1, 5), 120)  # 7 h over Premier's 113
    quarter_close(contract=premier.contract, quarter_index=1, by=finance, now=NOW)

    [row] = list(overage_rows(YEAR_2026))

    assert list(row) == COLUMNS
    assert row == {
        "customer": "Northwind",
        "contract": "NW-2026",
        "package": "Premier",
        "line_of_business": "",
        "quarter": 1,
        "quarter_start": date(2026, 1, 1),
        "quarter_end": date(2026, 3, 31),
        "quarter_closed": "yes",
        "included_hours": D("113.00"),
        "overage_hours": D("7.00"),
        "additional_cost_hours": D("0.00"),
        "hourly_rate": D("150.00"),
        "currency": "USD",
        "amount": D("1050.00"),
        "travel_expenses": D("0.00"),
    }


def test_rows_split_by_line_of_business_and_by_rate_and_carry_approved_t_and_e(
    premier, csm, customer_admin
):
    retail = premier.lines_of_business.get(name="Retail")
    overage_rate_set(
        contract=premier.contract, hourly_rate="200.00", effective_from=date(2026, 5, 1)
    )
    fill(premier, csm, date(2026, 4, 1), 113)
    log(premier, csm, date(2026, 4, 20), "2.25", lob=retail)  # over, at 150
    log(premier, csm, date(2026, 5, 4), "1.5")  # over, at 200
    expense = travel_expense_request(
        subscription=premier,
        incurred_on=date(2026, 12, 1),
        description="Onsite",
        amount="999.99",
        by=csm,
        now=NOW,
    )
    travel_expense_decide(expense=expense, approve=True, by=customer_admin, now=NOW)

    rows = [
        (
            r["line_of_business"],
            r["quarter"],
            r["overage_hours"],
            r["hourly_rate"],
            r["amount"],
            r["travel_expenses"],
        )
        for r in overage_rows(YEAR_2026)
    ]

    assert rows == [
        ("", 2, D("0.00"), D("150.00"), D("0.00"), D("0.00")),
        ("", 2, D("1.50"), D("200.00"), D("300.00"), D("0.00")),
        ("", 4, D("0.00"), D("200.00"), D("0.00"), D("999.99")),
        ("Retail", 2, D("2.25"), D("150.00"), D("337.50"), D("0.00")),
    ]


def test_a_credit_is_billed_at_the_rate_of_the_entry_it_corrects(premier, csm, finance):
    fill(premier, csm, date(2026, 1, 5), 113)
    original = log(premier, csm, date(2026, 3, 30), "4")
    quarter_close(contract=premier.contract, quarter_index=1, by=finance, now=NOW)
    overage_rate_set(
        contract=premier.contract, hourly_rate="300.00", effective_from=date(2026, 4, 1)
    )
    log(premier, csm, date(2026, 4, 2), "-1.5", adjusts=original)

    rows = {(r["quarter"], r["hourly_rate"]): r["amount"] for r in overage_rows(YEAR_2026)}

    assert rows == {(1, D("150.00")): D("600.00"), (2, D("150.00")): D("-225.00")}


def test_filters_keep_to_the_period_the_customers_and_the_overage(premier, csm):
    fill(premier, csm, date(2026, 1, 5), 40)
    fill(premier, csm, date(2026, 4, 6), 120)

    def quarters(criteria):
        return [row["quarter"] for row in overage_rows(criteria)]

    assert quarters(YEAR_2026) == [1, 2]
    assert quarters(OverageFilter(date(2026, 4, 1), date(2026, 6, 30))) == [2]
    assert quarters(OverageFilter(date(2026, 1, 1), date(2026, 12, 31), overage_only=True)) == [2]
    assert quarters(OverageFilter(date(2026, 1, 1), date(2026, 12, 31), organization_ids=[])) == []
    organization_id = premier.contract.organization_id
    assert quarters(
        OverageFilter(date(2026, 1, 1), date(2026, 12, 31), organization_ids=[organization_id])
    ) == [1, 2]


def test_the_statement_for_copy_computes_the_same_amount(premier, csm):
    from django.db import connection

    fill(premier, csm, date(2026, 1, 5), 120)
    sql, params = overage_export_sql(YEAR_2026, amount_in_sql=True)

    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        [raw] = cursor.fetchall()

    assert raw[-1] == D("1050.00") == next(overage_rows(YEAR_2026))["amount"]


def test_a_rate_cannot_change_what_a_closed_quarter_billed(premier, finance):
    import pytest
    from django.core.exceptions import ValidationError

    quarters_close_through(through=date(2026, 6, 30), by=finance, now=NOW)

    with pytest.raises(ValidationError) as excinfo:
        overage_rate_set(
            contract=premier.contract, hourly_rate="175.00", effective_from=date(2026, 6, 1)
        )

    assert excinfo.value.message_dict == {
        "effective_from": [
            "Quarter 2 (to 2026-06-30) is closed and billed; a new rate can take effect from "
            "2026-07-01."
        ]
    }


def test_extra_hours_of_a_correction_are_billed_at_the_rate_of_their_day(premier, csm, finance):
    fill(premier, csm, date(2026, 1, 5), 113)
    original = log(premier, csm, date(2026, 3, 30), "1")
    quarter_close(contract=premier.contract, quarter_index=1, by=finance, now=NOW)
    overage_rate_set(
        contract=premier.contract, hourly_rate="300.00", effective_from=date(2026, 4, 1)
    )
    fill(premier, csm, date(2026, 4, 6), 113)
    log(premier, csm, date(2026, 6, 2), "2", adjusts=original)

    rows = {(r["quarter"], r["hourly_rate"]): r["amount"] for r in overage_rows(YEAR_2026)}

    assert rows == {(1, D("150.00")): D("150.00"), (2, D("300.00")): D("600.00")}
