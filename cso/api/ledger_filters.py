"""Query-string filters of the hour bank's lists."""

import django_filters

from ..models import ExpansionScope, PackageSubscription, QuarterClosing, TimeEntry, TravelExpense
from .filters import _visible_organizations


def _visible_subscriptions(request):
    # As with customers: only subscriptions the user may see are valid choices.
    return PackageSubscription.objects.filter(
        contract__organization__in=_visible_organizations(request)
    )


def _subscription_filter():
    return django_filters.ModelChoiceFilter(
        queryset=_visible_subscriptions, help_text="Id of the package subscription."
    )


def _organization_filter(field_name: str):
    return django_filters.ModelChoiceFilter(
        field_name=field_name, queryset=_visible_organizations, help_text="Id of the customer."
    )


class TimeEntryFilter(django_filters.FilterSet):
    subscription = _subscription_filter()
    organization = _organization_filter("subscription__contract__organization")
    worked_on_from = django_filters.DateFilter(
        field_name="worked_on", lookup_expr="gte", help_text="Worked on or after (YYYY-MM-DD)."
    )
    worked_on_to = django_filters.DateFilter(
        field_name="worked_on", lookup_expr="lte", help_text="Worked on or before (YYYY-MM-DD)."
    )
    program = django_filters.CharFilter(
        field_name="program__code", help_text="Program code, e.g. performance_management."
    )
    quarter_index = django_filters.NumberFilter(help_text="Contract quarter, from 1.")
    year_index = django_filters.NumberFilter(help_text="Contract year, from 1.")

    class Meta:
        model = TimeEntry
        fields = [
            "subscription",
            "organization",
            "worked_on_from",
            "worked_on_to",
            "program",
            "quarter_index",
            "year_index",
        ]


class ExpansionScopeFilter(django_filters.FilterSet):
    subscription = _subscription_filter()
    organization = _organization_filter("subscription__contract__organization")

    class Meta:
        model = ExpansionScope
        fields = ["subscription", "organization", "status"]


class TravelExpenseFilter(django_filters.FilterSet):
    subscription = _subscription_filter()
    organization = _organization_filter("subscription__contract__organization")

    class Meta:
        model = TravelExpense
        fields = ["subscription", "organization", "status"]


class QuarterClosingFilter(django_filters.FilterSet):
    organization = _organization_filter("contract__organization")

    class Meta:
        model = QuarterClosing
        fields = ["contract", "organization", "quarter_index"]
