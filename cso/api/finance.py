"""Finance's API: closing contract quarters and the streaming overage export."""

import csv
import io
from collections.abc import Iterator

from django.http import StreamingHttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsSignedIn
from accounts.selectors import organization_ids_visible_to, sees_all_customers

from ..models import (
    QuarterClosing,
)
from ..selectors.overage import COLUMNS, OverageFilter, overage_rows
from ..services.closings import quarter_close, quarters_close_through
from . import ledger_serializers as shapes
from .ledger_common import SeesAllCustomers, service_errors
from .ledger_filters import (
    QuarterClosingFilter,
)

CSV_ROWS_PER_CHUNK = 500


# --- Quarter closings (finance) -----------------------------------------------------------------


@extend_schema(tags=["hour bank"])
class QuarterClosingViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Contract quarters finance has closed: their entries are final and billed."""

    serializer_class = shapes.QuarterClosingSerializer
    permission_classes = [SeesAllCustomers]
    filterset_class = QuarterClosingFilter
    queryset = QuarterClosing.objects.select_related("contract", "closed_by")

    @extend_schema(
        request=shapes.QuarterClosingInputSerializer,
        responses={201: shapes.QuarterClosingSerializer(many=True)},
    )
    def create(self, request, *args, **kwargs):
        """Finance closes one contract quarter, or every quarter ended by a day."""
        given = shapes.QuarterClosingInputSerializer(
            data=request.data, context={"request": request}
        )
        given.is_valid(raise_exception=True)
        data, now = given.validated_data, timezone.now()
        with service_errors():
            if "through" in data:
                closings = quarters_close_through(
                    through=data["through"],
                    organization=data["organization"],
                    by=request.user,
                    now=now,
                )
            else:
                closing = quarter_close(
                    contract=data["contract"],
                    quarter_index=data["quarter_index"],
                    by=request.user,
                    now=now,
                )
                closings = [closing]
        closings = self.get_queryset().filter(pk__in=[c.pk for c in closings])
        closed = self.get_serializer(closings, many=True).data
        return Response(closed, status=status.HTTP_201_CREATED)


# --- Overage export (finance) -------------------------------------------------------------------


def _cell(value):
    """Text a spreadsheet would run as a formula gets a leading apostrophe."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return value


def overage_csv_chunks(
    criteria: OverageFilter, rows_per_chunk: int = CSV_ROWS_PER_CHUNK
) -> Iterator[str]:
    """The export as CSV text, header first, a chunk every `rows_per_chunk` rows.

    Only one chunk is held at a time, and the rows stream from the database, so memory stays
    the same however many rows there are.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    pending = 0
    for row in overage_rows(criteria):
        writer.writerow([_cell(row[column]) for column in COLUMNS])
        pending += 1
        if pending == rows_per_chunk:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate(0)
            pending = 0
    yield buffer.getvalue()


def overage_criteria(user, query: dict) -> OverageFilter:
    """What the user asked for, narrowed to the customers they may see."""
    organization = query.get("organization")
    if organization is not None:
        organization_ids = [organization.pk]  # already checked as visible
    elif sees_all_customers(user):
        organization_ids = None
    else:
        organization_ids = list(organization_ids_visible_to(user).values_list("pk", flat=True))
    return OverageFilter(
        period_start=query["period_start"],
        period_end=query["period_end"],
        organization_ids=organization_ids,
        overage_only=query["overage_only"],
    )


class CSVRenderer(BaseRenderer):
    """Lets clients ask for text/csv; refusals come as CSV too, one message per line."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        items = data.items() if isinstance(data, dict) else [("detail", data)]
        for field, messages in items:
            for message in messages if isinstance(messages, list) else [messages]:
                writer.writerow([field, message])
        return buffer.getvalue().encode(self.charset)


@extend_schema(
    tags=["finance"],
    parameters=[shapes.OverageExportQuerySerializer],
    responses={
        (200, "text/csv"): OpenApiResponse(
            OpenApiTypes.STR, description="One row per contract quarter, rate and line."
        ),
        (400, "application/json"): OpenApiResponse(OpenApiTypes.OBJECT, description="Bad query."),
    },
)
class OverageExportView(APIView):
    """Billable hours per customer, contract, package, line of business and contract quarter,
    with the rate, the amount and approved T&E, as a CSV download. Customers get their own rows.
    """

    permission_classes = [IsSignedIn]
    renderer_classes = [JSONRenderer, CSVRenderer]

    def get(self, request):
        query = shapes.OverageExportQuerySerializer(
            data=request.query_params, context={"request": request}
        )
        query.is_valid(raise_exception=True)
        criteria = overage_criteria(request.user, query.validated_data)
        response = StreamingHttpResponse(
            overage_csv_chunks(criteria), content_type="text/csv; charset=utf-8"
        )
        name = f"overage-{criteria.period_start}-{criteria.period_end}.csv"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response
