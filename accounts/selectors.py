"""Who sees and edits which customers. Every page, API endpoint and export reads through here."""

from django.db.models import QuerySet

from .models import Membership, Organization, User


def sees_all_customers(user: User) -> bool:
    """Staff (CSMs, finance, support engineers, superusers) read across customers; customers read
    only their own."""
    return user.is_active and (user.is_superuser or user.role in User.STAFF_ROLES)


def organizations_visible_to(user: User) -> QuerySet[Organization]:
    if not user.is_authenticated:
        return Organization.objects.none()
    if sees_all_customers(user):
        return Organization.objects.all()
    return Organization.objects.filter(memberships__user=user).distinct()


def organizations_editable_by(user: User) -> QuerySet[Organization]:
    """CSMs edit the customers assigned to them; finance and customers edit no customer data."""
    if not user.is_authenticated or not user.is_active:
        return Organization.objects.none()
    if user.is_superuser:
        return Organization.objects.all()
    if user.role == User.Role.CSM:
        return Organization.objects.filter(csms=user)
    return Organization.objects.none()


def organization_ids_visible_to(user: User) -> QuerySet:
    return organizations_visible_to(user).values("pk")


def may_edit_organization(user: User, organization_id: int) -> bool:
    """Whether the services let this person change the customer's data (see above)."""
    return organizations_editable_by(user).filter(pk=organization_id).exists()


def is_customer_admin(user: User, organization_id: int) -> bool:
    """Customer admins decide for their organization (expansion scopes, T&E)."""
    return Membership.objects.filter(
        user=user, organization_id=organization_id, role=Membership.Role.ADMIN
    ).exists()
