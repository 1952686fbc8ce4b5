"""Read-only API views over customers and the signed-in user."""

from django.db.models import Prefetch, prefetch_related_objects
from drf_spectacular.utils import extend_schema
from rest_framework import generics, viewsets

from ..models import Membership
from ..permissions import CUSTOMER_DATA_PERMISSIONS, IsSignedIn
from ..selectors import organizations_visible_to
from .serializers import MeSerializer, OrganizationSerializer


@extend_schema(tags=["customers"])
class OrganizationViewSet(viewsets.ReadOnlyModelViewSet):
    """Customers you may see: your own organizations, or every customer if you are staff."""

    serializer_class = OrganizationSerializer
    permission_classes = CUSTOMER_DATA_PERMISSIONS

    def get_queryset(self):
        user = self.request.user
        own_memberships = Membership.objects.none()
        if user.is_authenticated:
            own_memberships = Membership.objects.filter(user=user)
        return organizations_visible_to(user).prefetch_related(
            "lines_of_business",
            "csms",
            Prefetch("memberships", queryset=own_memberships, to_attr="own_memberships"),
        )


@extend_schema(tags=["you"])
class MeView(generics.RetrieveAPIView):
    """You: your role and the organizations you belong to."""

    serializer_class = MeSerializer
    permission_classes = [IsSignedIn]

    def get_object(self):
        user = self.request.user
        memberships = Membership.objects.select_related("organization")
        prefetch_related_objects([user], Prefetch("memberships", queryset=memberships))
        return user
