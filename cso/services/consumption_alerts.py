"""Alerts when a subscription's hours reach 80% and 100% of a quarter's or a year's allowance.

Each (subscription, period, threshold) is recorded in `ConsumptionAlert` under a unique
constraint in the same transaction that sends the email, so a task run twice, two workers at
once or two entries landing together alert once. A beat sweep catches up on any alert whose
task was lost.
"""

from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.db.models import F, Sum
from django.urls import reverse

from accounts.models import Membership, User

from ..models import ConsumptionAlert, PackageSubscription, TimeEntry
from ..quarters import contract_quarters, contract_years
from ..selectors.consumption import counted_in

Kind = ConsumptionAlert.PeriodKind


def _thresholds() -> list[int]:
    return sorted(settings.CONSUMPTION_ALERT_THRESHOLDS)


def _used_by_period(subscription: PackageSubscription) -> dict[tuple[str, int], Decimal]:
    used = F("included_hours") + F("overage_hours")
    entries = TimeEntry.objects.filter(subscription=subscription)
    totals = {}
    for kind, column in ((Kind.QUARTER, "quarter_index"), (Kind.YEAR, "year_index")):
        rows = entries.annotate(period=counted_in(column)).values("period")
        for row in rows.annotate(used=Sum(used)).order_by("period"):
            totals[kind, row["period"]] = row["used"]
    return totals


def _recipients(subscription: PackageSubscription) -> list[str]:
    organization_id = subscription.contract.organization_id
    csms = User.objects.filter(assigned_organizations=organization_id, is_active=True)
    admins = User.objects.filter(
        memberships__organization_id=organization_id,
        memberships__role=Membership.Role.ADMIN,
        is_active=True,
    )
    return sorted({user.email for user in [*csms, *admins]})


def _email(subscription, kind: str, period, threshold: int, used, allowance) -> EmailMessage:
    contract = subscription.contract
    organization = contract.organization
    overage = max(used - allowance, Decimal("0"))
    link = settings.PORTAL_BASE_URL + reverse("home")
    return EmailMessage(
        subject=(
            f"{organization.name}: {threshold}% of the {kind}'s hours used "
            f"({subscription.package.name}, {contract.reference})"
        ),
        body=(
            f"{organization.name} has used {used} of the {allowance} hours of contract {kind} "
            f"{period.index} ({period.start:%d %b %Y} to {period.end:%d %b %Y}) under the "
            f"{subscription.package.name} package of {contract.reference}.\n\n"
            + (
                f"{overage} hours are beyond the {kind}'s hours and billed as overage at the "
                "agreed rate.\n\n"
                if overage
                else "Hours beyond the allowance are billed as overage at the agreed rate.\n\n"
            )
            + f"Package dashboard: {link}\n"
        ),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=_recipients(subscription),
    )


def consumption_alerts_send(*, subscription_id: int, now: datetime) -> int:
    """Send the alerts this subscription is due and has not had; returns how many went out."""
    subscription = PackageSubscription.objects.select_related(
        "contract__organization", "package"
    ).get(pk=subscription_id)
    contract = subscription.contract
    periods = {
        Kind.QUARTER: {
            p.index: p for p in contract_quarters(contract.term_start, contract.term_end)
        },
        Kind.YEAR: {p.index: p for p in contract_years(contract.term_start, contract.term_end)},
    }
    allowance = {Kind.QUARTER: subscription.quarterly_hours, Kind.YEAR: subscription.annual_hours}
    sent = set(
        ConsumptionAlert.objects.filter(subscription=subscription).values_list(
            "period_kind", "period_index", "threshold_percent"
        )
    )
    count = 0
    for (kind, index), used in sorted(_used_by_period(subscription).items()):
        cap = allowance[kind]
        due = [
            t
            for t in _thresholds()
            if cap and used * 100 >= cap * t and (kind, index, t) not in sent
        ]
        if not due:
            continue
        try:
            with transaction.atomic():
                ConsumptionAlert.objects.bulk_create(
                    ConsumptionAlert(
                        subscription=subscription,
                        period_kind=kind,
                        period_index=index,
                        threshold_percent=threshold,
                        used_hours=used,
                        allowance_hours=cap,
                        sent_at=now,
                    )
                    for threshold in due
                )
                # One email names the highest threshold reached; lower ones count as told.
                _email(subscription, kind, periods[kind][index], due[-1], used, cap).send()
        except IntegrityError:
            continue  # another worker recorded (and sent) it first
        count += 1
    return count


def subscriptions_due_consumption_alerts(*, now: datetime) -> list[int]:
    """Subscriptions of current terms with a period past a threshold it has no alert for.

    One grouped query per period kind over the time entries, plus one over the alerts sent.
    """
    thresholds = _thresholds()
    recent = now.date() - timedelta(days=120)
    live = TimeEntry.objects.filter(subscription__contract__term_end__gte=recent)
    used = Sum(F("included_hours") + F("overage_hours"))
    due = set()
    for kind, column, cap in (
        (Kind.QUARTER, "quarter_index", "subscription__quarterly_hours"),
        (Kind.YEAR, "year_index", "subscription__annual_hours"),
    ):
        rows = (
            live.annotate(period=counted_in(column))
            .values("subscription_id", "period", cap)
            .annotate(used=used)
            .filter(used__gte=F(cap) * Decimal(thresholds[0]) / 100, **{f"{cap}__gt": 0})
            .values_list("subscription_id", "period", "used", cap)
        )
        for sub, index, total, allowance in rows:
            due |= {(kind, sub, index, t) for t in thresholds if total * 100 >= allowance * t}
    if not due:
        return []
    alerted = set(
        ConsumptionAlert.objects.filter(
            subscription_id__in={sub for _, sub, _, _ in due}
        ).values_list("period_kind", "subscription_id", "period_index", "threshold_percent")
    )
    return sorted({sub for _, sub, _, _ in due - alerted})


def consumption_alerts_sweep(*, now: datetime) -> int:
    """Catch up on alerts whose task never ran (lost message, downtime)."""
    return sum(
        consumption_alerts_send(subscription_id=sub, now=now)
        for sub in subscriptions_due_consumption_alerts(now=now)
    )
