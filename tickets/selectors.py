"""SLA attainment: how many promises to each customer were kept, per package, severity and month.

One grouped SQL statement over the stored targets (`TicketTarget`), portable between PostgreSQL
and SQLite, so the report costs one query however many tickets there are.

What is counted, as of `now`:
- A target counts once it is due: met (on time or late), or unmet with its due time passed.
  A target still running (unmet, due later) or without a due time (paused, not applicable, a
  root cause analysis before the resolution) is left out. A target due exactly at `now` is not
  late yet, so it waits for the next report: due = met on time + breached, always.
- Met on time: met at or before its due time. Breached: met after it, or still unmet after it.
- Lateness, over the breached targets only: met late, the time from due to met; still unmet, the
  time from due to `now` (it grows until the target is met), or to the ticket's closing, which
  is final (a target left unmet on a ticket closed before it fell due is never counted).
  Average and worst, in wall-clock seconds rounded up, as `tickets.sla.target_state` counts
  them.
- A month is the calendar month, in UTC, of the target's due time: one report reads the same
  for every viewer and every customer's time zone.
- Rows are per target kind (first response, resolution...) with `by_kind`; without it, all the
  kinds of a customer, package, severity and month are one row (`target_kind` is None).
"""

import calendar
import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import (
    Avg,
    Count,
    DateTimeField,
    DurationField,
    ExpressionWrapper,
    F,
    Max,
    Q,
    QuerySet,
    Value,
)
from django.db.models.functions import Coalesce, TruncMonth
from django.db.models.lookups import GreaterThan

from accounts.models import Organization
from tickets.models import TicketTarget


@dataclass(frozen=True)
class AttainmentRow:
    organization_id: int
    organization: str
    package_code: str
    package_name: str
    severity: str
    month: date  # the first day of the month, UTC
    target_kind: str | None  # None: every kind of target together
    due: int
    met_on_time: int
    breached: int
    average_seconds_late: int | None  # over the breached targets; None when none was
    worst_seconds_late: int | None

    @property
    def attainment_percent(self) -> Decimal | None:
        """Share of the due targets met on time, in percent to one decimal."""
        if not self.due:
            return None
        share = Decimal(self.met_on_time) * 100 / Decimal(self.due)
        return share.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def _seconds(late: timedelta | None) -> int | None:
    if late is None:
        return None
    return math.ceil(late / timedelta(seconds=1))


def _midnight_utc(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def sla_attainment(
    *,
    now: datetime,
    organizations: QuerySet[Organization] | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    package: str | None = None,
    severity: str | None = None,
    by_kind: bool = False,
) -> list[AttainmentRow]:
    """Attainment rows ordered by customer, package, severity, month (and kind).

    `organizations`: the customers to report on (None: all). `date_from`/`date_to`: days (UTC,
    both included) the due times fall in. `package`: a package code; `severity`: a severity code.
    """
    # An unmet target is late until now, or until its ticket was closed (closing is final).
    unmet_until = Coalesce("ticket__closed_at", Value(now, output_field=DateTimeField()))
    targets = TicketTarget.objects.filter(due_at__isnull=False).filter(
        Q(met_at__isnull=False) | Q(GreaterThan(unmet_until, F("due_at")))
    )
    if organizations is not None:
        targets = targets.filter(ticket__organization__in=organizations)
    if date_from is not None:
        targets = targets.filter(due_at__gte=_midnight_utc(date_from))
    if date_to is not None:
        targets = targets.filter(due_at__lt=_midnight_utc(date_to + timedelta(days=1)))
    if package:
        targets = targets.filter(ticket__subscription__package__code=package)
    if severity:
        targets = targets.filter(ticket__severity=severity)

    breached = Q(met_at__gt=F("due_at")) | Q(
        GreaterThan(unmet_until, F("due_at")), met_at__isnull=True
    )
    late = ExpressionWrapper(
        Coalesce("met_at", unmet_until) - F("due_at"),
        output_field=DurationField(),
    )
    groups = [
        "ticket__organization_id",
        "ticket__organization__name",
        "ticket__subscription__package__code",
        "ticket__subscription__package__name",
        "ticket__severity",
        "month",
    ]
    if by_kind:
        groups.append("kind")
    rows = (
        targets.annotate(month=TruncMonth("due_at", tzinfo=UTC))
        .values(*groups)
        .annotate(
            due=Count("pk"),
            met_on_time=Count("pk", filter=Q(met_at__lte=F("due_at"))),
            breached=Count("pk", filter=breached),
            average_late=Avg(late, filter=breached),
            worst_late=Max(late, filter=breached),
        )
        .order_by(
            "ticket__organization__name",
            "ticket__organization_id",
            "ticket__subscription__package__name",
            "ticket__severity",
            "month",
            *(["kind"] if by_kind else []),
        )
    )
    return [
        AttainmentRow(
            organization_id=row["ticket__organization_id"],
            organization=row["ticket__organization__name"],
            package_code=row["ticket__subscription__package__code"],
            package_name=row["ticket__subscription__package__name"],
            severity=row["ticket__severity"],
            month=_month_start(row["month"]),
            target_kind=row.get("kind"),
            due=row["due"],
            met_on_time=row["met_on_time"],
            breached=row["breached"],
            average_seconds_late=_seconds(row["average_late"]),
            worst_seconds_late=_seconds(row["worst_late"]),
        )
        for row in rows
    ]


def _month_start(month: datetime | date) -> date:
    if isinstance(month, datetime):
        return month.astimezone(UTC).date()
    return month


def last_day_of_month(day: date) -> date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def months_before(day: date, months: int) -> date:
    """The first day of the month `months` before `day`'s."""
    index = day.year * 12 + day.month - 1 - months
    return date(index // 12, index % 12 + 1, 1)
