"""Demo tickets: a few support cases in every state, so the SLA clocks have something to show.

Opened through the ticket services with opening times in the past, as support enters tickets
reported earlier, so every clock, pause and breach is the real arithmetic's.
"""

from datetime import datetime, timedelta

from accounts.models import Organization, User
from cso.models import PackageSubscription
from tickets.models import Ticket
from tickets.services.tickets import (
    ticket_assign,
    ticket_open,
    ticket_reply,
    ticket_status_set,
)

H = timedelta(hours=1)


def demo_tickets(*, customer: User, engineer: User, now: datetime) -> None:
    """Tickets for Northwind (Expert, on the CSO enhanced SLAs) and Fabrikam (Fundamentals, on
    standard support). Skipped when the customers already have tickets."""
    northwind = Organization.objects.get(slug="northwind")
    if Ticket.objects.filter(organization=northwind).exists():
        return
    northwind.primary_support_engineer = engineer
    northwind.save(update_fields=["primary_support_engineer"])
    expert = PackageSubscription.objects.filter(contract__organization=northwind).first()

    def opened(subject, severity, hours_ago, **extra):
        return ticket_open(
            subscription=expert,
            subject=subject,
            severity=severity,
            opened_by=engineer,
            opened_at=now - hours_ago * H,
            now=now,
            **extra,
        )

    # Resolved within the day: the root cause analysis is now due in New York business days.
    outage = opened("Chat widget down on the retail site", "P1", 30, channel="phone")
    ticket_reply(ticket=outage, author=engineer, body="On it.", now=now - 29.8 * H)
    ticket_reply(ticket=outage, author=engineer, body="Failover done.", now=now - 29 * H)
    ticket_status_set(ticket=outage, status="resolved", by=engineer, now=now - 28 * H)
    # Open, its next periodic update due in 1.5 hours: its warning falls due now.
    slow = opened("Agent console slow at peak", "P2", 5)
    ticket_reply(ticket=slow, author=engineer, body="Collecting traces.", now=now - 5.5 * H + H)
    # Waiting on the customer: every clock stands still.
    export = opened("Transcript export misses attachments", "P3", 26, kind="bug")
    ticket_reply(
        ticket=export,
        author=engineer,
        body="Could you send a conversation id?",
        now=now - 20 * H,
        wait_on_customer=True,
    )
    # Raised by the customer on the web yesterday, still without a first response: breached.
    forgotten = ticket_open(
        subscription=expert,
        subject="Question about routing rules",
        severity="P3",
        opened_by=customer,
        now=now - 30 * H,
    )
    ticket_assign(ticket=forgotten, assignee=engineer, by=engineer, now=now - 29 * H)

    fabrikam = Organization.objects.filter(slug="fabrikam").first()
    fundamentals = PackageSubscription.objects.filter(contract__organization=fabrikam).first()
    if fundamentals is not None:
        ticket_open(
            subscription=fundamentals,
            subject="Cannot log in to the agent workspace",
            severity="2",
            opened_by=engineer,
            opened_at=now - 2 * H,
            now=now,
            channel="phone",
        )
