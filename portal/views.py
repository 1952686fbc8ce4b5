"""The signed-in home page: a customer's package dashboard, with its hour bank and the expansion
scopes and T&E that await the customer's decision; and the customer's review calendar feed."""

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from itertools import groupby

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST, require_safe

from accounts.models import Membership, Organization
from accounts.selectors import organization_ids_visible_to, sees_all_customers
from cso.calendars import organization_review_feed
from cso.models import Deliverable, ExpansionScope, PackageSubscription, TravelExpense
from cso.quarters import Period, quarter_containing, year_containing
from cso.selectors import overage_rate_on, subscriptions_active_for
from cso.selectors.consumption import PeriodConsumption, subscriptions_consumption
from cso.services.expansion import Decision, expansion_scope_decide
from cso.services.expenses import travel_expense_decide


@dataclass(frozen=True)
class PeriodPanel:
    """One period's hours as the dashboard shows them."""

    label: str
    consumption: PeriodConsumption
    warn_from: Decimal  # where the bar turns to a warning: the first consumption alert

    @property
    def by_program(self) -> list:
        return sorted(self.consumption.by_program.items(), key=lambda item: -item[1].used)


@dataclass
class SubscriptionCard:
    subscription: PackageSubscription
    today: date
    quarter: Period
    year: Period
    overage_rate: object
    entitlement_groups: list[tuple[str, list]]
    hours: list[PeriodPanel] = field(default_factory=list)
    pending_scopes: list[ExpansionScope] = field(default_factory=list)
    pending_expenses: list[TravelExpense] = field(default_factory=list)
    decides: bool = False  # the viewer is an admin of this customer


def _card(subscription: PackageSubscription, today: date) -> SubscriptionCard:
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
    day = min(max(today, contract.term_start), contract.term_end)
    return SubscriptionCard(
        subscription=subscription,
        today=today,
        quarter=quarter_containing(contract.term_start, contract.term_end, day),
        year=year_containing(contract.term_start, contract.term_end, day),
        overage_rate=overage_rate_on(contract, day),
        entitlement_groups=groups,
    )


def _panel(label: str, consumption: PeriodConsumption) -> PeriodPanel:
    first_alert = min(settings.CONSUMPTION_ALERT_THRESHOLDS, default=100)
    warn_from = (consumption.allowance * first_alert / 100).quantize(Decimal("0.01"))
    return PeriodPanel(label, consumption, warn_from)


def _add_hour_bank(cards: list[SubscriptionCard], user) -> None:
    """Consumption and pending decisions of every card, in a fixed number of queries."""
    by_id = {card.subscription.pk: card for card in cards}
    consumption = subscriptions_consumption((card.subscription, card.today) for card in cards)
    for pk, figures in consumption.items():
        by_id[pk].hours = [
            _panel("This quarter", figures.quarter),
            _panel("This year", figures.year),
        ]
    scopes = ExpansionScope.objects.filter(
        subscription__in=list(by_id), status=ExpansionScope.Status.PROPOSED
    ).select_related("use", "proposed_by")
    for scope in scopes:
        by_id[scope.subscription_id].pending_scopes.append(scope)
    expenses = TravelExpense.objects.filter(
        subscription__in=list(by_id), status=TravelExpense.Status.REQUESTED
    ).select_related("line_of_business", "requested_by")
    for expense in expenses:
        by_id[expense.subscription_id].pending_expenses.append(expense)
    administered = set(
        Membership.objects.filter(user=user, role=Membership.Role.ADMIN).values_list(
            "organization_id", flat=True
        )
    )
    for card in cards:
        card.decides = card.subscription.contract.organization_id in administered


@login_required
def home(request):
    now = timezone.now()
    today = timezone.localdate(now)
    cards = [
        _card(s, s.contract.organization.today(now))
        for s in subscriptions_active_for(request.user, today)
    ]
    if cards:
        _add_hour_bank(cards, request.user)
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
            "decisions": Decision,
        },
    )


# --- The customer's decisions, from the dashboard -----------------------------------------------


def _refused(request, error: Exception) -> None:
    if isinstance(error, ValidationError):
        for message in error.messages:
            messages.error(request, message)
    else:
        messages.error(request, str(error))


def _back(subscription_id: int):
    return redirect(f"{reverse('home')}#subscription-{subscription_id}")


def _visible(model, request, pk: int):
    return get_object_or_404(
        model.objects.select_related("subscription__contract"),
        pk=pk,
        subscription__contract__organization__in=organization_ids_visible_to(request.user),
    )


_DONE = {
    Decision.APPROVE: "You approved '{title}' ({hours} hours).",
    Decision.FUND: "You approved '{title}' ({hours} hours) and funded {funded} hours beyond the "
    "expansion pack.",
    Decision.REQUEST_CHANGE: "You asked for a change to '{title}'; your CSM will revise it.",
}


@login_required
@require_POST
def expansion_scope_decision(request, pk: int):
    """Section 9: a customer admin approves, funds or asks to change a scoped effort."""
    scope = _visible(ExpansionScope, request, pk)
    decision = request.POST.get("decision", "")
    try:
        scope = expansion_scope_decide(
            scope=scope,
            decision=decision,
            by=request.user,
            note=request.POST.get("note", ""),
            now=timezone.now(),
        )
    except (ValidationError, PermissionDenied) as error:
        _refused(request, error)
    else:
        text = _DONE[decision].format(
            title=scope.title, hours=scope.hours, funded=scope.funded_hours
        )
        messages.success(request, text)
    return _back(scope.subscription_id)


@login_required
@require_POST
def travel_expense_decision(request, pk: int):
    """Section 1: a customer admin approves or declines T&E before the trip."""
    expense = _visible(TravelExpense, request, pk)
    approve = request.POST.get("approve") == "yes"
    try:
        expense = travel_expense_decide(
            expense=expense,
            approve=approve,
            by=request.user,
            note=request.POST.get("note", ""),
            now=timezone.now(),
        )
    except (ValidationError, PermissionDenied) as error:
        _refused(request, error)
    else:
        verb = "approved" if approve else "declined"
        messages.success(request, f"You {verb} '{expense.description}' ({expense.amount}).")
    return _back(expense.subscription_id)


# --- The customer's review calendar -------------------------------------------------------------


@require_safe
def review_calendar(request, token: str):
    """The customer's reviews as an iCalendar feed. Calendar apps subscribe without signing in,
    so the secret token in the address is the key; an unknown token is simply not found."""
    organization = get_object_or_404(Organization, calendar_token=token)
    body = organization_review_feed(organization, now=timezone.now())
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'inline; filename="{organization.slug}-reviews.ics"'
    return response
