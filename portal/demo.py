"""Demo data: three customers with contracts around today, and one login per role.

Used by `manage.py load_demo` (and so by `manage.py run_portal`). Idempotent: customers and
users that already exist are left as they are.
"""

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from dateutil.relativedelta import relativedelta
from django.db import transaction

from accounts.models import LineOfBusiness, Membership, Organization, User
from cso.quarters import default_term_end
from cso.services.contracts import SubscriptionSpec, contract_create

from .demo_hours import demo_finance_close, demo_hours_log, demo_requests_awaiting_customer
from .demo_schedules import demo_schedule_history
from .demo_tickets import demo_tickets

DEMO_PASSWORD = "portal-demo-2026"


@dataclass(frozen=True)
class DemoLogin:
    role: str
    email: str
    password: str = DEMO_PASSWORD


DEMO_LOGINS = (
    DemoLogin("CSM", "csm@demo.example"),
    DemoLogin("Customer admin", "admin@northwind.example"),
    DemoLogin("Customer member", "member@northwind.example"),
    DemoLogin("Finance", "finance@demo.example"),
    DemoLogin("Support engineer", "support@demo.example"),
)


def _user(email: str, *, role: str, first_name: str, last_name: str) -> User:
    user = User.objects.filter(email=email).first()
    if user is None:
        user = User.objects.create_user(
            email, DEMO_PASSWORD, role=role, first_name=first_name, last_name=last_name
        )
    return user


def _organization(name: str, slug: str, lines: list[str], csm: User) -> tuple[Organization, bool]:
    organization, created = Organization.objects.get_or_create(slug=slug, defaults={"name": name})
    organization.csms.add(csm)
    for line in lines:
        LineOfBusiness.objects.get_or_create(organization=organization, name=line)
    return organization, created


def _lines(organization: Organization, *names: str) -> list[LineOfBusiness]:
    return [organization.lines_of_business.get(name=name) for name in names]


@transaction.atomic
def demo_load(*, today: date, now: datetime | None = None) -> list[DemoLogin]:
    """Create the demo customers, people, contracts and tickets (requires the catalog and, for
    the tickets, the SLA policies to be loaded). `now` places the tickets' clocks."""
    csm = _user("csm@demo.example", role=User.Role.CSM, first_name="Casey", last_name="Morgan")
    finance = _user(
        "finance@demo.example", role=User.Role.FINANCE, first_name="Frances", last_name="Lee"
    )
    signed = []
    this_month = today.replace(day=1)

    northwind, created = _organization(
        "Northwind Traders", "northwind", ["Retail", "Wholesale"], csm
    )
    created_northwind = created
    if created:
        # One Expert package shared by two lines of business: one set of deliverables (Section 1).
        northwind_contract = contract_create(
            organization=northwind,
            term_start=this_month - relativedelta(months=4),
            currency="USD",
            overage_rate=Decimal("175.00"),
            subscriptions=[
                SubscriptionSpec(
                    package="expert", lines_of_business=_lines(northwind, "Retail", "Wholesale")
                )
            ],
            signed_by=csm,
        )
        signed.append((northwind_contract, 0.85))
    for email, role, first in (
        ("admin@northwind.example", Membership.Role.ADMIN, "Alex"),
        ("member@northwind.example", Membership.Role.MEMBER, "Morgan"),
    ):
        user = _user(email, role=User.Role.CUSTOMER, first_name=first, last_name="Northwind")
        Membership.objects.get_or_create(user=user, organization=northwind, defaults={"role": role})

    contoso, created = _organization("Contoso Bank", "contoso", ["Cards", "Mortgages"], csm)
    if created:
        # Two Premier packages, one per line of business: two full sets of deliverables.
        start = this_month - relativedelta(months=7)
        contoso_contract = contract_create(
            organization=contoso,
            term_start=start,
            currency="EUR",
            overage_rate=Decimal("160.00"),
            subscriptions=[
                SubscriptionSpec(package="premier", lines_of_business=_lines(contoso, "Cards")),
                SubscriptionSpec(package="premier", lines_of_business=_lines(contoso, "Mortgages")),
            ],
            signed_by=csm,
        )
        signed.append((contoso_contract, 1.1))  # past the quarter's hours: overage to bill

    fabrikam, created = _organization("Fabrikam Health", "fabrikam", ["Patient Care"], csm)
    if created:
        # A term ending within the renewal window, so the renewal reminder has work to do.
        start = this_month - relativedelta(months=11)
        fabrikam_contract = contract_create(
            organization=fabrikam,
            term_start=start,
            term_end=default_term_end(start),
            currency="USD",
            overage_rate=Decimal("150.00"),
            subscriptions=[
                SubscriptionSpec(
                    package="fundamentals", lines_of_business=_lines(fabrikam, "Patient Care")
                )
            ],
            signed_by=csm,
        )
        signed.append((fabrikam_contract, 0.6))
    for contract, intensity in signed:
        demo_hours_log(contract=contract, csm=csm, today=today, intensity=intensity)
    demo_schedule_history(contracts=[contract for contract, _ in signed], csm=csm, today=today)
    if signed:
        demo_finance_close(finance=finance, today=today)
    if created_northwind:
        demo_requests_awaiting_customer(contract=northwind_contract, csm=csm, today=today)
    engineer = _user(
        "support@demo.example", role=User.Role.SUPPORT, first_name="Sam", last_name="Rivera"
    )
    if now is not None:
        customer = User.objects.get(email="admin@northwind.example")
        demo_tickets(customer=customer, engineer=engineer, now=now)
    return list(DEMO_LOGINS)
