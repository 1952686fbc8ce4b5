"""What the hour bank's API views share: service refusals as responses, staff-only access."""

from contextlib import contextmanager
from decimal import Decimal, InvalidOperation

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import F
from rest_framework import exceptions

from accounts.permissions import IsSignedIn
from accounts.selectors import sees_all_customers

_ORGANIZATION = F("subscription__contract__organization_id")


@contextmanager
def service_errors(**renamed: str):
    """The services' refusals, as API responses: 400 with field messages, or 403.

    `renamed` maps a service's field name to the one the endpoint takes, so each message stands
    under the field the client sent.
    """
    try:
        yield
    except DjangoValidationError as error:
        if hasattr(error, "error_dict"):
            detail = {
                renamed.get(name, name): errors for name, errors in error.message_dict.items()
            }
        else:
            detail = error.messages
        raise exceptions.ValidationError(detail) from error
    except DjangoPermissionDenied as error:
        raise exceptions.PermissionDenied(str(error) or None) from error


class SeesAllCustomers(IsSignedIn):
    """Vendor staff only: CSMs, finance and superusers."""

    message = "Only CSMs and finance see this."

    def has_permission(self, request, view) -> bool:
        return super().has_permission(request, view) and sees_all_customers(request.user)


def with_organization(queryset):
    # `organization_id` lets IsStaffOrMember check the record's customer without a query.
    return queryset.annotate(organization_id=_ORGANIZATION)


def decimal_or_text(value: str) -> Decimal | str:
    """A Decimal when the text is one; otherwise the text, for the service to refuse by name."""
    try:
        return Decimal(value.strip())
    except (InvalidOperation, ValueError):
        return value
