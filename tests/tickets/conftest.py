from datetime import UTC, datetime

import pytest
from django.core.management import call_command

from accounts.models import User
from tests.factories import UserFactory
from tickets.models import SlaPolicy

# A Monday in the Premier subscription's 2026 term.
OPENED = datetime(2026, 11, 23, 14, tzinfo=UTC)


@pytest.fixture
def sla_policies(catalog):
    """The shipped SLA policies, loaded as `manage.py load_sla_policies` loads them."""
    call_command("load_sla_policies", verbosity=0)
    return {policy.code: policy for policy in SlaPolicy.objects.all()}


@pytest.fixture
def engineer(db):
    return UserFactory(email="sam@vendor.example", role=User.Role.SUPPORT, first_name="Sam")
