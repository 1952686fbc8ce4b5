"""The OpenAPI schema and its documentation page, which must work offline (no CDN)."""

from io import StringIO

import pytest
from django.contrib.staticfiles import finders
from django.core.management import call_command
from django.test import Client

pytestmark = pytest.mark.django_db


def test_schema_is_openapi_3_and_lists_the_api():
    response = Client().get("/api/schema/?format=json")

    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert schema["info"]["title"] == "Customer Success Portal API"
    assert {
        "/api/v1/auth/token/",
        "/api/v1/catalog/packages/{code}/",
        "/api/v1/catalog/deliverables/",
        "/api/v1/catalog/expansion-uses/",
        "/api/v1/contracts/",
        "/api/v1/contracts/{id}/",
        "/api/v1/organizations/",
        "/api/v1/me/",
    } <= set(schema["paths"])
    assert {"cookieAuth", "tokenAuth"} <= set(schema["components"]["securitySchemes"])
    contract_filters = {
        parameter["name"]
        for parameter in schema["paths"]["/api/v1/contracts/"]["get"]["parameters"]
    }
    assert {"organization", "active_on", "package"} <= contract_filters


def test_only_the_hour_bank_schedules_and_tickets_are_written_through_the_api():
    # The catalog, customers and contracts are read-only; writes go through the hour bank's
    # services (time, expansion scopes, T&E, quarter closings), the schedules' (reschedule,
    # deliver, skip, reopen, book at additional cost) and the tickets' (open, reply, status,
    # and support's assign, restored, retarget).
    schema = Client().get("/api/schema/?format=json").json()

    methods = {
        (path, method)
        for path, operations in schema["paths"].items()
        for method in operations
        if method not in {"get", "parameters"}
    }
    assert methods == {
        ("/api/v1/auth/token/", "post"),
        ("/api/v1/time-entries/", "post"),
        ("/api/v1/time-entries/{id}/", "put"),
        ("/api/v1/time-entries/{id}/", "patch"),
        ("/api/v1/time-entries/{id}/", "delete"),
        ("/api/v1/expansion-scopes/", "post"),
        ("/api/v1/expansion-scopes/{id}/", "put"),
        ("/api/v1/expansion-scopes/{id}/decision/", "post"),
        ("/api/v1/travel-expenses/", "post"),
        ("/api/v1/travel-expenses/{id}/decision/", "post"),
        ("/api/v1/quarter-closings/", "post"),
        ("/api/v1/occurrences/", "post"),
        ("/api/v1/occurrences/{id}/reschedule/", "post"),
        ("/api/v1/occurrences/{id}/deliver/", "post"),
        ("/api/v1/occurrences/{id}/skip/", "post"),
        ("/api/v1/occurrences/{id}/reopen/", "post"),
        ("/api/v1/tickets/", "post"),
        ("/api/v1/tickets/{id}/replies/", "post"),
        ("/api/v1/tickets/{id}/status/", "post"),
        ("/api/v1/tickets/{id}/assign/", "post"),
        ("/api/v1/tickets/{id}/restored/", "post"),
        ("/api/v1/tickets/{id}/retarget/", "post"),
    }


def test_schema_generates_without_warnings():
    # Raises SchemaGenerationError on any warning, such as an untyped field.
    call_command("spectacular", "--validate", "--fail-on-warn", stdout=StringIO())


def test_docs_page_serves_swagger_ui_from_the_portal_itself():
    response = Client().get("/api/docs/")

    assert response.status_code == 200
    page = response.content.decode()
    bundle = "drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js"
    assert f"/static/{bundle}" in page
    assert finders.find(bundle) is not None
    assert "cdn.jsdelivr.net" not in page
    assert "unpkg.com" not in page
