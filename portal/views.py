"""The signed-in home page: a customer's package dashboard."""

from dataclasses import dataclass
from itertools import groupby

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils import timezone

from accounts.selectors import sees_all_customers
from cso.models import Deliverable, PackageSubscription
from cso.quarters import Period, quarter_containing, year_containing
from cso.selectors import overage_rate_on, subscriptions_active_for


@dataclass(frozen=True)
class SubscriptionCard:
    subscription: PackageSubscription
    quarter: Period
    year: Period
    overage_rate: object
    entitlement_groups: list[tuple[str, list]]


def _card(subscription: PackageSubscription, today) -> SubscriptionCard:
    contract = subscription.contract
    labels = dict(Deliverable.Category.choices)
    # The prefetch keeps SubscriptionEntitlement's ordering (table, then rank), and each table
    # is one category, so consecutive runs are the groups.
    groups = [
        (labels[category], list(items))
        for category, items in groupby(
            subscription.entitlements.all(), key=lambda e: e.deliverable.category
        )
    ]
    return SubscriptionCard(
        subscription=subscription,
        quarter=quarter_containing(contract.term_start, contract.term_end, today),
        year=year_containing(contract.term_start, contract.term_end, today),
        overage_rate=overage_rate_on(contract, today),
        entitlement_groups=groups,
    )


@login_required
def home(request):
    today = timezone.localdate()
    cards = [_card(s, today) for s in subscriptions_active_for(request.user, today)]
    by_customer = [
        (organization, list(items))
        for organization, items in groupby(
            cards, key=lambda c: c.subscription.contract.organization
        )
    ]
    return render(
        request,
        "portal/dashboard.html",
        {
            "today": today,
            "by_customer": by_customer,
            "is_staff_view": sees_all_customers(request.user),
        },
    )
