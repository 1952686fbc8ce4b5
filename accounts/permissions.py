"""Who may use which API endpoint.

Querysets already come scoped from `accounts.selectors` and `cso.selectors`, so a customer asking
for another customer's record gets 404: the record is simply not there for them. These classes
are the second lock on the door: they check the object itself and the kind of request.
"""

from rest_framework.permissions import SAFE_METHODS, BasePermission

from .models import Membership, Organization, User
from .selectors import sees_all_customers


def organization_id_of(obj) -> int | None:
    """The customer a record belongs to: the organization itself or its `organization`."""
    if isinstance(obj, Organization):
        return obj.pk
    return getattr(obj, "organization_id", None)


class IsSignedIn(BasePermission):
    """An active user signed in by session or token."""

    message = "Sign in to use the portal API."

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.is_active)


class IsStaffOrMember(IsSignedIn):
    """Staff read every customer's records; a customer reads only its own organizations'."""

    def has_object_permission(self, request, view, obj) -> bool:
        user = request.user
        if sees_all_customers(user):
            return True
        organization_id = organization_id_of(obj)
        if organization_id is None:
            return False
        return Membership.objects.filter(user=user, organization_id=organization_id).exists()


class FinanceReadOnly(BasePermission):
    """Finance sees money across customers and changes nothing of customers' data."""

    message = "Finance can read customer data but not change it."

    def has_permission(self, request, view) -> bool:
        if request.method in SAFE_METHODS:
            return True
        return getattr(request.user, "role", None) != User.Role.FINANCE


# What every endpoint over customers' data uses.
CUSTOMER_DATA_PERMISSIONS = [IsStaffOrMember, FinanceReadOnly]
