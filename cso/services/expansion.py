"""Section 9: expansion work is scoped by a CSM and decided by the customer before it starts.

The customer can approve the hours, fund the hours the pack cannot cover, or ask for a change.
A scope fits the pack when its hours are within what the pack (and expansion hours bought with
the renewal) has not already given to other approved scopes.
"""

from datetime import datetime
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F, Sum
from django.utils import timezone

from accounts.models import User
from accounts.selectors import is_customer_admin, may_edit_organization

from ..audit import audit_actor
from ..models import ExpansionScope, ExpansionUse, PackageSubscription
from .splits import subscription_lock, subscription_splits_save

ZERO = Decimal("0")


class Decision:
    APPROVE = "approve"
    FUND = "fund"
    REQUEST_CHANGE = "request_change"
    ALL = (APPROVE, FUND, REQUEST_CHANGE)


def expansion_hours_unallocated(subscription: PackageSubscription, exclude=None) -> Decimal:
    """Pack hours (and bought expansion hours) not yet given to approved scopes."""
    pack = getattr(subscription, "expansion_pack", None)
    if pack is None:
        return ZERO
    approved = ExpansionScope.objects.filter(
        subscription=subscription, status=ExpansionScope.Status.APPROVED
    )
    if exclude is not None:
        approved = approved.exclude(pk=exclude.pk)
    given = approved.aggregate(total=Sum(F("hours") - F("funded_hours")))["total"] or ZERO
    return max(pack.hours + pack.additional_hours - given, ZERO)


def _check_proposal(subscription, use: ExpansionUse, hours, title: str) -> dict:
    errors: dict[str, list[str]] = {}
    if getattr(subscription, "expansion_pack", None) is None:
        errors["subscription"] = [f"{subscription.package.name} includes no expansion pack."]
    if not use.allowed:
        errors["use"] = [f"Expansion hours cannot be used for: {use.description}."]
    if not isinstance(hours, Decimal) or not hours.is_finite() or hours <= ZERO:
        errors["hours"] = ["Give the scope's hours as a positive number."]
    elif hours % subscription.hour_increment:
        errors["hours"] = [f"Scope hours in steps of {subscription.hour_increment} hours."]
    if not title.strip():
        errors["title"] = ["Name the work being scoped."]
    return errors


def expansion_scope_propose(
    *,
    subscription: PackageSubscription,
    title: str,
    use: ExpansionUse,
    hours: Decimal,
    by: User,
    description: str = "",
    scope: ExpansionScope | None = None,
    now: datetime | None = None,
) -> ExpansionScope:
    """A CSM proposes a scope, or revises one the customer asked to change."""
    now = now or timezone.now()
    if not may_edit_organization(by, subscription.contract.organization_id):
        raise PermissionDenied("Only the customer's CSM scopes expansion work.")
    errors = _check_proposal(subscription, use, hours, title)
    if scope is not None and scope.status == ExpansionScope.Status.APPROVED:
        errors["status"] = ["An approved scope is not revised; propose a new one."]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic(), audit_actor(by):
        scope = scope or ExpansionScope(subscription=subscription)
        scope.title, scope.use, scope.hours, scope.description = title, use, hours, description
        scope.funded_hours = ZERO
        scope.status = ExpansionScope.Status.PROPOSED
        scope.proposed_by, scope.proposed_at = by, now
        scope.decided_by = scope.decided_at = None
        scope.save()
    return scope


def expansion_scope_decide(
    *,
    scope: ExpansionScope,
    decision: str,
    by: User,
    note: str = "",
    now: datetime | None = None,
) -> ExpansionScope:
    """A customer admin approves, funds the hours beyond the pack, or asks for a change."""
    now = now or timezone.now()
    if not is_customer_admin(by, scope.subscription.contract.organization_id):
        raise PermissionDenied("Only the customer's admins decide on expansion scopes.")
    if decision not in Decision.ALL:
        raise ValidationError({"decision": [f"Choose one of: {', '.join(Decision.ALL)}."]})
    with transaction.atomic(), audit_actor(by):
        # The subscription's lock: two scopes decided at once must not both take the pack.
        subscription_lock(scope.subscription)
        scope = ExpansionScope.objects.select_for_update().get(pk=scope.pk)
        if scope.status != ExpansionScope.Status.PROPOSED:
            raise ValidationError(
                {"decision": [f"'{scope.title}' is {scope.get_status_display().lower()}."]}
            )
        unallocated = expansion_hours_unallocated(scope.subscription, exclude=scope)
        beyond = max(scope.hours - unallocated, ZERO)
        if decision == Decision.REQUEST_CHANGE:
            if not note.strip():
                raise ValidationError({"note": ["Say what should change."]})
            scope.status = ExpansionScope.Status.CHANGE_REQUESTED
        elif decision == Decision.APPROVE and beyond:
            raise ValidationError(
                {
                    "decision": [
                        f"The pack has {unallocated} hours left and the scope needs "
                        f"{scope.hours}: fund the other {beyond} hours or ask for a change."
                    ]
                }
            )
        else:
            scope.status = ExpansionScope.Status.APPROVED
            scope.funded_hours = beyond if decision == Decision.FUND else ZERO
        scope.decided_by, scope.decided_at, scope.customer_note = by, now, note
        scope.save()
    return scope


def expansion_hours_buy(*, subscription: PackageSubscription, hours: Decimal, by: User):
    """Section 9: additional expansion hours "can be purchased only upon renewal"."""
    if not may_edit_organization(by, subscription.contract.organization_id):
        raise PermissionDenied("Only the customer's CSM records expansion purchases.")
    pack = getattr(subscription, "expansion_pack", None)
    errors: dict[str, list[str]] = {}
    if pack is None:
        errors["subscription"] = [f"{subscription.package.name} includes no expansion pack."]
    elif subscription.contract.previous_term_id is None:
        errors["subscription"] = [
            "Additional expansion hours can be bought only with a renewal (Section 9)."
        ]
    elif subscription.contract.closings.exists():
        errors["subscription"] = [
            "Expansion hours are bought with the renewal, before finance closes its first quarter."
        ]
    if not isinstance(hours, Decimal) or not hours.is_finite() or hours <= ZERO:
        errors["hours"] = ["Give the hours bought as a positive number."]
    if errors:
        raise ValidationError(errors)

    with transaction.atomic(), audit_actor(by):
        locked = subscription_lock(subscription)
        pack = locked.expansion_pack
        pack.additional_hours += hours  # read under the lock, so no purchase is lost
        pack.save(update_fields=["additional_hours"])
        subscription_splits_save(locked)
    return pack
