"""SLA alert sweep benchmark: warnings, breach notices and escalations over 200,000 open tickets.

Usage (PostgreSQL; builds the data set with bench/tickets_dataset.py unless it is there):
    .venv/bin/python bench/sla_sweep.py
    .venv/bin/python bench/sla_sweep.py --tickets 20000 --customers 100 --subscriptions 250
    .venv/bin/python bench/sla_sweep.py --statements   # also each statement of the 1,000 sweep
(DATABASE_URL defaults to postgres://postgres@127.0.0.1:5432/portal_bench_tickets.)

Prints one table: `sla_alerts_sweep` when nothing is due, when 100 and when 1,000 notices are
due, and the rerun straight after each (which must send nothing); the median of several runs,
its time and the statements it sends; then EXPLAIN (ANALYZE, BUFFERS) of the idle sweep's reads.
Emails are built in full and handed to Django's locmem backend, which keeps them in memory.

The data stands right after the sweep of AS_OF (2026-11-23 12:00 UTC): nothing is owed. N
notices are made due by sweeping later, at the moment the N-th next notice after AS_OF falls
due, as if the sweep had been down since AS_OF: the N rows (targets and escalations of many
customers) owe exactly one notice each. The rows a sweep can touch are saved in side tables
before the first sweep and put back after each one, so reruns are stable.
"""

import argparse
import os
import statistics
import time
from datetime import timedelta

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/portal_bench_tickets")
# Emails are built and kept in memory, never delivered.
os.environ.setdefault("EMAIL_BACKEND", "django.core.mail.backends.locmem.EmailBackend")

import _django  # noqa: E402  sets Django up (before the portal's imports)
import tickets_dataset  # noqa: E402
from django.core import mail  # noqa: E402
from django.db import connection, transaction  # noqa: E402

from tickets.models import Ticket, TicketEscalation, TicketTarget  # noqa: E402
from tickets.services.sla_alerts import sla_alerts_sweep  # noqa: E402

AS_OF = tickets_dataset.AS_OF
SIZES = (100, 1000)
RUNS = 5
IDLE_TARGET = 2.0
SAVED = {
    TicketTarget: (
        "bench_target_state",
        ("warned_at", "breach_notified_at", "breached", "seconds_late", "next_alert_at"),
    ),
    TicketEscalation: ("bench_escalation_state", ("fired_at", "next_alert_at")),
    Ticket: ("bench_ticket_state", ("support_level",)),
}


# --- saving and putting back the rows a sweep touches -------------------------------------------


def _saved_exist() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s)", [SAVED[Ticket][0]])
        return cursor.fetchone()[0] is not None


def state_save(until) -> None:
    """Keep the rows due by `until` (and the tickets they raise) in side tables."""
    escalations = TicketEscalation._meta.db_table
    with transaction.atomic(), connection.cursor() as cursor:
        for model, (side, columns) in SAVED.items():
            cursor.execute(f"DROP TABLE IF EXISTS {side}")
            table = model._meta.db_table
            if model is Ticket:
                where = f"id IN (SELECT ticket_id FROM {escalations} WHERE next_alert_at <= %s)"
            else:
                where = "next_alert_at <= %s"
            cursor.execute(
                f"CREATE TABLE {side} AS SELECT id, {', '.join(columns)} FROM {table} "
                f"WHERE {where}",
                [until],
            )
            cursor.execute(f"ALTER TABLE {side} ADD PRIMARY KEY (id)")


def state_restore() -> int:
    """Put the saved rows back; returns how many changed."""
    changed = 0
    with transaction.atomic(), connection.cursor() as cursor:
        for model, (side, columns) in SAVED.items():
            table = model._meta.db_table
            assignments = ", ".join(f"{name} = saved.{name}" for name in columns)
            mine = ", ".join(f"t.{name}" for name in columns)
            theirs = ", ".join(f"saved.{name}" for name in columns)
            cursor.execute(
                f"UPDATE {table} AS t SET {assignments} FROM {side} AS saved "
                f"WHERE t.id = saved.id AND ({mine}, NULL) IS DISTINCT FROM ({theirs}, NULL)"
            )
            changed += cursor.rowcount
    return changed


def state_drop() -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {', '.join(side for side, _ in SAVED.values())}")


def owed_by(now) -> int:
    return (
        TicketTarget.objects.filter(next_alert_at__lte=now).count()
        + TicketEscalation.objects.filter(next_alert_at__lte=now).count()
    )


def moment_of(count: int):
    """Just after the `count`-th next notice after AS_OF falls due (a target is breached only
    once its due time has passed: at the due time itself it is still on time)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT next_alert_at FROM (SELECT next_alert_at FROM {TicketTarget._meta.db_table} "
            f"WHERE next_alert_at IS NOT NULL UNION ALL SELECT next_alert_at FROM "
            f"{TicketEscalation._meta.db_table} WHERE next_alert_at IS NOT NULL) AS owed "
            "ORDER BY next_alert_at OFFSET %s LIMIT 1",
            [count - 1],
        )
        return cursor.fetchone()[0] + timedelta(microseconds=1)


# --- measuring ----------------------------------------------------------------------------------


class Statements:
    """Every statement sent while active, with its parameters and time."""

    def __init__(self):
        self.log: list[tuple[str, object, float]] = []

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.log.append((sql, params, time.perf_counter() - started))


def timed(now) -> dict:
    mail.outbox = []
    statements = Statements()
    with connection.execute_wrapper(statements):
        started = time.perf_counter()
        result = sla_alerts_sweep(now=now)
        seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "queries": len(statements.log),
        "statements": statements.log,
        "result": result,
        "recipients": sum(len(message.to) for message in mail.outbox),
        "customers": len({message.subject.split("(")[1].split(",")[0] for message in mail.outbox}),
    }


def measure(now) -> dict:
    """One sweep, committed as the Celery task commits it, the rerun straight after; then the
    rows are put back."""
    outcome = timed(now)
    outcome["rerun"] = timed(now)
    outcome["left_due"] = owed_by(now)
    state_restore()
    return outcome


def explain_idle() -> None:
    """EXPLAIN ANALYZE of the idle sweep's reads: the partial indexes answer them."""
    outcome = timed(AS_OF)
    with transaction.atomic(), connection.cursor() as cursor:
        for sql, params, _seconds in outcome["statements"]:
            if not sql.lstrip().upper().startswith("SELECT"):
                continue
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
            print(f"\n{sql[:400]}{' ...' if len(sql) > 400 else ''}")
            for (line,) in cursor.fetchall():
                print(f"    {line}")
        transaction.set_rollback(True)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.1f} ms"


def spread(values: list[float]) -> str:
    return f"{ms(statistics.median(values))} ({ms(min(values))}-{ms(max(values))})"


def count_range(values: list[int]) -> str:
    low, high = min(values), max(values)
    return f"{low}" if low == high else f"{low}-{high}"


def statement_summary(statements) -> list[str]:
    lines = []
    for sql, _params, seconds in statements:
        words = sql.split()
        verb = words[0]
        table = next(
            (words[n + 1] for n, word in enumerate(words[:-1]) if word in ("FROM", "INTO")), ""
        )
        if verb == "UPDATE":
            table = words[1]
        lines.append(f"{ms(seconds):>10}  {verb} {table}  ({len(sql):,} characters)")
    return lines


def _table(rows: list[tuple[str, ...]]) -> None:
    header = ("measure", "time", "queries", "target")
    widths = [max(len(row[n]) for row in [header, *rows]) for n in range(4)]
    print(" | ".join(text.ljust(width) for text, width in zip(header, widths, strict=True)))
    print("-|-".join("-" * width for width in widths))
    for row in rows:
        print(" | ".join(text.ljust(width) for text, width in zip(row, widths, strict=True)))


def main(options: argparse.Namespace) -> None:
    if _django.database_exists() and _saved_exist():
        state_restore()  # a run stopped half-way: put its data back first
    tickets_dataset.ensure(options.customers, options.subscriptions, options.tickets, reuse=True)
    moments = {size: moment_of(size) for size in SIZES}
    state_save(max(moments.values()))
    assert owed_by(AS_OF) == 0, "the data set owes notices at AS_OF"

    results: dict[object, list[dict]] = {"idle": [], **{size: [] for size in SIZES}}
    measure(AS_OF)  # warm-up: imports, policies parsed, connection
    measure(moments[SIZES[0]])
    for _ in range(RUNS):
        results["idle"].append(measure(AS_OF))
        for size in SIZES:
            results[size].append(measure(moments[size]))
    differs = state_restore()

    def notices(run) -> int:
        result = run["result"]
        return result.warnings + result.breaches + result.escalations

    idle_seconds = [run["seconds"] for run in results["idle"]]
    rows = [
        (
            f"nothing due ({AS_OF:%H:%M} UTC)",
            spread(idle_seconds),
            count_range([run["queries"] for run in results["idle"]]),
            f"under 2 s: {'met' if max(idle_seconds) < IDLE_TARGET else 'MISSED'}",
        )
    ]
    for size in SIZES:
        runs = results[size]
        late = int((moments[size] - AS_OF).total_seconds())
        rows.append(
            (
                f"{size:,} due (swept {late // 60}:{late % 60:02d} min after the last sweep)",
                spread([run["seconds"] for run in runs]),
                count_range([run["queries"] for run in runs]),
                f"sent {count_range([notices(run) for run in runs])}",
            )
        )
    reruns = [run["rerun"] for size in SIZES for run in results[size]]
    sent_again = sum(notices(run) for run in reruns)
    rows.append(
        (
            "rerun straight after a sweep of 100 or 1,000",
            spread([run["seconds"] for run in reruns]),
            count_range([run["queries"] for run in reruns]),
            f"sends nothing: {'yes' if sent_again == 0 else f'NO ({sent_again})'}",
        )
    )

    tickets = Ticket.objects.count()
    targets = TicketTarget.objects.count()
    escalations = TicketEscalation.objects.count()
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(
        f"\n{tickets:,} open tickets, {targets:,} targets, {escalations:,} escalation rules; "
        f"{_django.server_description()}; median of {RUNS} runs (lowest-highest); "
        f"load average at the end {load}\n"
    )
    _table(rows)
    print()
    for size in SIZES:
        run = results[size][0]
        result = run["result"]
        print(
            f"{size:,} due at {moments[size]:%H:%M:%S} UTC: {result.warnings} warnings, "
            f"{result.breaches} breach notices, {result.escalations} escalations; "
            f"{result.emails} emails to {run['recipients']:,} addresses, {run['customers']} "
            f"customers; {run['left_due']} left due after the sweep"
        )
    print(f"rows differing from the saved data after the resets: {differs}")

    if options.statements:
        print("\nStatements of the first 1,000 sweep:")
        for line in statement_summary(results[1000][0]["statements"]):
            print(line)
        print("\nStatements of the first idle sweep:")
        for line in statement_summary(results["idle"][0]["statements"]):
            print(line)
    explain_idle()
    state_drop()


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=500)
    parser.add_argument("--subscriptions", type=int, default=1250)
    parser.add_argument("--tickets", type=int, default=200_000)
    parser.add_argument("--statements", action="store_true")
    return parser.parse_args()


if __name__ == "__main__":
    main(arguments())
