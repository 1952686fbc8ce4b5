"""Hour bank benchmarks: finance's overage export and logging time, on a large hour bank.

Usage (PostgreSQL; builds the dataset with bench/hours_dataset.py unless it is already there):
    .venv/bin/python bench/hours.py
    .venv/bin/python bench/hours.py --entries 50000 --customers 100 --subscriptions 250
    .venv/bin/python bench/hours.py --explain   # also print EXPLAIN ANALYZE of the export query
(DATABASE_URL defaults to postgres://postgres@127.0.0.1:5432/portal_bench.)

Prints one table from one run. The export is measured three ways on the same rows, each in its
own child process so that its peak memory is the export's alone: PostgreSQL's own COPY of the
export statement (the floor), the product's streaming CSV, and a plain django-import-export
ModelResource. Then `time_entry_log` is timed on random subscriptions as their CSM; each entry
is deleted again with `time_entry_delete`, which puts every split back as it was.
"""

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

import _django
import hours_dataset
from django.db import connection

from cso.selectors.overage import COLUMNS, OverageFilter, overage_export_sql

EVERYTHING = OverageFilter(period_start=date(2000, 1, 1), period_end=date(2100, 12, 31))
RUNS = 3
LOG_CALLS = 300
WARM_UP_CALLS = 10
BUSIEST = 10  # the subscriptions with the most entries
BUSIEST_CALLS = 3


def memory() -> dict[str, float]:
    """This process's resident memory now and at its peak, in MB (Linux /proc)."""
    values = {}
    with open("/proc/self/status") as status:
        for line in status:
            name, _, rest = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                values[name] = int(rest.split()[0]) / 1024
    return {"rss": values["VmRSS"], "peak": values["VmHWM"]}


# --- the three exports, each run in a child process -------------------------------------------


def export_copy(out) -> tuple[int, str]:
    from psycopg import ClientCursor, connect

    sql, params = overage_export_sql(EVERYTHING, amount_in_sql=True)
    lines = 0
    with connect(os.environ["DATABASE_URL"], cursor_factory=ClientCursor) as database:
        statement = database.cursor().mogrify(sql, params)
        with database.cursor().copy(f"COPY ({statement}) TO STDOUT WITH CSV HEADER") as copy:
            for block in copy:
                data = bytes(block)
                lines += data.count(b"\n")
                out.write(data)
    return lines - 1, "COPY (export query) TO STDOUT WITH CSV"


def export_stream(out) -> tuple[int, str]:
    """The API's own streaming CSV (what `GET /api/v1/overage-export/` sends)."""
    from cso.api.finance import overage_csv_chunks

    chunks, source = overage_csv_chunks(EVERYTHING), "cso.api.finance.overage_csv_chunks"
    lines = 0
    for chunk in chunks:
        lines += chunk.count("\n")
        out.write(chunk.encode())
        if lines > 1:  # what the export holds while it streams, sampled at every chunk
            DURING.append(memory()["rss"])
    return lines - 1, source


DURING: list[float] = []


def overage_queryset(criteria: OverageFilter):
    """The export's grouping with the ORM: entries only (a ModelResource exports one model)."""
    from django.db.models import Case, Exists, F, OuterRef, Subquery, Sum, When

    from cso.models import OverageRate, QuarterClosing, TimeEntry

    billing_day = Case(
        When(adjusts__isnull=True, then=F("worked_on")), default=F("adjusts__worked_on")
    )
    rate = OverageRate.objects.filter(
        contract_id=OuterRef("subscription__contract_id"),
        effective_from__lte=OuterRef("billing_day"),
    ).order_by("-effective_from")
    closed = QuarterClosing.objects.filter(
        contract_id=OuterRef("subscription__contract_id"), quarter_index=OuterRef("quarter_index")
    )
    return (
        TimeEntry.objects.filter(quarter_end__range=(criteria.period_start, criteria.period_end))
        .annotate(billing_day=billing_day)
        .values(
            "subscription",
            "quarter_start",
            "quarter_end",
            customer=F("subscription__contract__organization__name"),
            contract_id=F("subscription__contract_id"),
            contract=F("subscription__contract__reference"),
            package=F("subscription__package__name"),
            package_rank=F("subscription__package__rank"),
            line_of_business_name=F("line_of_business__name"),
            quarter=F("quarter_index"),
            currency=F("subscription__contract__currency"),
            hourly_rate=Subquery(rate.values("hourly_rate")[:1]),
        )
        .annotate(
            closed=Exists(closed),
            included=Sum("included_hours"),
            overage=Sum("overage_hours"),
            additional=Sum("additional_cost_hours"),
        )
        .order_by(
            "customer",
            "contract",
            "package_rank",
            "subscription",
            "line_of_business_name",
            "quarter",
            "hourly_rate",
        )
    )


def export_resource(out) -> tuple[int, str]:
    from import_export import fields, resources

    from cso.models import TimeEntry

    def column(name: str, attribute: str | None = None) -> fields.Field:
        return fields.Field(attribute=attribute or name, column_name=name)

    class OverageResource(resources.ModelResource):
        customer = column("customer")
        contract = column("contract")
        package = column("package")
        line_of_business = column("line_of_business", "line_of_business_name")
        quarter = column("quarter")
        quarter_start = column("quarter_start")
        quarter_end = column("quarter_end")
        quarter_closed = column("quarter_closed", "closed")
        included_hours = column("included_hours", "included")
        overage_hours = column("overage_hours", "overage")
        additional_cost_hours = column("additional_cost_hours", "additional")
        hourly_rate = column("hourly_rate")
        currency = column("currency")
        amount = fields.Field(column_name="amount")

        class Meta:
            model = TimeEntry
            fields = [name for name in COLUMNS if name != "travel_expenses"]

        def dehydrate_amount(self, row: dict) -> Decimal:
            hours = row["overage"] + row["additional"]
            return (hours * (row["hourly_rate"] or 0)).quantize(
                Decimal("0.01"), rounding=ROUND_HALF_UP
            )

    dataset = OverageResource().export(queryset=overage_queryset(EVERYTHING))
    out.write(dataset.csv.encode())
    return len(dataset), "ModelResource.export(...).csv"


EXPORTS = {"copy": export_copy, "stream": export_stream, "resource": export_resource}


def child(kind: str) -> None:
    """Run one export into /dev/null; print its time and memory as JSON."""
    # Imports are not the export's memory: load them before measuring.
    if kind == "resource":
        import import_export.resources  # noqa: F401
    elif kind == "stream":
        import cso.api.finance  # noqa: F401
    connection.ensure_connection()
    before = memory()
    with open(os.devnull, "wb") as out:
        started = time.perf_counter()
        rows, source = EXPORTS[kind](out)
        seconds = time.perf_counter() - started
    after = memory()
    report = {"seconds": seconds, "rows": rows, "source": source}
    report.update(rss_before=before["rss"], rss_after=after["rss"], peak=after["peak"])
    if DURING:
        report.update(rss_first_chunk=DURING[0], rss_during_max=max(DURING))
    print(json.dumps(report))


def run_child(kind: str) -> dict:
    result = subprocess.run(
        [sys.executable, __file__, "--child", kind], capture_output=True, text=True, check=False
    )
    if result.returncode:
        sys.exit(f"The {kind} export failed:\n{result.stderr}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def exports() -> dict[str, dict]:
    """Each export RUNS times, interleaved, after one warm-up; median time, highest peak."""
    run_child("copy")
    runs: dict[str, list[dict]] = {kind: [] for kind in EXPORTS}
    for _ in range(RUNS):
        for kind in EXPORTS:
            runs[kind].append(run_child(kind))
    summary = {}
    for kind, reports in runs.items():
        summary[kind] = {
            **reports[0],
            "seconds": statistics.median(report["seconds"] for report in reports),
            "peak": max(report["peak"] for report in reports),
        }
        for measure in ("rss_before", "rss_first_chunk", "rss_during_max"):
            if measure in reports[0]:
                summary[kind][measure] = max(report[measure] for report in reports)
    return summary


# --- logging one entry ------------------------------------------------------------------------


def _log_cases(ids: list[int], rng: random.Random) -> list[tuple]:
    """For each subscription, an entry on a day of its current (open) quarter, and its CSM."""
    from cso.models import PackageSubscription, Program, SubscriptionEntitlement
    from cso.quarters import quarter_containing
    from cso.services.closings import quarter_closing_on
    from cso.services.time_entries import EntryFields

    programs = list(Program.objects.exclude(code="expansion"))
    cases = []
    for pk in ids:
        subscription = PackageSubscription.objects.select_related(
            "contract__organization", "expansion_pack"
        ).get(pk=pk)
        contract = subscription.contract
        quarter = quarter_containing(contract.term_start, contract.term_end, hours_dataset.AS_OF)
        worked_on = quarter.start + timedelta(
            days=rng.randint(0, (hours_dataset.AS_OF - quarter.start).days)
        )
        if quarter_closing_on(subscription.contract, worked_on) is not None:
            continue
        entitlement = None
        program = rng.choice(programs)
        if rng.random() < 0.3:
            delivered = SubscriptionEntitlement.objects.filter(
                subscription=subscription,
                kind__in=["frequency", "included", "hour_allowance"],
                deliverable__program__isnull=False,
            ).select_related("deliverable__program")
            entitlement = rng.choice(list(delivered)) if delivered else None
            if entitlement is not None:
                program = entitlement.deliverable.program
        fields = EntryFields(
            worked_on=worked_on,
            hours=Decimal(rng.randint(1, 16)) / 4,
            program=program,
            line_of_business=rng.choice(list(subscription.lines_of_business.all())),
            entitlement=entitlement,
            description="Benchmark entry",
        )
        csm = contract.organization.csms.order_by("pk").first()
        cases.append((subscription, fields, csm))
    return cases


def log_entries(cases: list[tuple]) -> tuple[list[float], list[int]]:
    """Time `time_entry_log` per call (committed, as a request would); delete each entry after."""
    from auditlog.models import LogEntry

    from cso.services.time_entries import time_entry_delete, time_entry_log

    queries: list[str] = []

    def count(execute, sql, params, many, context):
        queries.append(sql)
        return execute(sql, params, many, context)

    samples, query_counts, logged = [], [], []
    for subscription, fields, csm in cases:
        queries.clear()
        with connection.execute_wrapper(count):
            started = time.perf_counter()
            entry = time_entry_log(
                subscription=subscription,
                fields=fields,
                logged_by=csm,
                now=hours_dataset.AS_OF_NOON,
            )
            samples.append(time.perf_counter() - started)
        query_counts.append(len(queries))
        logged.append(entry.pk)
        time_entry_delete(entry=entry, by=csm)
    LogEntry.objects.filter(
        content_type__app_label="cso", content_type__model="timeentry", object_id__in=logged
    ).delete()
    return samples, query_counts


def purge_queued_alerts() -> None:
    """The consumption alerts the entries queued have no worker here; drop them from the queue."""
    from portal.celery import app

    app.control.purge()


def explain() -> None:
    sql, params = overage_export_sql(EVERYTHING, amount_in_sql=True)
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
        for (line,) in cursor.fetchall():
            print(line)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.1f} ms"


def main(options: argparse.Namespace) -> None:
    hours_dataset.ensure(options.customers, options.subscriptions, options.entries, reuse=True)
    from django.db.models import Count

    from cso.models import PackageSubscription, TimeEntry

    entries = TimeEntry.objects.count()
    subscriptions = PackageSubscription.objects.count()
    if options.explain:
        explain()

    results = exports()
    copy, stream, resource = (results[kind] for kind in ("copy", "stream", "resource"))
    assert copy["rows"] == stream["rows"], (copy["rows"], stream["rows"])

    rng = random.Random(hours_dataset.SEED)
    ids = list(PackageSubscription.objects.values_list("pk", flat=True))
    cases = _log_cases(rng.sample(ids, min(LOG_CALLS + WARM_UP_CALLS, len(ids))), rng)
    log_entries(cases[:WARM_UP_CALLS])
    samples, query_counts = log_entries(cases[WARM_UP_CALLS:])
    busiest = list(
        TimeEntry.objects.values_list("subscription_id", flat=True)
        .order_by()
        .annotate(entries=Count("id"))
        .order_by("-entries")[:BUSIEST]
    )
    largest = TimeEntry.objects.filter(subscription_id=busiest[0]).count()
    busy_samples, busy_counts = log_entries(_log_cases(busiest * BUSIEST_CALLS, rng))
    purge_queued_alerts()

    percentile_95 = statistics.quantiles(samples, n=20)[-1]
    ratio = stream["seconds"] / copy["seconds"]
    rows = [
        (
            f"COPY (export query) TO STDOUT: {copy['rows']:,} rows",
            ms(copy["seconds"]),
            f"{copy['peak']:.0f} MB",
            "the database's floor",
        ),
        (
            f"streaming CSV ({stream['source']})",
            ms(stream["seconds"]),
            f"{stream['peak']:.0f} MB",
            f"RSS {stream['rss_before']:.0f} MB before; {stream['rss_first_chunk']:.0f} MB "
            f"after the first chunk, {stream['rss_during_max']:.0f} MB at most while streaming",
        ),
        (
            "ratio streaming / COPY",
            f"{ratio:.2f}x",
            "",
            "target: at most 2x; peak RSS under 200 MB",
        ),
        (
            f"django-import-export ModelResource: {resource['rows']:,} rows",
            ms(resource["seconds"]),
            f"{resource['peak']:.0f} MB",
            f"RSS {resource['rss_before']:.0f} MB before, entries only (no T&E)",
        ),
        (
            f"time_entry_log, {len(samples)} random subscriptions: median",
            ms(statistics.median(samples)),
            "",
            f"p95 {ms(percentile_95)}; target: median under 20 ms",
        ),
        (
            f"time_entry_log, the {BUSIEST} busiest subscriptions: median",
            ms(statistics.median(busy_samples)),
            "",
            f"max {ms(max(busy_samples))}; up to {largest:,} entries re-split per call",
        ),
        (
            "queries per time_entry_log call",
            f"{statistics.median(query_counts):.0f}",
            "",
            f"min {min(query_counts)}, max {max(query_counts + busy_counts)}",
        ),
    ]
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(
        f"\n{entries:,} time entries, {subscriptions:,} subscriptions; "
        f"{_django.server_description()}; load average at the end {load}\n"
    )
    header = ("measure", "time", "peak RSS", "")
    widths = [max(len(row[n]) for row in [header, *rows]) for n in range(4)]
    print(" | ".join(text.ljust(width) for text, width in zip(header, widths, strict=True)))
    print("-|-".join("-" * width for width in widths))
    for row in rows:
        print(" | ".join(text.ljust(width) for text, width in zip(row, widths, strict=True)))


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--subscriptions", type=int, default=5000)
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--explain", action="store_true")
    parser.add_argument("--child", choices=sorted(EXPORTS), help=argparse.SUPPRESS)
    return parser.parse_args()


if __name__ == "__main__":
    options = arguments()
    if options.child:
        child(options.child)
    else:
        main(options)
