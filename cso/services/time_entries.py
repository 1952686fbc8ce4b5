"""Logging, changing and deleting time: the only writes to the hour bank.

Every write checks everything first and reports each problem by field; then, in one
transaction holding the subscription's row lock, it writes the entry and recomputes the
subscription's split (`splits.subscription_splits_save`). Consumption alerts are queued
after commit, so a worker never sees hours that were rolled back.
"""

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from accounts.models import LineOfBusiness, User
from accounts.selectors import may_edit_organization

from ..audit import audit_actor
from ..models import (
    EntitlementKind,
    ExpansionScope,
    PackageSubscription,
    Program,
    QuarterClosing,
    SubscriptionEntitlement,
    TimeEntry,
)
from ..quarters import quarter_containing
from .closings import quarter_closing_on
from .splits import subscription_lock, subscription_splits_save

EXPANSION_PROGRAM = "expansion"
MAX_HOURS_PER_ENTRY = Decimal("24")
ZERO = Decimal("0")


@dataclass
class EntryFields:
    """What a person says about an entry; everything else is derived."""

    worked_on: date
    hours: Decimal | str
    program: Program
    line_of_business: LineOfBusiness | None = None
    entitlement: SubscriptionEntitlement | None = None
    expansion_scope: ExpansionScope | None = None
    description: str = ""
    adjusts: TimeEntry | None = None


def _add(errors: dict, field: str, message: str) -> None:
    errors.setdefault(field, []).append(message)


def _hours(value, increment: Decimal, errors: dict) -> Decimal | None:
    try:
        hours = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        _add(errors, "hours", f"'{value}' is not a number of hours.")
        return None
    if not hours.is_finite():
        _add(errors, "hours", f"'{value}' is not a number of hours.")
        return None
    if hours == ZERO:
        _add(errors, "hours", "Hours must not be zero.")
    elif abs(hours) > MAX_HOURS_PER_ENTRY:
        _add(errors, "hours", f"At most {MAX_HOURS_PER_ENTRY} hours fit in one day's entry.")
    elif hours % increment:
        _add(errors, "hours", f"Log time in steps of {increment.normalize():f} hours ({hours}).")
    else:
        return hours.quantize(Decimal("0.01"))
    return hours


def closed_quarter_message(closing: QuarterClosing) -> str:
    return (
        f"Contract quarter {closing.quarter_index} ({closing.quarter_start} to "
        f"{closing.quarter_end}) is closed; log an adjusting entry in an open quarter instead."
    )


def _check_day(subscription, worked_on, today: date, errors: dict) -> None:
    contract = subscription.contract
    if not contract.term_start <= worked_on <= contract.term_end:
        _add(
            errors,
            "worked_on",
            f"{worked_on} is outside the contract term "
            f"{contract.term_start} to {contract.term_end}.",
        )
    elif worked_on > today:
        _add(errors, "worked_on", f"{worked_on} has not come yet; log time once it is worked.")
    elif (closing := quarter_closing_on(contract, worked_on)) is not None:
        _add(errors, "worked_on", closed_quarter_message(closing))


def _check_links(subscription, fields: EntryFields, hours, errors: dict, entry_id=None) -> None:
    lob = fields.line_of_business
    if lob is not None and not subscription.lines_of_business.filter(pk=lob.pk).exists():
        _add(errors, "line_of_business", f"'{lob}' is not covered by this package subscription.")
    entitlement = fields.entitlement
    if entitlement is not None:
        if entitlement.subscription_id != subscription.pk:
            _add(errors, "entitlement", f"'{entitlement}' belongs to another subscription.")
        elif entitlement.kind == EntitlementKind.NOT_AVAILABLE:
            _add(errors, "entitlement", f"The package does not include '{entitlement}'.")
        else:
            program_id = entitlement.deliverable.program_id
            if program_id is not None and program_id != fields.program.pk:
                _add(
                    errors,
                    "program",
                    f"'{entitlement.deliverable.name}' belongs to "
                    f"{entitlement.deliverable.program.name}, not {fields.program.name}.",
                )
    scope = fields.expansion_scope
    if scope is not None:
        _check_scope(subscription, fields, scope, hours, errors, entry_id)
    elif fields.program.code == EXPANSION_PROGRAM and fields.adjusts is None:
        _add(
            errors,
            "expansion_scope",
            "Expansion work is logged against an approved scope (Section 9).",
        )


def _check_scope(subscription, fields, scope, hours, errors: dict, entry_id) -> None:
    scope = ExpansionScope.objects.get(pk=scope.pk)  # its decision as it stands now
    if scope.subscription_id != subscription.pk:
        _add(errors, "expansion_scope", f"'{scope.title}' belongs to another subscription.")
        return
    if scope.status != ExpansionScope.Status.APPROVED:
        _add(
            errors,
            "expansion_scope",
            f"'{scope.title}' is {scope.get_status_display().lower()}, not approved; time "
            "is logged only after the customer approves the scope.",
        )
        return
    if fields.program.code != EXPANSION_PROGRAM:
        _add(errors, "program", "Time on an expansion scope is Expansion work.")
    if hours is None:
        return
    logged = scope.time_entries.exclude(pk=entry_id).aggregate(total=Sum("hours"))["total"] or ZERO
    if logged + hours > scope.hours:
        _add(
            errors,
            "hours",
            f"'{scope.title}' is scoped at {scope.hours} hours and {logged} are logged; "
            f"{hours} more would exceed it. Ask the customer to fund more hours or change the "
            "scope.",
        )


def _check_adjusts(subscription, fields: EntryFields, hours, errors: dict) -> None:
    original = fields.adjusts
    if original is None:
        if hours is not None and hours < ZERO:
            _add(errors, "hours", "Only an adjusting entry can give hours back.")
        return
    if original.subscription_id != subscription.pk:
        _add(errors, "adjusts", "An adjusting entry corrects an entry of the same subscription.")
    elif original.adjusts_id is not None:
        _add(errors, "adjusts", "Correct the original entry, not another adjustment.")
    elif fields.worked_on < original.worked_on:
        _add(errors, "worked_on", "An adjusting entry is dated on or after the entry it corrects.")
    elif (original.entitlement_id, original.expansion_scope_id) != (
        getattr(fields.entitlement, "pk", None),
        getattr(fields.expansion_scope, "pk", None),
    ):
        _add(
            errors,
            "adjusts",
            "An adjusting entry keeps the deliverable and expansion scope of the entry it "
            "corrects.",
        )


def _require_editor(user: User, subscription: PackageSubscription) -> None:
    organization_id = subscription.contract.organization_id
    if not may_edit_organization(user, organization_id):
        raise PermissionDenied(
            f"{user} does not log time for {subscription.contract.organization.name}."
        )


def time_entry_check(
    *,
    subscription: PackageSubscription,
    fields: EntryFields,
    now: datetime,
    entry_id: int | None = None,
) -> Decimal:
    """Every rule an entry must meet, all reported at once by field; returns the hours."""
    errors: dict[str, list[str]] = {}
    hours = _hours(fields.hours, subscription.hour_increment, errors)
    # "A day that has not come yet" is judged where the customer is.
    _check_day(
        subscription, fields.worked_on, subscription.contract.organization.today(now), errors
    )
    _check_links(subscription, fields, hours, errors, entry_id)
    _check_adjusts(subscription, fields, hours, errors)
    if errors:
        raise ValidationError(errors)
    return hours


def _queue_alerts(subscription_id: int) -> None:
    from ..tasks import check_consumption_alerts

    transaction.on_commit(lambda: check_consumption_alerts.delay(subscription_id))


def _period_fields(subscription: PackageSubscription, worked_on: date) -> dict:
    contract = subscription.contract
    quarter = quarter_containing(contract.term_start, contract.term_end, worked_on)
    return {
        "quarter_index": quarter.index,
        "quarter_start": quarter.start,
        "quarter_end": quarter.end,
        "year_index": 0,  # set with the split
    }


def time_entry_log(
    *,
    subscription: PackageSubscription,
    fields: EntryFields,
    logged_by: User,
    now: datetime | None = None,
    source_key: str | None = None,
) -> TimeEntry:
    """Log time for a customer; returns the entry with its split."""
    now = now or timezone.now()
    _require_editor(logged_by, subscription)
    with transaction.atomic(), audit_actor(logged_by):
        subscription = subscription_lock(subscription)
        hours = time_entry_check(subscription=subscription, fields=fields, now=now)
        entry = TimeEntry.objects.create(
            subscription=subscription,
            worked_on=fields.worked_on,
            hours=hours,
            program=fields.program,
            line_of_business=fields.line_of_business,
            entitlement=fields.entitlement,
            expansion_scope=fields.expansion_scope,
            description=fields.description,
            adjusts=fields.adjusts,
            source_key=source_key,
            logged_by=logged_by,
            logged_at=now,
            **_period_fields(subscription, fields.worked_on),
        )
        changed = subscription_splits_save(subscription)
        _queue_alerts(subscription.pk)
    for name, value in changed[entry.pk].items():  # a new entry's split always changes
        setattr(entry, name, value)
    return entry


def _require_open(entry: TimeEntry) -> None:
    closing = QuarterClosing.objects.filter(
        contract_id=entry.subscription.contract_id, quarter_index=entry.quarter_index
    ).first()
    if closing is not None:
        raise ValidationError({"worked_on": [closed_quarter_message(closing)]})


def _require_same_work_if_corrected(entry: TimeEntry, fields: EntryFields) -> None:
    """Corrections were made against this entry's deliverable and scope; those stay."""
    same = (entry.entitlement_id, entry.expansion_scope_id) == (
        getattr(fields.entitlement, "pk", None),
        getattr(fields.expansion_scope, "pk", None),
    )
    if not same and entry.adjustments.exists():
        raise ValidationError(
            {
                "entitlement": [
                    "This entry has been corrected by adjusting entries, so its deliverable "
                    "and expansion scope stay as they are."
                ]
            }
        )


def _merged(entry: TimeEntry, changes: dict) -> EntryFields:
    """The entry as it stands (read under the lock), with only the given fields changed."""
    current = {name: getattr(entry, name) for name in EntryFields.__dataclass_fields__}
    return EntryFields(**(current | changes))


def time_entry_change(
    *,
    entry: TimeEntry,
    by: User,
    fields: EntryFields | None = None,
    changes: dict | None = None,
    now: datetime | None = None,
) -> TimeEntry:
    """Change an entry of an open quarter (into an open quarter): all its `fields`, or only the
    `changes` given, merged into the entry as it stands once the lock is held, so two people
    changing different fields at once both keep their change."""
    now = now or timezone.now()
    _require_editor(by, entry.subscription)
    with transaction.atomic(), audit_actor(by):
        subscription = subscription_lock(entry.subscription)
        entry = TimeEntry.objects.select_related("subscription__contract").get(pk=entry.pk)
        _require_open(entry)
        if fields is None:
            fields = _merged(entry, changes or {})
        _require_same_work_if_corrected(entry, fields)
        hours = time_entry_check(
            subscription=subscription, fields=fields, now=now, entry_id=entry.pk
        )
        entry.worked_on = fields.worked_on
        entry.hours = hours
        entry.program = fields.program
        entry.line_of_business = fields.line_of_business
        entry.entitlement = fields.entitlement
        entry.expansion_scope = fields.expansion_scope
        entry.description = fields.description
        entry.adjusts = fields.adjusts
        for name, value in _period_fields(subscription, fields.worked_on).items():
            if name != "year_index":
                setattr(entry, name, value)
        entry.save()
        subscription_splits_save(subscription)
        _queue_alerts(subscription.pk)
    entry.refresh_from_db()
    return entry


def time_entry_delete(*, entry: TimeEntry, by: User) -> None:
    """Delete an entry of an open quarter; corrections to closed quarters are adjustments."""
    _require_editor(by, entry.subscription)
    with transaction.atomic(), audit_actor(by):
        subscription = subscription_lock(entry.subscription)
        entry = TimeEntry.objects.select_related("subscription__contract").get(pk=entry.pk)
        _require_open(entry)
        if entry.adjustments.exists():
            raise ValidationError(
                {"adjusts": ["Entries corrected by adjusting entries stay; adjust them again."]}
            )
        entry.delete()
        subscription_splits_save(subscription)
        _queue_alerts(subscription.pk)
