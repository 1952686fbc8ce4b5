"""Output shapes of organizations and users in the API."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ..models import LineOfBusiness, Membership, Organization, User


class LineOfBusinessSerializer(serializers.ModelSerializer):
    class Meta:
        model = LineOfBusiness
        fields = ["id", "name"]


class AssignedCsmSerializer(serializers.ModelSerializer):
    name = serializers.CharField(source="get_full_name", read_only=True)

    class Meta:
        model = User
        fields = ["name", "email"]


class OrganizationSummarySerializer(serializers.ModelSerializer):
    class Meta:
        model = Organization
        fields = ["id", "name", "slug"]


class OrganizationSerializer(serializers.ModelSerializer):
    """A customer, its lines of business, its CSMs and the asking user's place in it."""

    lines_of_business = LineOfBusinessSerializer(many=True, read_only=True)
    csms = AssignedCsmSerializer(many=True, read_only=True)
    membership_role = serializers.SerializerMethodField(
        help_text='Your role in this organization, "admin" or "member"; null for staff.'
    )

    class Meta:
        model = Organization
        fields = ["id", "name", "slug", "time_zone", "lines_of_business", "csms", "membership_role"]

    @extend_schema_field(serializers.ChoiceField(choices=Membership.Role.choices, allow_null=True))
    def get_membership_role(self, organization: Organization) -> str | None:
        # The view prefetches only the asking user's memberships into `own_memberships`.
        memberships = getattr(organization, "own_memberships", [])
        return memberships[0].role if memberships else None


class MembershipSerializer(serializers.ModelSerializer):
    organization = OrganizationSummarySerializer(read_only=True)

    class Meta:
        model = Membership
        fields = ["organization", "role"]


class MeSerializer(serializers.ModelSerializer):
    """The signed-in user, as scripts need it to know whose data they read."""

    name = serializers.CharField(source="get_full_name", read_only=True)
    memberships = MembershipSerializer(many=True, read_only=True)

    class Meta:
        model = User
        fields = ["id", "email", "first_name", "last_name", "name", "role", "memberships"]
