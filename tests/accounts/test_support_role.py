import pytest

from accounts.models import User
from accounts.roles import role_permissions
from accounts.selectors import organizations_visible_to, sees_all_customers
from tests.factories import OrganizationFactory, UserFactory


@pytest.mark.django_db
def test_a_support_engineer_is_staff_who_works_tickets_and_reads_the_rest():
    OrganizationFactory(name="Northwind", slug="northwind")
    engineer = UserFactory(email="sam@vendor.example", role=User.Role.SUPPORT)

    assert engineer.is_staff
    assert sees_all_customers(engineer)
    assert organizations_visible_to(engineer).count() == 1
    permissions = role_permissions("support")
    assert {"tickets.add_ticket", "tickets.change_ticket", "cso.view_contract"} <= permissions
    assert "cso.change_contract" not in permissions
    assert "tickets.delete_ticket" not in permissions
