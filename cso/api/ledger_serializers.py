"""Shapes of the hour bank in the API: time entries, consumption, expansion scopes, T&E and
quarter closings.

Output serializers only read. Input serializers only parse what a person sends; the rules
(budgets, closed quarters, who may decide) are the services', which word the messages users see.
Hours and amounts therefore arrive as text and the services judge them; Decimals go out as
strings ("12.50").
"""

from rest_framework import serializers

from accounts.api.serializers import LineOfBusinessSerializer
from accounts.models import LineOfBusiness, Organization
from accounts.selectors import organization_ids_visible_to

from ..models import (
    Contract,
    ExpansionScope,
    ExpansionUse,
    PackageSubscription,
    Program,
    QuarterClosing,
    SubscriptionEntitlement,
    TimeEntry,
    TravelExpense,
)
from ..services.expansion import Decision

HOURS_HELP = 'Hours as text, e.g. "1.50"; negative only on an adjusting entry.'


def _hours(**kwargs) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=9, decimal_places=2, read_only=True, **kwargs)


class VisibleRelatedField(serializers.PrimaryKeyRelatedField):
    """A related id the asking user may see; another customer's id reads as non-existent."""

    def __init__(self, model, organization_path: str, **kwargs):
        self.model, self.organization_path = model, organization_path
        # The unscoped queryset only names the model (for the schema); lookups use get_queryset.
        super().__init__(queryset=model.objects.all(), **kwargs)

    def get_queryset(self):
        request = self.context.get("request")
        if request is None:
            return self.model.objects.none()
        visible = organization_ids_visible_to(request.user)
        return self.model.objects.filter(**{f"{self.organization_path}__in": visible})


# --- Time entries -------------------------------------------------------------------------------


class TimeEntrySerializer(serializers.ModelSerializer):
    """A time entry with how the budget split it (Section 1)."""

    organization = serializers.IntegerField(
        source="subscription.contract.organization_id", read_only=True
    )
    contract = serializers.CharField(source="subscription.contract.reference", read_only=True)
    package = serializers.CharField(source="subscription.package.code", read_only=True)
    program = serializers.SlugRelatedField(slug_field="code", read_only=True)
    program_name = serializers.CharField(source="program.name", read_only=True)
    line_of_business = LineOfBusinessSerializer(read_only=True, allow_null=True)
    deliverable = serializers.CharField(
        source="entitlement.deliverable.name", read_only=True, allow_null=True
    )
    logged_by = serializers.CharField(source="logged_by.get_full_name", read_only=True)
    included_hours = _hours()
    overage_hours = _hours()
    prepaid_hours = _hours(help_text="Covered by expansion hours bought with the renewal.")
    additional_cost_hours = _hours()

    class Meta:
        model = TimeEntry
        fields = [
            "id",
            "subscription",
            "organization",
            "contract",
            "package",
            "worked_on",
            "hours",
            "program",
            "program_name",
            "line_of_business",
            "entitlement",
            "deliverable",
            "expansion_scope",
            "description",
            "adjusts",
            "logged_by",
            "logged_at",
            "quarter_index",
            "quarter_start",
            "quarter_end",
            "year_index",
            "included_hours",
            "overage_hours",
            "prepaid_hours",
            "additional_cost_hours",
            "limited_by",
        ]
        read_only_fields = fields


class TimeEntryInputSerializer(serializers.Serializer):
    """What a CSM says about an entry; the split is derived."""

    subscription = VisibleRelatedField(
        PackageSubscription,
        "contract__organization",
        help_text="The package subscription the time was spent under; fixed once logged.",
    )
    worked_on = serializers.DateField()
    hours = serializers.CharField(help_text=HOURS_HELP)
    program = serializers.SlugRelatedField(slug_field="code", queryset=Program.objects.all())
    line_of_business = VisibleRelatedField(
        LineOfBusiness, "organization", required=False, allow_null=True, default=None
    )
    entitlement = VisibleRelatedField(
        SubscriptionEntitlement,
        "subscription__contract__organization",
        required=False,
        allow_null=True,
        default=None,
        help_text="The signed entitlement (deliverable) the time delivered.",
    )
    expansion_scope = VisibleRelatedField(
        ExpansionScope,
        "subscription__contract__organization",
        required=False,
        allow_null=True,
        default=None,
    )
    description = serializers.CharField(required=False, allow_blank=True, default="")
    adjusts = VisibleRelatedField(
        TimeEntry,
        "subscription__contract__organization",
        required=False,
        allow_null=True,
        default=None,
        help_text="The entry in a closed quarter this adjusting entry corrects.",
    )


class TimeEntryChangeSerializer(TimeEntryInputSerializer):
    subscription = None  # an entry stays with its subscription


# --- Consumption --------------------------------------------------------------------------------


class UsageSerializer(serializers.Serializer):
    used = _hours(help_text="Hours counted against the package: included plus overage.")
    included = _hours()
    overage = _hours()
    prepaid = _hours()
    additional_cost = _hours(help_text="Billed outside the package's hours.")


class ProgramUsageSerializer(UsageSerializer):
    program = serializers.CharField(read_only=True, allow_null=True, help_text="Program code.")
    program_name = serializers.CharField(read_only=True)
    entries = serializers.URLField(
        read_only=True, allow_null=True, help_text="The entries behind these hours."
    )


class PeriodConsumptionSerializer(UsageSerializer):
    index = serializers.IntegerField(read_only=True, help_text="Contract quarter or year number.")
    start = serializers.DateField(read_only=True)
    end = serializers.DateField(read_only=True)
    allowance = _hours()
    remaining = _hours(help_text="Included hours left; a quarter's is bounded by its year's.")
    percent_used = serializers.DecimalField(max_digits=7, decimal_places=1, read_only=True)
    by_program = ProgramUsageSerializer(many=True, read_only=True)
    entry_ids = serializers.ListField(child=serializers.IntegerField(), read_only=True)
    entries = serializers.URLField(read_only=True, help_text="The entries behind these figures.")


class ConsumptionSerializer(serializers.Serializer):
    subscription = serializers.IntegerField(read_only=True)
    organization = serializers.IntegerField(read_only=True)
    contract = serializers.CharField(read_only=True)
    package = serializers.CharField(read_only=True)
    on = serializers.DateField(read_only=True)
    quarter = PeriodConsumptionSerializer(read_only=True)
    year = PeriodConsumptionSerializer(read_only=True)


class ConsumptionQuerySerializer(serializers.Serializer):
    on = serializers.DateField(
        required=False, help_text="The day to report on (YYYY-MM-DD); today for the customer."
    )


# --- Expansion scopes (Section 9) ---------------------------------------------------------------


class ExpansionScopeSerializer(serializers.ModelSerializer):
    organization = serializers.IntegerField(
        source="subscription.contract.organization_id", read_only=True
    )
    use = serializers.SlugRelatedField(slug_field="code", read_only=True)
    use_description = serializers.CharField(source="use.description", read_only=True)
    status = serializers.CharField(
        read_only=True, help_text="proposed, approved or change_requested."
    )
    status_display = serializers.CharField(source="get_status_display", read_only=True)
    proposed_by = serializers.CharField(source="proposed_by.get_full_name", read_only=True)
    decided_by = serializers.CharField(
        source="decided_by.get_full_name", read_only=True, allow_null=True
    )

    class Meta:
        model = ExpansionScope
        fields = [
            "id",
            "subscription",
            "organization",
            "title",
            "use",
            "use_description",
            "description",
            "hours",
            "funded_hours",
            "status",
            "status_display",
            "proposed_by",
            "proposed_at",
            "decided_by",
            "decided_at",
            "customer_note",
        ]
        read_only_fields = fields


class ExpansionScopeInputSerializer(serializers.Serializer):
    subscription = VisibleRelatedField(PackageSubscription, "contract__organization")
    title = serializers.CharField(allow_blank=True)
    use = serializers.SlugRelatedField(slug_field="code", queryset=ExpansionUse.objects.all())
    hours = serializers.CharField(help_text="Hours the work is scoped at, as text.")
    description = serializers.CharField(required=False, allow_blank=True, default="")


class ExpansionScopeChangeSerializer(ExpansionScopeInputSerializer):
    subscription = None  # a scope stays with its subscription


class ExpansionDecisionSerializer(serializers.Serializer):
    decision = serializers.ChoiceField(
        choices=[
            (Decision.APPROVE, "Approve the hours"),
            (Decision.FUND, "Fund the hours beyond the pack"),
            (Decision.REQUEST_CHANGE, "Ask for a change of scope"),
        ]
    )
    note = serializers.CharField(
        required=False, allow_blank=True, default="", help_text="Required to request a change."
    )


# --- Travel and expenses (Section 1) ------------------------------------------------------------


class TravelExpenseSerializer(serializers.ModelSerializer):
    organization = serializers.IntegerField(
        source="subscription.contract.organization_id", read_only=True
    )
    currency = serializers.CharField(source="subscription.contract.currency", read_only=True)
    line_of_business = LineOfBusinessSerializer(read_only=True, allow_null=True)
    status = serializers.CharField(read_only=True, help_text="requested, approved or declined.")
    status_display = serializers.CharField(source="get_status_display", read_only=True)
    requested_by = serializers.CharField(source="requested_by.get_full_name", read_only=True)
    decided_by = serializers.CharField(
        source="decided_by.get_full_name", read_only=True, allow_null=True
    )

    class Meta:
        model = TravelExpense
        fields = [
            "id",
            "subscription",
            "organization",
            "line_of_business",
            "incurred_on",
            "quarter_index",
            "quarter_start",
            "quarter_end",
            "description",
            "amount",
            "currency",
            "status",
            "status_display",
            "requested_by",
            "requested_at",
            "decided_by",
            "decided_at",
            "customer_note",
        ]
        read_only_fields = fields


class TravelExpenseInputSerializer(serializers.Serializer):
    subscription = VisibleRelatedField(PackageSubscription, "contract__organization")
    incurred_on = serializers.DateField(help_text="Date of travel.")
    description = serializers.CharField(allow_blank=True)
    amount = serializers.CharField(help_text='The amount as text, e.g. "1250.00".')
    line_of_business = VisibleRelatedField(
        LineOfBusiness, "organization", required=False, allow_null=True, default=None
    )


class TravelExpenseDecisionSerializer(serializers.Serializer):
    approve = serializers.BooleanField(help_text="true to approve, false to decline.")
    note = serializers.CharField(required=False, allow_blank=True, default="")


# --- Quarter closings ---------------------------------------------------------------------------


class QuarterClosingSerializer(serializers.ModelSerializer):
    organization = serializers.IntegerField(source="contract.organization_id", read_only=True)
    contract_reference = serializers.CharField(source="contract.reference", read_only=True)
    closed_by = serializers.CharField(source="closed_by.get_full_name", read_only=True)

    class Meta:
        model = QuarterClosing
        fields = [
            "id",
            "contract",
            "contract_reference",
            "organization",
            "quarter_index",
            "quarter_start",
            "quarter_end",
            "closed_at",
            "closed_by",
        ]
        read_only_fields = fields


class QuarterClosingInputSerializer(serializers.Serializer):
    """Either one quarter of one contract, or every quarter ended by a day."""

    contract = VisibleRelatedField(Contract, "organization", required=False)
    quarter_index = serializers.IntegerField(required=False, min_value=1)
    through = serializers.DateField(
        required=False, help_text="Close every open quarter that ended on or before this day."
    )
    organization = VisibleRelatedField(
        Organization,
        "pk",
        required=False,
        allow_null=True,
        default=None,
        help_text="With `through`: only this customer's contracts.",
    )

    def validate(self, data: dict) -> dict:
        one_quarter = "contract" in data or "quarter_index" in data
        if one_quarter == ("through" in data):
            raise serializers.ValidationError(
                "Give either a contract and its quarter_index, or a through date."
            )
        if one_quarter:
            missing = {"contract", "quarter_index"} - set(data)
            if missing:
                raise serializers.ValidationError(
                    {name: ["Required to close one quarter."] for name in sorted(missing)}
                )
        return data


# --- Overage export -----------------------------------------------------------------------------


class OverageExportQuerySerializer(serializers.Serializer):
    period_start = serializers.DateField(
        help_text="First day (YYYY-MM-DD): contract quarters ending in the period are exported."
    )
    period_end = serializers.DateField(help_text="Last day of the period (YYYY-MM-DD).")
    organization = VisibleRelatedField(
        Organization, "pk", required=False, help_text="Only this customer."
    )
    overage_only = serializers.BooleanField(
        required=False, default=False, help_text="Only rows with hours billed beyond the package."
    )

    def validate(self, data: dict) -> dict:
        if data["period_end"] < data["period_start"]:
            raise serializers.ValidationError({"period_end": ["The period ends before it starts."]})
        return data
