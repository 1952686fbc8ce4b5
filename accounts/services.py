"""Writes about customers and the people who look after them."""

from django.core.exceptions import ValidationError
from django.db import transaction

from .models import Organization, User


@transaction.atomic
def organization_csm_assign(*, organization: Organization, csm: User) -> None:
    """Assign a CSM to a customer, which lets them edit its data.

    Called when a CSM adds a customer in the admin, so that they can go on to record its
    lines of business, people and contracts.
    """
    if csm.role != User.Role.CSM:
        raise ValidationError({"csm": [f"{csm.email} is not a customer success manager."]})
    organization.csms.add(csm)
