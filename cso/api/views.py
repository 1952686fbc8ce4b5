"""Read-only API views over the CSO catalog and customers' contracts."""

from django.db.models import Prefetch
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import viewsets
from rest_framework.permissions import IsAuthenticated

from accounts.permissions import CUSTOMER_DATA_PERMISSIONS

from ..models import Deliverable, Entitlement, ExpansionUse, Package, Program, Severity
from ..selectors import contracts_visible_to
from . import serializers
from .filters import ContractFilter, DeliverableFilter

# --- Catalog: the vendor's offer, the same for every signed-in user. ----------------------------


@extend_schema(tags=["catalog"])
class PackageViewSet(viewsets.ReadOnlyModelViewSet):
    """CSO packages (Section 1) with their entitlements (Tables 2-6, 10) and expansion pack."""

    serializer_class = serializers.PackageSerializer
    permission_classes = [IsAuthenticated]
    lookup_field = "code"
    queryset = Package.objects.select_related("catalog_version", "expansion_pack").prefetch_related(
        Prefetch("entitlements", queryset=Entitlement.objects.select_related("deliverable"))
    )


@extend_schema(tags=["catalog"])
class DeliverableViewSet(viewsets.ReadOnlyModelViewSet):
    """Deliverables, support types and training offers (Tables 2-6 and 10)."""

    serializer_class = serializers.DeliverableSerializer
    permission_classes = [IsAuthenticated]
    lookup_field = "code"
    queryset = Deliverable.objects.select_related("program")
    filterset_class = DeliverableFilter


@extend_schema(tags=["catalog"])
class ProgramViewSet(viewsets.ReadOnlyModelViewSet):
    """Key elements of Customer Success Management (Table 1)."""

    serializer_class = serializers.ProgramSerializer
    permission_classes = [IsAuthenticated]
    lookup_field = "code"
    queryset = Program.objects.all()


@extend_schema(tags=["catalog"])
class SeverityViewSet(viewsets.ReadOnlyModelViewSet):
    """Issue severities that drive support responsiveness (Table 7)."""

    serializer_class = serializers.SeveritySerializer
    permission_classes = [IsAuthenticated]
    lookup_field = "code"
    queryset = Severity.objects.all()


@extend_schema(tags=["catalog"])
class ExpansionUseViewSet(viewsets.ReadOnlyModelViewSet):
    """What expansion pack hours can and cannot be used for (Section 9)."""

    serializer_class = serializers.ExpansionUseSerializer
    permission_classes = [IsAuthenticated]
    lookup_field = "code"
    queryset = ExpansionUse.objects.all()


# --- Contracts: scoped to the customers the user may see. ---------------------------------------


@extend_schema(tags=["contracts"])
class ContractViewSet(viewsets.ReadOnlyModelViewSet):
    """Contracts you may see, with their packages as signed and their overage rates."""

    serializer_class = serializers.ContractSerializer
    permission_classes = CUSTOMER_DATA_PERMISSIONS
    filterset_class = ContractFilter

    def get_queryset(self):
        return contracts_visible_to(self.request.user)

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "today": timezone.localdate()}
