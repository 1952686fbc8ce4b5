"""Review reminder benchmark: one sweep over about 100,000 scheduled occurrences.

Usage (PostgreSQL; builds the data set with bench/schedules_dataset.py unless it is there):
    .venv/bin/python bench/schedules.py
    .venv/bin/python bench/schedules.py --customers 36 --subscriptions 90   # a quick run
    .venv/bin/python bench/schedules.py --explain      # also EXPLAIN ANALYZE the sweep's reads
    .venv/bin/python bench/schedules.py --statements   # also each statement of the 1,000 sweep
(DATABASE_URL defaults to postgres://postgres@127.0.0.1:5432/portal_bench_schedules.)

Prints one table from one run: `review_reminders_send` when nothing is due, when 100 and when
1,000 reminders are due, its time and the statements it sends. Emails are built in full (the
iCalendar invite attached) and handed to Django's locmem backend, which keeps them in memory:
nothing goes over the network.

The data stands right after the sweep of 2026-11-23: nothing is owed. To make N reminders due,
N scheduled reviews of as many customers as possible are put back as they would be had the
sweep been down since a recent day (their next reminder on that past day or today, the
reminders of the outage not recorded), each owing exactly one reminder today. The data is saved
in two side tables before the first sweep and put back after each one, so reruns are stable.
"""

import argparse
import os
import random
import statistics
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/portal_bench_schedules")
# Emails are built and kept in memory, never delivered.
os.environ.setdefault("EMAIL_BACKEND", "django.core.mail.backends.locmem.EmailBackend")

import _django  # noqa: E402  sets Django up (before the portal's imports)
import schedules_dataset  # noqa: E402
from django.core import mail  # noqa: E402
from django.db import connection, transaction  # noqa: E402

from cso.models import Occurrence, OccurrenceReminder  # noqa: E402
from cso.reminders import reminder_next, reminder_owed, reminder_plan  # noqa: E402

AS_OF = schedules_dataset.AS_OF
# 09:45 UTC: 2026-11-23 is "today" everywhere from UTC-10 to UTC+14, so a sweep that reads up to
# the latest today on earth reads nothing that is not due. From 10:00 UTC on, the day after is
# today at UTC+14, and a sweep also reads the reminders owed tomorrow: NOON shows that.
NOW = datetime(2026, 11, 23, 9, 45, tzinfo=UTC)
NOON = datetime(2026, 11, 23, 12, tzinfo=UTC)
SIZES = (100, 1000)
RUNS = 3
TARGETS = {"nothing": 2.0, 1000: 10.0}
STATE = "bench_occurrence_state"
SENT = "bench_reminder_state"
STATE_COLUMNS = (
    "status",
    "due_on",
    "delivered_on",
    "next_reminder_on",
    "next_reminder_kind",
    "updated_by_id",
    "notes",
    "skip_reason",
)


def sweep_function():
    """The sweep, once it exists; None until then."""
    try:
        from cso.services.review_reminders import review_reminders_send
    except ImportError:
        return None
    return review_reminders_send


# --- saving and putting back the data ---------------------------------------------------------


def _tables() -> tuple[str, str]:
    return Occurrence._meta.db_table, OccurrenceReminder._meta.db_table


def _side_tables_exist() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s), to_regclass(%s)", [STATE, SENT])
        return all(cursor.fetchone())


def state_save() -> None:
    """Keep the occurrences' state and the sent reminders in side tables."""
    occurrences, reminders = _tables()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {STATE}, {SENT}")
        cursor.execute(
            f"CREATE TABLE {STATE} AS SELECT id, {', '.join(STATE_COLUMNS)} FROM {occurrences}"
        )
        cursor.execute(f"ALTER TABLE {STATE} ADD PRIMARY KEY (id)")
        cursor.execute(f"CREATE TABLE {SENT} AS SELECT * FROM {reminders}")
        cursor.execute(f"ALTER TABLE {SENT} ADD PRIMARY KEY (id)")


def state_restore(log_after: int | None = None) -> int:
    """Put the saved state back; returns how many rows it changed. Audit log entries written
    after `log_after` (if the sweep writes any) are removed too."""
    occurrences, reminders = _tables()
    columns = ", ".join(STATE_COLUMNS)
    assignments = ", ".join(f"{name} = saved.{name}" for name in STATE_COLUMNS)
    changed = 0
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {occurrences} AS o SET {assignments} FROM {STATE} AS saved "
            f"WHERE o.id = saved.id AND (o.{columns.replace(', ', ', o.')}) "
            f"IS DISTINCT FROM (saved.{columns.replace(', ', ', saved.')})"
        )
        changed += cursor.rowcount
        cursor.execute(
            f"DELETE FROM {reminders} AS r WHERE NOT EXISTS "
            f"(SELECT 1 FROM {SENT} AS saved WHERE saved.id = r.id)"
        )
        changed += cursor.rowcount
        cursor.execute(
            f"INSERT INTO {reminders} SELECT * FROM {SENT} AS saved WHERE NOT EXISTS "
            f"(SELECT 1 FROM {reminders} AS r WHERE r.id = saved.id)"
        )
        changed += cursor.rowcount
        if log_after is not None:
            from auditlog.models import LogEntry

            changed += LogEntry.objects.filter(pk__gt=log_after).delete()[0]
    return changed


def state_drop() -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {STATE}, {SENT}")


def state_differs() -> int:
    """Rows that differ from the saved state (0 after a restore)."""
    occurrences, reminders = _tables()
    columns = ", ".join(STATE_COLUMNS)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT (SELECT count(*) FROM (SELECT id, {columns} FROM {occurrences} "
            f"EXCEPT SELECT id, {columns} FROM {STATE}) AS changed) + "
            f"(SELECT count(*) FROM (SELECT * FROM {reminders} EXCEPT SELECT * FROM {SENT}) "
            f"AS added) + "
            f"(SELECT count(*) FROM (SELECT * FROM {SENT} EXCEPT SELECT * FROM {reminders}) "
            f"AS removed)"
        )
        return cursor.fetchone()[0]


def _last_log_entry() -> int:
    from auditlog.models import LogEntry

    return LogEntry.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


# --- making reminders due ---------------------------------------------------------------------


def _owing(now: datetime) -> list[dict]:
    """Every scheduled review that owes a reminder today had the sweep been down since before
    that reminder's day: the reminder, its day and the plan."""
    candidates = (
        Occurrence.objects.filter(
            status=Occurrence.Status.SCHEDULED,
            is_review=True,
            due_on__gte=AS_OF - timedelta(days=60),
            due_on__lte=AS_OF + timedelta(days=31),
        )
        .select_related("subscription__contract__organization")
        .order_by("pk")
    )
    owing = []
    for occurrence in candidates:
        organization = occurrence.subscription.contract.organization
        today = organization.today(now)
        plan = reminder_plan(
            occurrence.due_on,
            organization.review_reminder_days,
            organization.review_reminder_last_days,
        )
        owed, _next = reminder_owed(plan, today)
        if owed is None:
            continue
        owing.append(
            {
                "pk": occurrence.pk,
                "customer": organization.pk,
                "plan": plan,
                "kind": owed,
                "day": dict(plan)[owed],
                "today": today,
            }
        )
    return owing


def due_choose(count: int, now: datetime) -> tuple[list[dict], date] | None:
    """`count` reviews that owe a reminder, over as many customers as the shortest outage
    gives: the outage starts the day after the returned day. None if the data is too small."""
    owing = sorted(_owing(now), key=lambda row: row["day"], reverse=True)
    if len(owing) < count:
        return None
    since = owing[count - 1]["day"] - timedelta(days=1)
    pool = [row for row in owing if row["day"] > since]
    by_customer: dict[int, list[dict]] = {}
    for row in pool:
        by_customer.setdefault(row["customer"], []).append(row)
    rng = random.Random(schedules_dataset.SEED + count)
    queues = list(by_customer.values())
    rng.shuffle(queues)
    chosen = []
    while len(chosen) < count:  # one per customer in turn: spread over many customers
        for queue in queues:
            if queue and len(chosen) < count:
                chosen.append(queue.pop(rng.randrange(len(queue))))
    return chosen, since


def due_apply(chosen: list[dict], since: date) -> None:
    """Put the chosen reviews back as the sweep left them on `since`: next reminder on the
    first day of their plan after it, the reminders of the days after it not sent."""
    occurrences, reminders = _tables()
    rows, unsent = [], []
    for row in chosen:
        kind, day = reminder_next(row["plan"], since)
        rows.append((row["pk"], day, str(kind)))
        unsent += [(row["pk"], str(k)) for k, d in row["plan"] if d > since]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {occurrences} AS o SET next_reminder_on = due.day, "
            "next_reminder_kind = due.kind FROM unnest(%s::bigint[], %s::date[], %s::text[]) "
            "AS due(id, day, kind) WHERE o.id = due.id",
            [[r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows]],
        )
        assert cursor.rowcount == len(rows), cursor.rowcount
        cursor.execute(
            f"DELETE FROM {reminders} AS r USING unnest(%s::bigint[], %s::text[]) "
            "AS unsent(id, kind) WHERE r.occurrence_id = unsent.id AND r.kind = unsent.kind",
            [[u[0] for u in unsent], [u[1] for u in unsent]],
        )


# --- measuring --------------------------------------------------------------------------------


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


def measure(sweep, now: datetime) -> dict:
    """One sweep, committed as the Celery task commits it; then the data is put back."""
    log_after = _last_log_entry()
    mail.outbox = []
    statements = Statements()
    with connection.execute_wrapper(statements):
        started = time.perf_counter()
        sent = sweep(now=now)
        seconds = time.perf_counter() - started
    outcome = {
        "seconds": seconds,
        "queries": len(statements.log),
        "statements": statements.log,
        "sent": sent,
        "recorded": OccurrenceReminder.objects.filter(sent_at=now).count(),
        "kinds": Counter(
            OccurrenceReminder.objects.filter(sent_at=now).values_list("kind", flat=True)
        ),
        "emails": len(mail.outbox),
        "recipients": sum(len(message.to) for message in mail.outbox),
        "invites": sum(len(message.attachments) for message in mail.outbox),
        "left_due": Occurrence.objects.filter(
            status=Occurrence.Status.SCHEDULED, is_review=True, next_reminder_on__lte=AS_OF
        ).count(),
    }
    rerun = Statements()
    with connection.execute_wrapper(rerun):
        started = time.perf_counter()
        outcome["rerun_sent"] = sweep(now=now)
        outcome["rerun_seconds"] = time.perf_counter() - started
    outcome["rerun_queries"] = len(rerun.log)
    state_restore(log_after)
    return outcome


def placeholder(cases: dict) -> None:
    """Until the sweep exists: what its indexed read would find in each case."""
    print("\nsweep not available yet (cso.services.review_reminders.review_reminders_send)\n")
    for label, (chosen, since) in cases.items():
        if chosen:
            due_apply(chosen, since)
        started = time.perf_counter()
        found = Occurrence.objects.filter(
            status=Occurrence.Status.SCHEDULED, is_review=True, next_reminder_on__lte=AS_OF
        ).count()
        seconds = time.perf_counter() - started
        state_restore()
        print(f"{label}: the indexed read finds {found:,} reviews due ({ms(seconds)})")
    print(f"rows differing from the saved data after the resets: {state_differs()}")


def explain(sweep, chosen: list[dict], since: date) -> None:
    """EXPLAIN ANALYZE of the reads of a 1,000-reminder sweep, on the same due rows."""
    due_apply(chosen, since)
    outcome = measure(sweep, NOW)
    due_apply(chosen, since)
    with transaction.atomic(), connection.cursor() as cursor:
        for sql, params, _seconds in outcome["statements"]:
            if not sql.lstrip().upper().startswith("SELECT"):
                continue
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
            print(f"\n{sql[:300]}{' ...' if len(sql) > 300 else ''}")
            for (line,) in cursor.fetchall():
                print(f"    {line}")
        transaction.set_rollback(True)
    state_restore()


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
        verb = " ".join(words[:2]) if words[0] in ("SAVEPOINT", "RELEASE") else words[0]
        table = next(
            (words[n + 1] for n, word in enumerate(words[:-1]) if word in ("FROM", "INTO")), ""
        )
        if words[0] == "UPDATE":
            table = words[1]
        lines.append(f"{ms(seconds):>10}  {verb} {table}  ({len(sql):,} characters)")
    return lines


def main(options: argparse.Namespace) -> None:
    if _django.database_exists() and _side_tables_exist():
        state_restore()  # a run stopped half-way: put its data back first
    schedules_dataset.ensure(options.customers, options.subscriptions, reuse=True)
    state_save()
    total = Occurrence.objects.count()
    reviews = Occurrence.objects.filter(is_review=True).count()
    tomorrow = Occurrence.objects.filter(
        status=Occurrence.Status.SCHEDULED,
        is_review=True,
        next_reminder_on=AS_OF + timedelta(days=1),
    ).count()
    cases = {size: due_choose(size, NOW) for size in SIZES}
    for size in [size for size, case in cases.items() if case is None]:
        print(f"Too few reviews can owe a reminder for {size:,} due: left out.")
        del cases[size]
    sizes = list(cases)
    sweep = sweep_function()
    if sweep is None:
        placeholder({"nothing due": ([], AS_OF), **{f"{n} due": cases[n] for n in sizes}})
        state_drop()
        return

    results: dict[object, list[dict]] = {"nothing": [], "noon": [], **{n: [] for n in sizes}}
    measure(sweep, NOW)  # warm-up: imports, templates, connection
    for _ in range(RUNS):
        results["nothing"].append(measure(sweep, NOW))
        results["noon"].append(measure(sweep, NOON))
        for size in sizes:
            due_apply(*cases[size])
            results[size].append(measure(sweep, NOW))
    differs = state_differs()

    rows = []
    labels = {
        "nothing": "nothing due (09:45 UTC: no next reminder on or before today anywhere)",
        "noon": f"nothing due at 12:00 UTC ({tomorrow:,} reminders of tomorrow read, UTC+14)",
        100: "100 reminders due",
        1000: "1,000 reminders due",
    }
    targets = {
        "nothing": "under 2 s; queries independent of the data size",
        "noon": "under 2 s",
        100: "",
        1000: "under 10 s",
    }
    for key, label in labels.items():
        if key not in results:
            continue
        runs = results[key]
        seconds = [run["seconds"] for run in runs]
        limit = TARGETS.get("nothing" if key == "noon" else key)
        verdict = ""
        if limit is not None:
            verdict = ": met" if max(seconds) < limit else ": MISSED"
        rows.append(
            (
                label,
                spread(seconds),
                count_range([run["queries"] for run in runs]),
                targets[key] + verdict,
            )
        )
    reruns = [run for key in sizes for run in results[key]] or results["nothing"]
    rows.append(
        (
            "rerun right after a sweep of 100 or 1,000 (nothing left)",
            spread([run["rerun_seconds"] for run in reruns]),
            count_range([run["rerun_queries"] for run in reruns]),
            "sends nothing: " + ("yes" if not any(run["rerun_sent"] for run in reruns) else "NO"),
        )
    )

    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(
        f"\n{total:,} occurrences ({reviews:,} reviews); {_django.server_description()}; "
        f"median of {RUNS} runs (lowest-highest); load average at the end {load}\n"
    )
    header = ("measure", "time", "queries", "target")
    widths = [max(len(row[n]) for row in [header, *rows]) for n in range(4)]
    print(" | ".join(text.ljust(width) for text, width in zip(header, widths, strict=True)))
    print("-|-".join("-" * width for width in widths))
    for row in rows:
        print(" | ".join(text.ljust(width) for text, width in zip(row, widths, strict=True)))

    print()
    for size in sizes:
        chosen, since = cases[size]
        run = results[size][0]
        customers = len({row["customer"] for row in chosen})
        kinds = ", ".join(f"{count} {kind}" for kind, count in sorted(run["kinds"].items()))
        print(
            f"{size:,} due: {customers} customers, owed since {since + timedelta(days=1)} "
            f"at the earliest; the sweep returned {run['sent']:,}, recorded {run['recorded']:,} "
            f"reminders ({kinds}), built {run['emails']:,} emails to {run['recipients']:,} "
            f"addresses with {run['invites']:,} invites; {run['left_due']} left due"
        )
    print(f"rows differing from the saved data after the resets: {differs}")

    if options.statements and 1000 in results:
        print("\nStatements of the first 1,000-reminder sweep:")
        for line in statement_summary(results[1000][0]["statements"]):
            print(line)
    if options.explain and 1000 in cases:
        explain(sweep, *cases[1000])
        print(f"\nrows differing from the saved data after the resets: {state_differs()}")
    state_drop()


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=360)
    parser.add_argument("--subscriptions", type=int, default=900)
    parser.add_argument("--explain", action="store_true")
    parser.add_argument("--statements", action="store_true")
    return parser.parse_args()


if __name__ == "__main__":
    main(arguments())
