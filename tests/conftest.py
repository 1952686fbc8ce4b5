import pytest
from django.core.management import call_command


@pytest.fixture
def catalog(db):
    """The shipped CSO catalog, loaded as `manage.py load_catalog` loads it."""
    call_command("load_catalog", verbosity=0)
