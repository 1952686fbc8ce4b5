"""The finance export: billable hours per customer, contract, package, line of business and
contract quarter, with the rate, the amount and approved T&E.

One SQL statement does the grouping, so the database does the work and the rows stream from a
server-side cursor in constant memory. The statement is portable (PostgreSQL and SQLite), and
`overage_export_sql` hands the same text to PostgreSQL's COPY for the benchmark.

Each hour is billed at the rate in force on the day it was worked (hours given back at that of
the entry they correct; T&E on the day of travel);
a quarter whose rate changed part-way gives one row per rate. Amount = (overage + additional
cost hours) x rate, rounded half up to the cent. Rows are those of contract quarters that end
within the chosen period.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from django.db import connection

COLUMNS = [
    "customer",
    "contract",
    "package",
    "line_of_business",
    "quarter",
    "quarter_start",
    "quarter_end",
    "quarter_closed",
    "included_hours",
    "overage_hours",
    "additional_cost_hours",
    "hourly_rate",
    "currency",
    "amount",
    "travel_expenses",
]

CENT = Decimal("0.01")


@dataclass(frozen=True)
class OverageFilter:
    period_start: date
    period_end: date
    organization_ids: list[int] | None = None  # None: every customer
    overage_only: bool = False


# Hours given back are credited at the rate of the day the corrected entry was worked.
_BILLING_DAY = (
    "CASE WHEN e.adjusts_id IS NULL OR e.hours > 0 THEN e.worked_on "
    "ELSE (SELECT a.worked_on FROM cso_timeentry a WHERE a.id = e.adjusts_id) END"
)


# Each agreed rate with the day the next one takes over, so a day finds its rate by a join
# rather than by a lookup per entry.
_RATE_PERIODS = (
    "(SELECT contract_id, hourly_rate, effective_from, "
    "LEAD(effective_from) OVER (PARTITION BY contract_id ORDER BY effective_from) AS next_from "
    "FROM cso_overagerate)"
)


def _rate_join(day: str) -> str:
    return (
        f"LEFT JOIN {_RATE_PERIODS} r ON r.contract_id = s.contract_id "
        f"AND r.effective_from <= {day} AND (r.next_from IS NULL OR {day} < r.next_from) "
    )


def overage_export_sql(criteria: OverageFilter, amount_in_sql: bool = False) -> tuple[str, list]:
    """The statement and its parameters; `amount_in_sql` adds the amount column for COPY."""
    params: list = []

    def scope(alias: str) -> str:
        params.extend([criteria.period_start, criteria.period_end])
        clause = f"{alias}.quarter_end BETWEEN %s AND %s"
        if criteria.organization_ids is not None:
            marks = ", ".join(["%s"] * len(criteria.organization_ids)) or "NULL"
            params.extend(criteria.organization_ids)
            clause += f" AND c.organization_id IN ({marks})"
        return clause

    entries = (
        "SELECT e.subscription_id, e.line_of_business_id AS lob_id, e.quarter_index, "
        "e.quarter_start, e.quarter_end, r.hourly_rate AS rate, "
        "e.included_hours AS included, e.overage_hours AS overage, "
        "e.additional_cost_hours AS additional, 0 AS travel "
        "FROM cso_timeentry e "
        "JOIN cso_packagesubscription s ON s.id = e.subscription_id "
        "JOIN cso_contract c ON c.id = s.contract_id "
        + _rate_join(_BILLING_DAY)
        + "WHERE "
        + scope("e")
    )
    expenses = (
        "SELECT t.subscription_id, t.line_of_business_id, t.quarter_index, t.quarter_start, "
        "t.quarter_end, r.hourly_rate, 0, 0, 0, t.amount "
        "FROM cso_travelexpense t "
        "JOIN cso_packagesubscription s ON s.id = t.subscription_id "
        "JOIN cso_contract c ON c.id = s.contract_id "
        + _rate_join("t.incurred_on")
        + "WHERE t.status = 'approved' AND "
        + scope("t")
    )
    having = (
        " HAVING ROUND(SUM(x.overage) + SUM(x.additional), 2) <> 0" if criteria.overage_only else ""
    )
    amount = (
        ", ROUND((g.overage + g.additional) * COALESCE(g.rate, 0), 2) AS amount"
        if amount_in_sql
        else ""
    )
    sql = (
        "SELECT o.name, c.reference, p.name, COALESCE(l.name, ''), g.quarter_index, "
        "g.quarter_start, g.quarter_end, "
        "CASE WHEN q.id IS NULL THEN 'no' ELSE 'yes' END, "
        "g.included, g.overage, g.additional, g.rate, c.currency, g.travel" + amount + " "
        "FROM ("
        "SELECT x.subscription_id, x.lob_id, x.quarter_index, x.quarter_start, x.quarter_end, "
        "x.rate, SUM(x.included) AS included, SUM(x.overage) AS overage, "
        "SUM(x.additional) AS additional, SUM(x.travel) AS travel "
        "FROM (" + entries + " UNION ALL " + expenses + ") x "
        "GROUP BY x.subscription_id, x.lob_id, x.quarter_index, x.quarter_start, "
        "x.quarter_end, x.rate" + having + ") g "
        "JOIN cso_packagesubscription s ON s.id = g.subscription_id "
        "JOIN cso_contract c ON c.id = s.contract_id "
        "JOIN accounts_organization o ON o.id = c.organization_id "
        "JOIN cso_package p ON p.id = s.package_id "
        "LEFT JOIN accounts_lineofbusiness l ON l.id = g.lob_id "
        "LEFT JOIN cso_quarterclosing q "
        "ON q.contract_id = c.id AND q.quarter_index = g.quarter_index "
        "ORDER BY o.name, c.reference, p.rank, s.id, COALESCE(l.name, ''), g.quarter_index, "
        "g.rate"
    )
    return sql, params


def _decimal(value) -> Decimal:
    if value is None:
        return Decimal("0")
    if isinstance(value, Decimal):
        return value
    return Decimal(str(value))  # SQLite sums come back as numbers, never through float maths


def _row(raw: tuple) -> dict:
    (customer, contract, package, lob, quarter, start, end, closed) = raw[:8]
    included, overage, additional, rate, currency, travel = raw[8:14]
    rate = None if rate is None else _decimal(rate).quantize(CENT)
    overage, additional = _decimal(overage).quantize(CENT), _decimal(additional).quantize(CENT)
    amount = ((overage + additional) * (rate or 0)).quantize(CENT, rounding=ROUND_HALF_UP)
    return {
        "customer": customer,
        "contract": contract,
        "package": package,
        "line_of_business": lob,
        "quarter": quarter,
        "quarter_start": start if isinstance(start, date) else date.fromisoformat(start),
        "quarter_end": end if isinstance(end, date) else date.fromisoformat(end),
        "quarter_closed": closed,
        "included_hours": _decimal(included).quantize(CENT),
        "overage_hours": overage,
        "additional_cost_hours": additional,
        "hourly_rate": rate,
        "currency": currency,
        "amount": amount,
        "travel_expenses": _decimal(travel).quantize(CENT),
    }


def overage_rows(criteria: OverageFilter, chunk_size: int = 2000) -> Iterator[dict]:
    """Stream the export's rows from a server-side cursor (PostgreSQL) in constant memory."""
    sql, params = overage_export_sql(criteria)
    connection.ensure_connection()
    with connection.chunked_cursor() as cursor:
        cursor.execute(sql, params)
        while batch := cursor.fetchmany(chunk_size):
            for raw in batch:
                yield _row(raw)
