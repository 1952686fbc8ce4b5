import pytest
from django.core.management import call_command

from accounts.models import User
from tests.factories import CsmFactory, FinanceFactory


@pytest.fixture
def catalog(db):
    """The shipped CSO catalog, loaded as `manage.py load_catalog` loads it."""
    call_command("load_catalog", verbosity=0)


@pytest.fixture
def csm(db):
    return CsmFactory(email="casey@vendor.example", first_name="Casey", last_name="Lee")


@pytest.fixture
def finance(db):
    return FinanceFactory(email="fin@vendor.example")


@pytest.fixture
def superuser(db):
    return User.objects.create_superuser("root@vendor.example", "pass-word-123")
