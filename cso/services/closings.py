"""Finance closes contract quarters: their entries become final and are billed as exported.

A closed quarter's entries cannot be changed or deleted and no entry can be logged into it;
corrections are adjusting entries in an open quarter. Because entries apply in date order,
nothing logged later can move a closed quarter's split.
"""

from datetime import date, datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import Organization, User

from ..audit import audit_actor
from ..models import Contract, PackageSubscription, QuarterClosing
from ..quarters import contract_quarters, quarter_containing


def _require_finance(user: User) -> None:
    if not (user.is_active and (user.is_superuser or user.role == User.Role.FINANCE)):
        raise PermissionDenied("Only finance closes quarters.")


def quarter_closing_on(contract: Contract, day: date) -> QuarterClosing | None:
    """The closing of the contract quarter a day of the term falls in, if finance closed it."""
    if not contract.term_start <= day <= contract.term_end:
        return None
    index = quarter_containing(contract.term_start, contract.term_end, day).index
    return QuarterClosing.objects.filter(contract=contract, quarter_index=index).first()


def _lock_hour_banks(contract_ids) -> None:
    """Take the subscriptions' locks the loggers take, so no entry lands while quarters close."""
    list(
        PackageSubscription.objects.select_for_update()
        .filter(contract_id__in=contract_ids)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def quarter_close(
    *, contract: Contract, quarter_index: int, by: User, now: datetime | None = None
) -> QuarterClosing:
    """Close one contract quarter once it has ended."""
    now = now or timezone.now()
    _require_finance(by)
    quarters = {q.index: q for q in contract_quarters(contract.term_start, contract.term_end)}
    quarter = quarters.get(quarter_index)
    if quarter is None:
        raise ValidationError(
            {"quarter_index": [f"{contract.reference} has quarters 1 to {len(quarters)}."]}
        )
    # A quarter has ended once its last day is over where the customer is.
    if quarter.end >= contract.organization.today(now):
        message = f"Quarter {quarter_index} runs until {quarter.end}; close it after."
        raise ValidationError({"quarter_index": [message]})
    with transaction.atomic(), audit_actor(by):
        _lock_hour_banks([contract.pk])
        # Quarters close in order: entries apply by date, so an open earlier quarter could
        # still move what a later closed one billed.
        closed = set(contract.closings.values_list("quarter_index", flat=True))
        still_open = [index for index in range(1, quarter_index) if index not in closed]
        if still_open:
            message = (
                f"Close quarter {still_open[0]} of {contract.reference} first; quarters close "
                "in order."
            )
            raise ValidationError({"quarter_index": [message]})
        closing, created = QuarterClosing.objects.get_or_create(
            contract=contract,
            quarter_index=quarter_index,
            defaults={
                "quarter_start": quarter.start,
                "quarter_end": quarter.end,
                "closed_at": now,
                "closed_by": by,
            },
        )
    if not created:
        raise ValidationError(
            {
                "quarter_index": [
                    f"Quarter {quarter_index} of {contract.reference} is already closed."
                ]
            }
        )
    return closing


def quarters_close_through(
    *,
    through: date,
    by: User,
    organization: Organization | None = None,
    now: datetime | None = None,
) -> list[QuarterClosing]:
    """Close every contract quarter that ended on or before `through` and is still open."""
    now = now or timezone.now()
    _require_finance(by)
    if through >= now.date():
        raise ValidationError(
            {"through": [f"Quarters can be closed only once they end ({through})."]}
        )
    contracts = Contract.objects.filter(term_start__lte=through).select_related("organization")
    if organization is not None:
        contracts = contracts.filter(organization=organization)
    closings = []
    with transaction.atomic(), audit_actor(by):
        _lock_hour_banks(contracts.values("pk"))
        closed = set(
            QuarterClosing.objects.filter(contract__in=contracts.values("pk")).values_list(
                "contract_id", "quarter_index"
            )
        )
        for contract in contracts:
            today = contract.organization.today(now)
            for quarter in contract_quarters(contract.term_start, contract.term_end):
                if quarter.end >= today or quarter.end > through:
                    break  # quarters close in order, up to the last one fully over
                if (contract.pk, quarter.index) not in closed:
                    # One save each, so the audit trail records every closing.
                    closings.append(
                        QuarterClosing.objects.create(
                            contract=contract,
                            quarter_index=quarter.index,
                            quarter_start=quarter.start,
                            quarter_end=quarter.end,
                            closed_at=now,
                            closed_by=by,
                        )
                    )
    return closings
