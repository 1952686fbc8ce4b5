"""Section 1: travel and expenses are "subject to the customer's advance approval".

A CSM requests T&E before the trip; a customer admin approves or declines it by the travel
date at the latest. Only approved T&E reaches the finance export, and never the hours.
"""

from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import LineOfBusiness, User
from accounts.selectors import is_customer_admin, may_edit_organization

from ..audit import audit_actor
from ..models import PackageSubscription, TravelExpense
from ..quarters import quarter_containing
from .closings import quarter_closing_on

MAX_AMOUNT = Decimal("9999999999.99")


def _amount(value, errors: dict) -> Decimal | None:
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        amount = None
    if amount is None or not amount.is_finite():
        errors["amount"] = [f"'{value}' is not an amount."]
    elif amount <= 0:
        errors["amount"] = ["The amount must be more than zero."]
    elif amount != amount.quantize(Decimal("0.01")) or amount > MAX_AMOUNT:
        errors["amount"] = [f"'{value}' needs at most two decimal places and 10 digits."]
    else:
        return amount
    return None


def travel_expense_request(
    *,
    subscription: PackageSubscription,
    incurred_on: date,
    description: str,
    amount: Decimal | str,
    by: User,
    line_of_business: LineOfBusiness | None = None,
    now: datetime | None = None,
) -> TravelExpense:
    """A CSM asks the customer to approve a trip's costs before it happens."""
    now = now or timezone.now()
    contract = subscription.contract
    if not may_edit_organization(by, contract.organization_id):
        raise PermissionDenied("Only the customer's CSM requests T&E.")
    errors: dict[str, list[str]] = {}
    value = _amount(amount, errors)
    if not contract.term_start <= incurred_on <= contract.term_end:
        errors["incurred_on"] = [
            f"{incurred_on} is outside the contract term {contract.term_start} to "
            f"{contract.term_end}."
        ]
    elif incurred_on < contract.organization.today(now):
        errors["incurred_on"] = [
            "T&E needs the customer's approval in advance; request it before the travel date."
        ]
    elif quarter_closing_on(contract, incurred_on) is not None:
        errors["incurred_on"] = [f"The contract quarter of {incurred_on} is closed and billed."]
    if not description.strip():
        errors["description"] = ["Say what the trip is for."]
    if (
        line_of_business is not None
        and not subscription.lines_of_business.filter(pk=line_of_business.pk).exists()
    ):
        errors["line_of_business"] = [f"'{line_of_business}' is not covered by this package."]
    if errors:
        raise ValidationError(errors)
    quarter = quarter_containing(contract.term_start, contract.term_end, incurred_on)
    with transaction.atomic(), audit_actor(by):
        return TravelExpense.objects.create(
            subscription=subscription,
            line_of_business=line_of_business,
            incurred_on=incurred_on,
            quarter_index=quarter.index,
            quarter_start=quarter.start,
            quarter_end=quarter.end,
            description=description.strip(),
            amount=value,
            requested_by=by,
            requested_at=now,
        )


def travel_expense_decide(
    *,
    expense: TravelExpense,
    approve: bool,
    by: User,
    note: str = "",
    now: datetime | None = None,
) -> TravelExpense:
    """A customer admin approves or declines, no later than the travel date."""
    now = now or timezone.now()
    subscription = expense.subscription
    if not is_customer_admin(by, subscription.contract.organization_id):
        raise PermissionDenied("Only the customer's admins approve T&E.")
    with transaction.atomic(), audit_actor(by):
        expense = TravelExpense.objects.select_for_update().get(pk=expense.pk)
        if expense.status != TravelExpense.Status.REQUESTED:
            raise ValidationError({"status": [f"Already {expense.get_status_display().lower()}."]})
        if approve and subscription.contract.organization.today(now) > expense.incurred_on:
            raise ValidationError(
                {"status": ["The travel date has passed; approval must come in advance."]}
            )
        if approve and quarter_closing_on(subscription.contract, expense.incurred_on):
            raise ValidationError({"status": ["The trip's contract quarter is closed and billed."]})
        expense.status = TravelExpense.Status.APPROVED if approve else TravelExpense.Status.DECLINED
        expense.decided_by, expense.decided_at, expense.customer_note = by, now, note
        expense.save()
    return expense
