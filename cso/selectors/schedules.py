"""Entitled vs delivered: what each package subscription's schedule promised and what became of it.

Every occurrence the schedule entitles the customer to (Tables 2-4; not work booked at
additional cost) falls in exactly one of these, on a given day (`today`, the customer's):

- delivered on time: delivered on or before its due date;
- delivered late: delivered after its due date;
- skipped: the CSM skipped it, with a reason;
- overdue: still scheduled and its due date has passed (it is due on its due date, overdue the
  day after);
- unused: one of "up to N per year" still scheduled after its due date; the customer may leave
  those unused, so they are not overdue;
- upcoming: still scheduled and due today or later.

`due` counts the entitled occurrences whose due date has passed, whatever became of them; an
occurrence delivered ahead of its due date counts as delivered on time before it is due.
`additional_cost` counts work booked at additional cost, which is outside the entitlement.

The database does the counting: one query for the terms and one grouped query per call,
whatever the number of occurrences. Figures come per contract year (and, when asked, per
contract quarter, by due date), per deliverable and in total.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field, fields, replace
from datetime import date

from django.db.models import Case, Count, F, IntegerField, Q, QuerySet, Value, When

from ..models import Occurrence, PackageSubscription, SubscriptionEntitlement
from ..quarters import Period, contract_quarters, contract_years

_SCHEDULED = Occurrence.Status.SCHEDULED
_DELIVERED = Occurrence.Status.DELIVERED
_DELIVERABLE = "entitlement__deliverable__"


@dataclass(frozen=True, slots=True)
class Tally:
    """Occurrences counted by what became of them (see the module's docstring)."""

    entitled: int = 0
    due: int = 0
    delivered_on_time: int = 0
    delivered_late: int = 0
    skipped: int = 0
    overdue: int = 0
    unused: int = 0
    upcoming: int = 0
    additional_cost: int = 0

    @property
    def delivered(self) -> int:
        return self.delivered_on_time + self.delivered_late

    def __add__(self, other: "Tally") -> "Tally":
        return Tally(
            **{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)}
        )


TALLY_FIELDS = tuple(f.name for f in fields(Tally))


STATE_LABELS = {
    "entitled": "Entitled",
    "due": "Due",
    "delivered_on_time": "Delivered on time",
    "delivered_late": "Delivered late",
    "skipped": "Skipped",
    "overdue": "Overdue",
    "unused": "Unused",
    "upcoming": "Upcoming",
    "additional_cost": "Booked at additional cost",
}


def tally_conditions(today: date) -> dict[str, Q]:
    """Which occurrences each figure of a `Tally` counts on `today`, as query conditions."""
    entitled = Q(additional_cost=False)
    scheduled = entitled & Q(status=_SCHEDULED)
    return {
        "entitled": entitled,
        "due": entitled & Q(due_on__lt=today),
        "delivered_on_time": entitled & Q(status=_DELIVERED, delivered_on__lte=F("due_on")),
        "delivered_late": entitled & Q(status=_DELIVERED, delivered_on__gt=F("due_on")),
        "skipped": entitled & Q(status=Occurrence.Status.SKIPPED),
        "overdue": scheduled & Q(optional=False, due_on__lt=today),
        "unused": scheduled & Q(optional=True, due_on__lt=today),
        "upcoming": scheduled & Q(due_on__gte=today),
        "additional_cost": Q(additional_cost=True),
    }


def occurrence_state(occurrence: Occurrence, today: date) -> str:
    """The one state an occurrence is in on `today`: a key of `STATE_LABELS` other than
    "entitled" and "due", which overlap the others."""
    if occurrence.additional_cost:
        return "additional_cost"
    if occurrence.status == _DELIVERED:
        on_time = occurrence.delivered_on <= occurrence.due_on
        return "delivered_on_time" if on_time else "delivered_late"
    if occurrence.status == Occurrence.Status.SKIPPED:
        return "skipped"
    if occurrence.due_on >= today:
        return "upcoming"
    return "unused" if occurrence.optional else "overdue"


def _counts(today: date) -> dict[str, Count]:
    return {
        name: Count("pk", filter=condition) for name, condition in tally_conditions(today).items()
    }


@dataclass(frozen=True, slots=True)
class DeliverableTally:
    deliverable_id: int
    code: str
    name: str
    entitlement: str  # as signed: "Twice monthly", "Up to 4x per year", "At additional cost"
    tally: Tally
    order: tuple[int, int] = (0, 0)  # the catalog's: table, then rank


@dataclass(slots=True)
class PeriodSummary:
    """One contract year or quarter of a subscription's schedule."""

    period: Period
    year_index: int
    deliverables: list[DeliverableTally] = field(default_factory=list)
    total: Tally = field(default_factory=Tally)

    def add(self, deliverable: DeliverableTally) -> None:
        """Count a deliverable's occurrences in; a year adds up its quarters' rows."""
        for index, known in enumerate(self.deliverables):
            if known.code == deliverable.code:
                tally = known.tally + deliverable.tally
                self.deliverables[index] = replace(known, tally=tally)
                break
        else:
            self.deliverables.append(deliverable)
            self.deliverables.sort(key=lambda known: known.order)
        self.total += deliverable.tally


@dataclass(slots=True)
class ScheduleSummary:
    subscription_id: int
    today: date
    years: list[PeriodSummary]
    quarters: list[PeriodSummary]  # only when asked for
    total: Tally = field(default_factory=Tally)


def _deliverable_tally(row: dict) -> DeliverableTally:
    terms = SubscriptionEntitlement(
        kind=row["entitlement__kind"],
        frequency=row["entitlement__frequency"],
        max_per_year=row["entitlement__max_per_year"],
    )
    return DeliverableTally(
        deliverable_id=row["entitlement__deliverable_id"],
        code=row[f"{_DELIVERABLE}code"],
        name=row[f"{_DELIVERABLE}name"],
        entitlement=terms.describe(),
        tally=Tally(**{name: row[name] for name in TALLY_FIELDS}),
        order=(row[f"{_DELIVERABLE}source_table"], row[f"{_DELIVERABLE}rank"]),
    )


def _quarter_of_due_date(terms: dict[int, tuple[date, date]]) -> Case:
    """The contract quarter each occurrence is due in, from its contract's term (cso.quarters)."""
    subscriptions_by_term: dict[tuple[date, date], list[int]] = {}
    for pk, term in terms.items():
        subscriptions_by_term.setdefault(term, []).append(pk)
    whens = [
        When(
            subscription_id__in=pks,
            due_on__gte=quarter.start,
            due_on__lte=quarter.end,
            then=Value(quarter.index),
        )
        for (start, end), pks in subscriptions_by_term.items()
        for quarter in contract_quarters(start, end)
    ]
    return Case(*whens, default=Value(0), output_field=IntegerField())


def _terms(subscriptions) -> dict[int, tuple[date, date]]:
    if isinstance(subscriptions, QuerySet):
        queryset = subscriptions
    else:
        pks = [getattr(s, "pk", s) for s in subscriptions]
        queryset = PackageSubscription.objects.filter(pk__in=pks)
    rows = queryset.order_by().values_list("pk", "contract__term_start", "contract__term_end")
    return {pk: (start, end) for pk, start, end in rows}


def schedule_summary(
    subscriptions: QuerySet[PackageSubscription] | Iterable[PackageSubscription | int],
    today: date,
    *,
    by_quarter: bool = False,
) -> dict[int, ScheduleSummary]:
    """Entitled vs delivered of each subscription on `today`, keyed by subscription id.

    Every contract year of the term is listed (every quarter too with `by_quarter`), each with a
    row per deliverable that has occurrences in it, in the catalog's order, and its total.
    """
    terms = _terms(subscriptions)
    summaries = {}
    for pk, (start, end) in terms.items():
        years = [PeriodSummary(year, year.index) for year in contract_years(start, end)]
        quarters = (
            [PeriodSummary(q, (q.index - 1) // 4 + 1) for q in contract_quarters(start, end)]
            if by_quarter
            else []
        )
        summaries[pk] = ScheduleSummary(pk, today, years, quarters)
    if not summaries:
        return summaries
    occurrences = Occurrence.objects.filter(subscription_id__in=list(terms))
    group_by = [
        "subscription_id",
        "year_index",
        "entitlement__deliverable_id",
        "entitlement__deliverable__code",
        "entitlement__deliverable__name",
        "entitlement__deliverable__source_table",
        "entitlement__deliverable__rank",
        "entitlement__kind",
        "entitlement__frequency",
        "entitlement__max_per_year",
    ]
    if by_quarter:
        occurrences = occurrences.annotate(quarter_index=_quarter_of_due_date(terms))
        group_by.insert(2, "quarter_index")
    rows = (
        occurrences.values(*group_by)
        .annotate(**_counts(today))
        .order_by(
            "subscription_id",
            *group_by[1 : 3 if by_quarter else 2],
            "entitlement__deliverable__source_table",
            "entitlement__deliverable__rank",
        )
    )
    for row in rows:
        summary = summaries[row["subscription_id"]]
        deliverable = _deliverable_tally(row)
        summary.years[row["year_index"] - 1].add(deliverable)
        if by_quarter:
            summary.quarters[row["quarter_index"] - 1].add(deliverable)
        summary.total += deliverable.tally
    return summaries


def subscription_schedule_summary(
    subscription: PackageSubscription, today: date, *, by_quarter: bool = False
) -> ScheduleSummary:
    """`schedule_summary` of one subscription."""
    return schedule_summary([subscription], today, by_quarter=by_quarter)[subscription.pk]
