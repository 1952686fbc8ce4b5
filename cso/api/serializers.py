"""Output shapes of the catalog and of contracts in the API.

Hours and money are Decimals rendered as strings ("246.00"), so no client reads them as floats.
"""

from datetime import date

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.api.serializers import LineOfBusinessSerializer, OrganizationSummarySerializer

from ..models import (
    Contract,
    Deliverable,
    Entitlement,
    ExpansionPack,
    ExpansionUse,
    OverageRate,
    Package,
    PackageSubscription,
    Program,
    Severity,
    SubscriptionEntitlement,
    SubscriptionExpansionPack,
)
from ..selectors import overage_rate_current

# --- Catalog ------------------------------------------------------------------------------------


class ProgramSerializer(serializers.ModelSerializer):
    class Meta:
        model = Program
        fields = ["code", "name", "description", "rank"]


class DeliverableSerializer(serializers.ModelSerializer):
    program = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = Deliverable
        fields = [
            "code",
            "name",
            "definition",
            "category",
            "source_table",
            "rank",
            "is_review",
            "program",
        ]


class DeliverableSummarySerializer(serializers.ModelSerializer):
    class Meta:
        model = Deliverable
        fields = ["code", "name", "category", "source_table"]


class EntitlementSerializer(serializers.ModelSerializer):
    """What a package gives of one deliverable, with the catalog's own wording."""

    deliverable = DeliverableSummarySerializer(read_only=True)
    description = serializers.CharField(
        source="describe", read_only=True, help_text='As the catalog says it: "Monthly".'
    )

    class Meta:
        model = Entitlement
        fields = [
            "deliverable",
            "kind",
            "frequency",
            "max_per_year",
            "hours",
            "within_package_hours",
            "description",
            "note",
        ]


class ExpansionPackSerializer(serializers.ModelSerializer):
    class Meta:
        model = ExpansionPack
        fields = ["level", "deployments", "hours", "within_package_hours"]


class PackageSerializer(serializers.ModelSerializer):
    catalog_version = serializers.CharField(source="catalog_version.version", read_only=True)
    entitlements = EntitlementSerializer(many=True, read_only=True)
    expansion_pack = ExpansionPackSerializer(read_only=True, allow_null=True)

    class Meta:
        model = Package
        fields = [
            "code",
            "name",
            "rank",
            "quarterly_hours",
            "annual_hours",
            "catalog_version",
            "entitlements",
            "expansion_pack",
        ]


class ExpansionUseSerializer(serializers.ModelSerializer):
    class Meta:
        model = ExpansionUse
        fields = ["code", "description", "allowed", "rank"]


class SeveritySerializer(serializers.ModelSerializer):
    class Meta:
        model = Severity
        fields = ["code", "rank", "definition"]


# --- Contracts ----------------------------------------------------------------------------------


class SignedEntitlementSerializer(EntitlementSerializer):
    """An entitlement as signed with the contract, not as the catalog says it today."""

    class Meta(EntitlementSerializer.Meta):
        model = SubscriptionEntitlement


class SignedExpansionPackSerializer(serializers.ModelSerializer):
    class Meta:
        model = SubscriptionExpansionPack
        fields = ["level", "deployments", "hours"]


class PackageSummarySerializer(serializers.ModelSerializer):
    class Meta:
        model = Package
        fields = ["code", "name"]


class SubscriptionSerializer(serializers.ModelSerializer):
    """One package bought under the contract, with the hours and terms it was signed with."""

    package = PackageSummarySerializer(read_only=True)
    lines_of_business = LineOfBusinessSerializer(many=True, read_only=True)
    entitlements = SignedEntitlementSerializer(many=True, read_only=True)
    expansion_pack = SignedExpansionPackSerializer(read_only=True, allow_null=True)

    class Meta:
        model = PackageSubscription
        fields = [
            "id",
            "package",
            "lines_of_business",
            "quarterly_hours",
            "annual_hours",
            "catalog_version",
            "entitlements",
            "expansion_pack",
        ]


class OverageRateSerializer(serializers.ModelSerializer):
    currency = serializers.CharField(source="contract.currency", read_only=True)

    class Meta:
        model = OverageRate
        fields = ["effective_from", "hourly_rate", "currency", "agreement_reference"]


class ContractSerializer(serializers.ModelSerializer):
    """A contract term: its packages, lines of business and overage rates (Section 1)."""

    organization = OrganizationSummarySerializer(read_only=True)
    subscriptions = SubscriptionSerializer(many=True, read_only=True)
    overage_rates = OverageRateSerializer(many=True, read_only=True)
    current_overage_rate = serializers.SerializerMethodField(
        help_text=(
            "The rate in force today; for a term not yet started, its first rate, and for a term "
            "that has ended, its last."
        )
    )

    class Meta:
        model = Contract
        fields = [
            "id",
            "reference",
            "organization",
            "term_start",
            "term_end",
            "currency",
            "previous_term",
            "signed_at",
            "subscriptions",
            "overage_rates",
            "current_overage_rate",
        ]

    @extend_schema_field(OverageRateSerializer(allow_null=True))
    def get_current_overage_rate(self, contract: Contract) -> dict | None:
        today: date = self.context["today"]
        rate = overage_rate_current(contract, today)
        return OverageRateSerializer(rate).data if rate is not None else None
