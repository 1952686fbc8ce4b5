"""Keep each entry's stored split equal to what the budget arithmetic gives.

The budget is a function of all of a subscription's entries (a back-dated entry can push later
ones into overage), so every change recomputes the subscription's entries together and writes
back only the rows whose split moved. Callers hold the subscription's row lock, which is what
makes two writers in the same quarter give exactly the serial result.
"""

from decimal import Decimal

from django.core.exceptions import ValidationError

from ..budget import Allowance, AllowancePeriod, Budget, Entry, Split, budget_split
from ..models import (
    EntitlementKind,
    PackageSubscription,
    QuarterClosing,
    SubscriptionEntitlement,
    TimeEntry,
)

EXPANSION = "expansion"
ZERO = Decimal("0")


def entitlement_allowance_key(entitlement_id: int) -> str:
    return f"entitlement:{entitlement_id}"


def subscription_budget(subscription: PackageSubscription) -> tuple[Budget, dict[int, str]]:
    """The subscription's budget as signed, and the kind of each entitlement that affects it."""
    contract = subscription.contract
    kinds: dict[int, str] = {}
    allowances: dict[str, Allowance] = {}
    special = SubscriptionEntitlement.objects.filter(
        subscription=subscription,
        kind__in=[EntitlementKind.HOUR_ALLOWANCE, EntitlementKind.ADDITIONAL_COST],
    ).values_list("pk", "kind", "hours", "within_package_hours")
    for pk, kind, hours, within in special:
        if kind == EntitlementKind.ADDITIONAL_COST:
            kinds[pk] = kind
        else:
            # Tables 3 and 4: an allowance per contract year, inside the package's hours unless
            # the catalog says otherwise.
            kinds[pk] = kind
            allowances[entitlement_allowance_key(pk)] = Allowance(
                hours, AllowancePeriod.CONTRACT_YEAR, outside_package=not within
            )
    pack = getattr(subscription, "expansion_pack", None)
    if pack is not None:
        # Section 9: pack hours are inside the Section 1 hours and last for the term.
        allowances[EXPANSION] = Allowance(pack.hours, AllowancePeriod.TERM, pack.additional_hours)
    budget = Budget(
        term_start=contract.term_start,
        term_end=contract.term_end,
        quarterly_hours=subscription.quarterly_hours,
        annual_hours=subscription.annual_hours,
        allowances=allowances,
    )
    return budget, kinds


def _as_entry(row: dict, kinds: dict[int, str]) -> Entry:
    allowance = None
    kind = kinds.get(row["entitlement_id"])
    if row["expansion_scope_id"] is not None:
        allowance = EXPANSION
    elif kind == EntitlementKind.HOUR_ALLOWANCE:
        allowance = entitlement_allowance_key(row["entitlement_id"])
    return Entry(
        id=row["pk"],
        worked_on=row["worked_on"],
        logged_at=row["logged_at"],
        hours=row["hours"],
        allowance=allowance,
        additional_cost=kind == EntitlementKind.ADDITIONAL_COST,
        adjusts=row["adjusts_id"],
    )


_STORED = ("included_hours", "overage_hours", "prepaid_hours", "additional_cost_hours")
_SPLIT_COLUMNS = ["quarter_index", "year_index", "limited_by", *_STORED]


def _stored_values(split: Split) -> dict:
    return {
        "quarter_index": split.quarter,
        "year_index": split.year,
        "included_hours": split.included,
        "overage_hours": split.overage,
        "prepaid_hours": split.prepaid,
        "additional_cost_hours": split.additional_cost,
        "limited_by": split.limited_by.value if split.limited_by else "",
    }


def _refuse_closed_changes(subscription, changed: dict[int, dict], stored: dict) -> None:
    """What finance closed is billed: no recomputation may move a closed quarter's split."""
    # A new entry has no split yet (year_index 0); the checks on logging keep it out of closed
    # quarters. Only entries split before can move.
    moved = [pk for pk in changed if stored[pk]["year_index"]]
    if not moved:
        return
    closed = set(
        QuarterClosing.objects.filter(contract_id=subscription.contract_id).values_list(
            "quarter_index", flat=True
        )
    )
    for pk in moved:
        if (quarter := stored[pk]["quarter_index"]) in closed:
            raise ValueError(
                f"This would change what closed quarter {quarter} billed (entry {pk}); log an "
                "adjusting entry in an open quarter instead."
            )


def subscription_splits_apply(subscription: PackageSubscription) -> dict[int, dict]:
    """Recompute every entry's split and write the ones that changed; returns those, by id.

    Raises ValueError (from the budget) when an entry cannot be applied, such as a give-back
    larger than the corrected entry holds, or when a closed quarter's split would move.
    """
    budget, kinds = subscription_budget(subscription)
    fields = ["pk", "worked_on", "logged_at", "hours", "entitlement_id", "expansion_scope_id"]
    fields.append("adjusts_id")
    rows = list(
        TimeEntry.objects.filter(subscription=subscription)
        .order_by()  # budget_split applies them in its own order
        .values(*fields, "year_index", "limited_by", "quarter_index", *_STORED)
    )
    stored = {row["pk"]: row for row in rows}
    changed = {}
    for split in budget_split(budget, (_as_entry(row, kinds) for row in rows)):
        values = _stored_values(split)
        row = stored[split.entry_id]
        if any(row[name] != value for name, value in values.items()):
            changed[split.entry_id] = values
    _refuse_closed_changes(subscription, changed, stored)
    if len(changed) <= 3:
        # The usual case, a new entry at the end: plain updates beat a CASE over many rows.
        for pk, values in changed.items():
            TimeEntry.objects.filter(pk=pk).update(**values)
    else:
        rows = [TimeEntry(pk=pk, **values) for pk, values in changed.items()]
        TimeEntry.objects.bulk_update(rows, _SPLIT_COLUMNS, batch_size=500)
    return changed


def subscription_lock(subscription: PackageSubscription) -> PackageSubscription:
    """The subscription's row lock, which serializes every writer of its hour bank; returns the
    subscription as it stands under the lock."""
    return (
        PackageSubscription.objects.select_for_update(of=("self",))
        .select_related("contract__organization", "expansion_pack")
        .get(pk=subscription.pk)
    )


def subscription_splits_save(subscription: PackageSubscription) -> dict[int, dict]:
    """`subscription_splits_apply` for the services: a refusal becomes the hours' field error."""
    try:
        return subscription_splits_apply(subscription)
    except ValueError as error:
        raise ValidationError({"hours": [str(error)]}) from error


def subscription_splits_refresh(subscription: PackageSubscription) -> int:
    """Recompute the subscription's splits; returns how many entries changed."""
    return len(subscription_splits_apply(subscription))
