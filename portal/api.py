"""The REST API router, mounted at /api/v1/."""

from django.urls import path
from rest_framework.routers import DefaultRouter

from accounts.api.auth import ObtainTokenView
from accounts.api.views import MeView, OrganizationViewSet
from cso.api import finance, ledger, schedules
from cso.api import views as cso
from tickets.api import views as tickets
from tickets.api.attainment import SlaAttainmentView

router = DefaultRouter()
router.register("catalog/packages", cso.PackageViewSet, basename="package")
router.register("catalog/deliverables", cso.DeliverableViewSet, basename="deliverable")
router.register("catalog/programs", cso.ProgramViewSet, basename="program")
router.register("catalog/severities", cso.SeverityViewSet, basename="severity")
router.register("catalog/expansion-uses", cso.ExpansionUseViewSet, basename="expansion-use")
router.register("organizations", OrganizationViewSet, basename="organization")
router.register("contracts", cso.ContractViewSet, basename="contract")
router.register("time-entries", ledger.TimeEntryViewSet, basename="time-entry")
router.register("expansion-scopes", ledger.ExpansionScopeViewSet, basename="expansion-scope")
router.register("travel-expenses", ledger.TravelExpenseViewSet, basename="travel-expense")
router.register("quarter-closings", finance.QuarterClosingViewSet, basename="quarter-closing")
router.register("occurrences", schedules.OccurrenceViewSet, basename="occurrence")
router.register("tickets", tickets.TicketViewSet, basename="ticket")

urlpatterns = [
    path("me/", MeView.as_view(), name="me"),
    path("auth/token/", ObtainTokenView.as_view(), name="api-token"),
    path(
        "subscriptions/<int:pk>/consumption/",
        ledger.SubscriptionConsumptionView.as_view(),
        name="subscription-consumption",
    ),
    path(
        "subscriptions/<int:pk>/schedule-summary/",
        schedules.SubscriptionScheduleSummaryView.as_view(),
        name="subscription-schedule-summary",
    ),
    path("overage-export/", finance.OverageExportView.as_view(), name="overage-export"),
    path("sla-attainment/", SlaAttainmentView.as_view(), name="sla-attainment"),
    *router.urls,
]
