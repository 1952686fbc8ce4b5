"""Demo hour-bank activity: logged time, a closed quarter, a scope and a trip awaiting the customer.

Logged through the same services CSMs use, so every split, alert and audit entry is real.
"""

import random
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from accounts.models import User
from cso.models import Contract, ExpansionUse, Program
from cso.quarters import contract_quarters
from cso.services.closings import quarters_close_through
from cso.services.expansion import expansion_scope_propose
from cso.services.expenses import travel_expense_request
from cso.services.time_entries import EntryFields, time_entry_log

# Programs a CSM's week is spread over, with how often each comes up.
_PROGRAM_WEIGHTS = {
    "performance_management": 5,
    "operational_consulting": 3,
    "solutions_engineering": 2,
    "premium_technical_support": 2,
    "onboarding_deployment": 1,
}


def _workdays(start: date, end: date):
    day = start
    while day <= end:
        if day.weekday() < 5:
            yield day
        day += timedelta(days=1)


def demo_hours_log(*, contract: Contract, csm: User, today: date, intensity: float) -> None:
    """Log time on every subscription, about `intensity` of each quarter's hours."""
    programs = {p.code: p for p in Program.objects.filter(code__in=_PROGRAM_WEIGHTS)}
    codes = [code for code in _PROGRAM_WEIGHTS if code in programs]
    weights = [_PROGRAM_WEIGHTS[code] for code in codes]
    now = datetime.combine(today, time(12), tzinfo=UTC)
    rng = random.Random(contract.reference)
    for subscription in contract.subscriptions.all():
        lines = list(subscription.lines_of_business.all())
        for quarter in contract_quarters(contract.term_start, contract.term_end):
            days = list(_workdays(quarter.start, min(quarter.end, today - timedelta(days=1))))
            if not days:
                break
            target = subscription.quarterly_hours * Decimal(str(intensity))
            per_entry = max(Decimal(2), (target / 5).to_integral_value() / 4)  # quarter hours
            logged = Decimal(0)
            for day in sorted(rng.sample(days, k=min(20, len(days)))):
                if logged >= target:
                    break
                hours = min(per_entry, Decimal(24))
                time_entry_log(
                    subscription=subscription,
                    fields=EntryFields(
                        worked_on=day,
                        hours=hours,
                        program=programs[rng.choices(codes, weights)[0]],
                        line_of_business=rng.choice(lines) if lines else None,
                        description="Working session with the customer's team",
                    ),
                    logged_by=csm,
                    now=now,
                )
                logged += hours


def demo_finance_close(*, finance: User, today: date) -> None:
    """Finance has closed every contract quarter that ended before this month."""
    through = today.replace(day=1) - timedelta(days=1)
    now = datetime.combine(today, time(12), tzinfo=UTC)
    quarters_close_through(through=through, by=finance, now=now)


def demo_requests_awaiting_customer(*, contract: Contract, csm: User, today: date) -> None:
    """An expansion scope and a trip for the customer admin to decide on the dashboard."""
    now = datetime.combine(today, time(12), tzinfo=UTC)
    subscription = contract.subscriptions.first()
    use = ExpansionUse.objects.filter(allowed=True).first()
    if use is not None and hasattr(subscription, "expansion_pack"):
        expansion_scope_propose(
            subscription=subscription,
            title="Launch the messaging channel for Wholesale",
            use=use,
            hours=Decimal("24"),
            description="Bot flows, routing and agent workspace for the Wholesale line.",
            by=csm,
            now=now,
        )
    trip = min(today + timedelta(days=14), contract.term_end)
    if trip > today:
        travel_expense_request(
            subscription=subscription,
            incurred_on=trip,
            description="Onsite quarterly business review",
            amount=Decimal("1850.00"),
            by=csm,
            now=now,
        )
