from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from . import views

admin.site.site_header = "Customer Success Portal"
admin.site.site_title = "Customer Success Portal"
admin.site.index_title = "Customers, contracts and the CSO catalog"

urlpatterns = [
    path("", views.home, name="home"),
    path(
        "expansion-scopes/<int:pk>/decide/",
        views.expansion_scope_decision,
        name="decide-expansion-scope",
    ),
    path(
        "travel-expenses/<int:pk>/decide/",
        views.travel_expense_decision,
        name="decide-travel-expense",
    ),
    path("calendar/<slug:token>.ics", views.review_calendar, name="review-calendar"),
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("api/v1/", include("portal.api")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
]
