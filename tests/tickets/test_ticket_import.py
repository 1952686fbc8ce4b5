"""Importing historic tickets from CSV and Excel: each row opened by the service at its own time,
every row checked first, nothing saved twice."""

from datetime import UTC, datetime, timedelta
from io import BytesIO

import openpyxl
import pytest
import time_machine
from django.contrib.messages import get_messages
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from import_export.formats.base_formats import CSV, XLSX

from tests.tickets.conftest import OPENED
from tickets.models import Ticket
from tickets.resources import TicketResource

H = timedelta(hours=1)
HEADER = (
    "contract,package,subject,severity,kind,channel,opened_at,line_of_business,description,"
    "reference"
)
IMPORT_URL = reverse("admin:tickets_ticket_import")
GOOD_ROWS = (
    "NW-2026,premier,Chat widget down,P1,non_bug,phone,2026-11-02T09:30:00+01:00,Retail,"
    "Nothing loads,CRM-101",
    "NW-2026,PREMIER,Report export slow,P3,Bug,email,2026-11-03T10:00:00Z,,,",
)


def csv_file(*rows: str, header: str = HEADER) -> str:
    return "\n".join([header, *rows]) + "\n"


def import_csv(text: str, user, dry_run=False):
    return TicketResource(now=OPENED).import_data(
        CSV(encoding="utf-8").create_dataset(text), user=user, dry_run=dry_run
    )


def row_errors(result) -> dict:
    return {row.number: row.error_dict for row in result.invalid_rows}


@pytest.fixture
def desk(premier, sla_policies):
    return premier


# Through the resource ---------------------------------------------------------------------


def test_a_good_csv_opens_each_ticket_at_its_own_time(desk, engineer):
    result = import_csv(csv_file(*GOOD_ROWS), engineer)

    assert row_errors(result) == {} and not result.has_errors()
    assert result.totals["new"] == 2
    chat, export = Ticket.objects.order_by("opened_at")
    assert chat.opened_at == datetime(2026, 11, 2, 8, 30, tzinfo=UTC)
    assert (chat.import_reference, chat.line_of_business.name, chat.created_by) == (
        "import:CRM-101",
        "Retail",
        engineer,
    )
    assert (chat.severity, chat.kind, chat.channel, chat.description) == (
        "P1",
        "non_bug",
        "phone",
        "Nothing loads",
    )
    # Its clocks run from the opening: Premier P1, first response within the hour (Table 8).
    assert chat.targets.get(kind="first_response").due_at == chat.opened_at + H
    assert (export.kind, export.sla_policy.code, export.line_of_business) == (
        "bug",
        "cso_enhanced",
        None,
    )
    assert export.import_reference.startswith("row:") and len(export.import_reference) == 68


def test_a_good_xlsx_is_imported(desk, engineer):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(HEADER.split(","))
    sheet.append(
        ["NW-2026", "premier", "Login fails", "P2", "bug", "chat", "2026-11-20T08:00:00-05:00"]
    )
    sheet["J2"] = 4711  # a reference typed as a number
    stream = BytesIO()
    workbook.save(stream)

    result = TicketResource(now=OPENED).import_data(
        XLSX().create_dataset(stream.getvalue()), user=engineer
    )

    assert row_errors(result) == {}
    ticket = Ticket.objects.get()
    assert (ticket.import_reference, ticket.opened_at, ticket.channel) == (
        "import:4711",
        datetime(2026, 11, 20, 13, tzinfo=UTC),
        "chat",
    )


def test_a_file_with_bad_rows_saves_nothing_and_says_row_column_and_why(desk, engineer):
    rows = (
        GOOD_ROWS[0],
        "XX-1,premier,A,P1,bug,phone,2026-11-02T09:30:00+01:00,,,",
        "NW-2026,expert,A,P1,bug,phone,2026-11-02T09:30:00+01:00,,,",
        "NW-2026,premier,A,P1,bug,phone,2026-11-02 09:30,,,",
        "NW-2026,premier,A,P1,bug,phone,yesterday,,,",
        "NW-2026,premier,A,P1,feature,fax,2026-11-02T09:30:00+01:00,,,",
        "NW-2026,premier,A,1,bug,phone,2026-11-02T09:30:00+01:00,Logistics,,",
        "NW-2026,premier,A,1,bug,messaging,2026-11-02T09:30:00+01:00,,,",
        "NW-2026,premier,A,P1,bug,phone,2025-12-30T09:30:00+00:00,,,",
        "NW-2026,premier,A,P1,bug,phone,2026-11-30T09:30:00+00:00,,,",
        ",,,,,,,,,",
    )

    result = import_csv(csv_file(*rows), engineer)

    assert not Ticket.objects.exists()
    example = "like 2026-03-02T09:30:00+01:00."
    assert row_errors(result) == {
        2: {"contract": ["No contract has the reference 'XX-1'."]},
        3: {"package": ["NW-2026 has no 'expert' package."]},
        4: {"opened_at": [f"'2026-11-02 09:30' has no UTC offset: write it {example}"]},
        5: {"opened_at": [f"'yesterday' is not a time: write it {example}"]},
        6: {
            "kind": ["'feature' is not a kind: use bug or non_bug."],
            "channel": ["'fax' is not a channel: use web, phone, chat, messaging or email."],
        },
        7: {"line_of_business": ["Northwind has no line of business 'Logistics'."]},
        8: {
            "channel": [
                "The Premier package does not include the messaging channel to a primary "
                "engineer (Expert and Strategic), so a case cannot be opened by messaging "
                "(primary engineer). Open it by web, phone, chat, email."
            ],
            "severity": ['"1" is not a severity of CSO enhanced support: use P1, P2, P3.'],
        },
        9: {
            "opened_at": [
                "Contract NW-2026 runs 2026-01-01 to 2026-12-31; it does not cover 2025-12-30."
            ]
        },
        10: {"opened_at": ["A ticket cannot be opened in the future."]},
        11: {
            "contract": ["Give the contract's reference."],
            "package": ["Give the package's code, such as premier."],
            "subject": ["Give the ticket's subject."],
            "severity": [
                "Give the severity, as the package's SLA policy names it (such as P1)."
            ],
            "kind": ["Give the kind: bug or non_bug."],
            "channel": ["Give the channel: web, phone, chat, messaging or email."],
            "opened_at": [f"Give the opening time with its UTC offset, {example}"],
        },
    }  # fmt: skip
    assert result.totals["invalid"] == 10


def test_importing_the_same_file_twice_adds_nothing_and_reports_skipped_rows(desk, engineer):
    text = csv_file(*GOOD_ROWS)
    first = import_csv(text, engineer)

    second = import_csv(text, engineer)

    assert (first.totals["new"], first.totals["skip"]) == (2, 0)
    assert (second.totals["new"], second.totals["skip"]) == (0, 2)
    assert Ticket.objects.count() == 2


def test_a_row_without_reference_is_known_by_its_values_however_written(desk, engineer):
    import_csv(csv_file(GOOD_ROWS[1]), engineer)

    again = import_csv(
        csv_file("NW-2026,premier,Report export slow,P3,bug,Email,2026-11-03T11:00:00+01:00,,,"),
        engineer,
    )

    assert again.totals["skip"] == 1
    assert Ticket.objects.count() == 1


def test_one_reference_with_two_different_rows_is_refused(desk, engineer):
    result = import_csv(
        csv_file(
            "NW-2026,premier,A,P1,bug,phone,2026-11-02T09:30:00+01:00,,,R-1",
            "NW-2026,premier,B,P1,bug,phone,2026-11-02T09:30:00+01:00,,,R-1",
        ),
        engineer,
    )

    assert row_errors(result) == {2: {"reference": ["Row 1 has this reference with other values."]}}
    assert not Ticket.objects.exists()


def test_headers_may_be_written_as_people_write_them(desk, engineer):
    header = (
        "Contract reference,Package code,Subject,Severity,Kind,Channel,Opened at,"
        "Line of business,Description,Reference"
    )

    result = import_csv(csv_file(GOOD_ROWS[0], header=header), engineer)

    assert row_errors(result) == {} and Ticket.objects.count() == 1


def test_only_support_staff_import(desk, finance):
    result = import_csv(csv_file(*GOOD_ROWS), finance)

    assert [type(e.error) for e in result.base_errors] == [PermissionDenied]
    assert str(result.base_errors[0].error) == "Only support staff import tickets."
    assert not Ticket.objects.exists()


# Through the admin: upload, preview, confirm ----------------------------------------------


def upload(client, text: str, name="tickets.csv"):
    data = {"format": "0", "resource": "0", "import_file": SimpleUploadedFile(name, text.encode())}
    return client.post(IMPORT_URL, data)


def confirm(client, preview):
    data = dict(preview.context["confirm_form"].initial)
    return client.post(reverse("admin:tickets_ticket_process_import"), data)


@pytest.fixture
def signed_in_engineer(client, engineer):
    client.force_login(engineer)
    with time_machine.travel(OPENED, tick=False):
        yield client


def test_the_admin_previews_then_imports_on_confirmation(desk, signed_in_engineer):
    preview = upload(signed_in_engineer, csv_file(*GOOD_ROWS))

    assert preview.status_code == 200
    assert not Ticket.objects.exists()
    assert [row.import_type for row in preview.context["result"].valid_rows()] == ["new", "new"]
    assert "CSO enhanced support" in preview.content.decode()  # the policy each will run on

    done = confirm(signed_in_engineer, preview)

    assert done.status_code == 302
    assert [str(m) for m in get_messages(done.wsgi_request)] == [
        "Import finished: 2 new, 0 updated, 0 deleted and 0 skipped tickets."
    ]
    assert Ticket.objects.count() == 2


def test_the_admin_lists_each_bad_row_and_offers_no_confirmation(desk, signed_in_engineer):
    text = csv_file(GOOD_ROWS[0], "NW-2026,premier,A,P1,bug,phone,yesterday,,,")

    page = upload(signed_in_engineer, text)

    assert "confirm_form" not in page.context
    assert "Some rows failed to validate" in page.content.decode()
    assert "&#x27;yesterday&#x27; is not a time" in page.content.decode()
    assert not Ticket.objects.exists()


def test_finance_does_not_import_tickets(desk, client, finance):
    client.force_login(finance)

    assert client.get(IMPORT_URL).status_code == 403
