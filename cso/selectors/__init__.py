"""Reads of the CSO domain, scoped to what the asking user may see."""

from datetime import date

from django.db.models import Prefetch, QuerySet

from accounts.models import User
from accounts.selectors import organization_ids_visible_to

from ..models import Contract, OverageRate, PackageSubscription, SubscriptionEntitlement


def contracts_visible_to(user: User) -> QuerySet[Contract]:
    return (
        Contract.objects.filter(organization__in=organization_ids_visible_to(user))
        .select_related("organization")
        .prefetch_related(
            "overage_rates",
            Prefetch(
                "subscriptions",
                queryset=PackageSubscription.objects.select_related(
                    "package", "expansion_pack"
                ).prefetch_related(
                    "lines_of_business",
                    Prefetch(
                        "entitlements",
                        queryset=SubscriptionEntitlement.objects.select_related("deliverable"),
                    ),
                ),
            ),
        )
    )


def contracts_active_on(queryset: QuerySet[Contract], day: date) -> QuerySet[Contract]:
    return queryset.filter(term_start__lte=day, term_end__gte=day)


def overage_rate_on(contract: Contract, day: date) -> OverageRate | None:
    """The rate in force on a day: the latest one effective on or before it."""
    rates = [rate for rate in contract.overage_rates.all() if rate.effective_from <= day]
    return max(rates, key=lambda rate: rate.effective_from, default=None)


def overage_rate_current(contract: Contract, today: date) -> OverageRate | None:
    """The rate to show for a contract today: before its term the first, after it the last."""
    return overage_rate_on(contract, min(max(today, contract.term_start), contract.term_end))


def subscriptions_active_for(user: User, day: date) -> QuerySet[PackageSubscription]:
    """Package subscriptions of contracts in force on a day, for the customer dashboard."""
    return (
        PackageSubscription.objects.filter(
            contract__organization__in=organization_ids_visible_to(user),
            contract__term_start__lte=day,
            contract__term_end__gte=day,
        )
        .select_related("contract__organization", "package", "expansion_pack")
        .prefetch_related(
            "lines_of_business",
            "contract__overage_rates",
            Prefetch(
                "entitlements",
                queryset=SubscriptionEntitlement.objects.select_related("deliverable").exclude(
                    kind="not_available"
                ),
            ),
        )
        .order_by("contract__organization__name", "package__rank", "pk")
    )
