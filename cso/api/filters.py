"""Query-string filters of the catalog and contract lists."""

import django_filters

from accounts.models import Organization
from accounts.selectors import organizations_visible_to

from ..models import Contract, Deliverable, PackageSubscription
from ..selectors import contracts_active_on


def _visible_organizations(request):
    # Only the customers the user may see are valid choices, so the filter cannot be used to
    # probe for other customers.
    if request is None:
        return Organization.objects.none()
    return organizations_visible_to(request.user)


class DeliverableFilter(django_filters.FilterSet):
    class Meta:
        model = Deliverable
        fields = ["category", "source_table", "is_review"]


class ContractFilter(django_filters.FilterSet):
    organization = django_filters.ModelChoiceFilter(
        queryset=_visible_organizations, help_text="Id of the customer."
    )
    active_on = django_filters.DateFilter(
        method="filter_active_on", help_text="Contracts whose term includes this day (YYYY-MM-DD)."
    )
    package = django_filters.CharFilter(
        method="filter_package", help_text="Code of a package the contract buys, e.g. expert."
    )

    class Meta:
        model = Contract
        fields = ["organization", "active_on", "package"]

    def filter_active_on(self, queryset, name, value):
        return contracts_active_on(queryset, value)

    def filter_package(self, queryset, name, value):
        # A subquery rather than a join, so a contract buying a package twice is listed once.
        buying = PackageSubscription.objects.filter(package__code=value).values("contract_id")
        return queryset.filter(pk__in=buying)
