"""Importing time entries from CSV and Excel: every row checked first, nothing saved twice."""

from datetime import date
from decimal import Decimal
from io import BytesIO

import openpyxl
import pytest
import time_machine
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.db.models import Sum
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from import_export.formats.base_formats import CSV, XLSX

from cso.models import Program, TimeEntry
from cso.resources import TimeEntryResource
from cso.services.closings import quarter_close
from cso.services.time_entries import EntryFields, time_entry_log
from tests.conftest import NOW
from tests.factories import CsmFactory, OrganizationFactory

D = Decimal
HEADER = (
    "entry_id,customer,contract,package,worked_on,hours,program,line_of_business,deliverable,"
    "expansion_scope,description,logged_by"
)
IMPORT_URL = reverse("admin:cso_timeentry_import")


def csv_file(*rows: str) -> str:
    return "\n".join([HEADER, *rows]) + "\n"


def import_csv(text: str, user, dry_run=False):
    return TimeEntryResource(now=NOW).import_data(
        CSV(encoding="utf-8").create_dataset(text), user=user, dry_run=dry_run
    )


def row_errors(result) -> dict:
    return {row.number: row.error_dict for row in result.invalid_rows}


def total_hours() -> Decimal:
    return TimeEntry.objects.aggregate(total=Sum("hours"))["total"] or D(0)


GOOD_ROWS = (
    "crm-1,northwind,NW-2026,premier,2026-02-02,8,performance_management,Retail,,,Kick-off,",
    ",Northwind,NW-2026,premier,2026-03-03,6,Performance Management & Success Planning,"
    "Wholesale,general_account_consulting,,Account review,casey@vendor.example",
)


# Through the resource ---------------------------------------------------------------------


def log(subscription, csm, day, hours):
    fields = EntryFields(
        worked_on=day, hours=hours, program=Program.objects.get(code="performance_management")
    )
    return time_entry_log(subscription=subscription, fields=fields, logged_by=csm, now=NOW)


def test_a_good_csv_is_logged_through_the_service_with_its_split(premier, csm):
    for day in range(5):
        log(premier, csm, date(2026, 1, 5 + day), "21")

    result = import_csv(csv_file(*GOOD_ROWS), csm)

    assert row_errors(result) == {} and not result.has_errors()
    assert result.totals["new"] == 2
    kick_off, review = TimeEntry.objects.filter(source_key__isnull=False).order_by("worked_on")
    assert kick_off.source_key == "import:crm-1"
    assert (kick_off.hours, kick_off.line_of_business.name, kick_off.logged_by) == (
        D(8),
        "Retail",
        csm,
    )
    assert review.source_key.startswith("row:") and len(review.source_key) == 4 + 64
    assert review.entitlement.deliverable.code == "general_account_consulting"
    # Section 1: the quarter has 113 hours; 105 + 8 use them up, so the next 6 are overage.
    assert (kick_off.included_hours, kick_off.overage_hours) == (D(8), D(0))
    assert (review.included_hours, review.overage_hours, review.limited_by) == (
        D(0),
        D(6),
        "quarter",
    )


def test_a_good_xlsx_with_date_and_number_cells_is_imported(premier, csm):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(HEADER.split(","))
    sheet.append([17, "northwind", "NW-2026", "premier", date(2026, 4, 6), 2.5, "expansion"])
    sheet.append([None, "northwind", "NW-2026", "premier", date(2026, 4, 7), 4])
    sheet["G2"] = "performance_management"
    sheet["G3"] = "operational_consulting"
    sheet["K3"] = "Staffing model"
    stream = BytesIO()
    workbook.save(stream)

    result = TimeEntryResource(now=NOW).import_data(
        XLSX().create_dataset(stream.getvalue()), user=csm
    )

    assert row_errors(result) == {}
    first, second = TimeEntry.objects.order_by("worked_on")
    assert (first.source_key, first.worked_on, first.hours, first.program.code) == (
        "import:17",
        date(2026, 4, 6),
        D("2.5"),
        "performance_management",
    )
    assert (second.worked_on, second.hours, second.program.code, second.description) == (
        date(2026, 4, 7),
        D(4),
        "operational_consulting",
        "Staffing model",
    )
    assert second.source_key.startswith("row:")


def test_a_file_with_bad_rows_saves_nothing_and_says_row_column_and_why(premier, csm, finance):
    quarter_close(contract=premier.contract, quarter_index=1, by=finance, now=NOW)
    CsmFactory(email="other@vendor.example")
    OrganizationFactory(name="Globex", slug="globex")
    rows = (
        "ok-1,northwind,NW-2026,premier,2026-04-01,2,performance_management,,,,Fine,",
        "b-2,acme,NW-2026,premier,2026-04-01,2,performance_management,,,,,",
        "b-3,globex,NW-2026,premier,2026-04-01,2,performance_management,,,,,",
        "b-4,northwind,NW-2025,premier,2026-04-01,2,performance_management,,,,,",
        "b-5,northwind,NW-2026,premier,2027-01-04,2,performance_management,,,,,",
        "b-6,northwind,NW-2026,premier,2026-04-01,-2,performance_management,,,,,",
        "b-7,northwind,NW-2026,premier,2026-04-01,1.1,performance_management,,,,,",
        "b-8,northwind,NW-2026,premier,2026-02-02,2,performance_management,,,,,",
        "b-9,northwind,NW-2026,premier,2026-04-01,2,performance_management,,,,,"
        "other@vendor.example",
        "b-10,northwind,NW-2026,expert,04/01/2026,2,coaching,Logistics,,,,",
        "b-11,northwind,NW-2026,premier,2026-04-01,2,operational_consulting,,"
        "general_account_consulting,,,",
        "b-12,northwind,NW-2026,premier,,,performance_management,,nonsense,,,",
    )
    closed = (
        "Contract quarter 1 (2026-01-01 to 2026-03-31) is closed; log an adjusting entry in an "
        "open quarter instead."
    )

    with CaptureQueriesContext(connection) as queries:
        result = import_csv(csv_file(*rows), csm)

    # Checked before anything is written: not even the good first row was written.
    assert not [q for q in queries.captured_queries if 'INSERT INTO "cso_timeentry"' in q["sql"]]
    assert not TimeEntry.objects.exists()
    assert row_errors(result) == {
        2: {"customer": ["No customer has the slug or name 'acme'."]},
        3: {"customer": ["Globex is not one of your customers; its CSM imports its time."]},
        4: {"contract": ["Northwind has no contract 'NW-2025'."]},
        5: {"worked_on": ["2027-01-04 is outside the contract term 2026-01-01 to 2026-12-31."]},
        6: {"hours": ["Only an adjusting entry can give hours back."]},
        7: {"hours": ["Log time in steps of 0.25 hours (1.1)."]},
        8: {"worked_on": [closed]},
        9: {"logged_by": ["other@vendor.example is not a CSM of Northwind."]},
        10: {
            "line_of_business": ["Northwind has no line of business 'Logistics'."],
            "worked_on": ["'04/01/2026' is not a date; write it as YYYY-MM-DD."],
            "program": ["No program is 'coaching'."],
        },
        11: {
            "program": [
                "'General Account Consulting' belongs to Performance Management & Success "
                "Planning, not Operational Consulting."
            ]
        },
        12: {
            "worked_on": ["Give the day worked, as YYYY-MM-DD."],
            "hours": ["Give the hours worked."],
            "deliverable": ["Premier under NW-2026 has no deliverable 'nonsense'."],
        },
    }
    assert result.totals["invalid"] == 11


def test_an_unknown_package_and_a_deliverable_the_package_lacks_are_refused(premier, csm):
    rows = (
        "p-1,northwind,NW-2026,expert,2026-04-01,2,performance_management,,,,,",
        "p-2,northwind,NW-2026,premier,2026-04-01,2,performance_management,,monthly_business_review,,,",
        "p-3,northwind,NW-2026,premier,2026-04-01,2,expansion,,,999,,",
    )

    result = import_csv(csv_file(*rows), csm)

    assert row_errors(result) == {
        1: {"package": ["NW-2026 has no 'expert' package."]},
        2: {
            "deliverable": [
                "The package does not include 'Monthly Business Review: Not available'."
            ]
        },
        3: {"expansion_scope": ["Premier under NW-2026 has no expansion scope '999'."]},
    }


def test_importing_the_same_file_twice_adds_nothing_and_reports_skipped_rows(premier, csm):
    text = csv_file(*GOOD_ROWS)
    first = import_csv(text, csm)
    hours_after_first = total_hours()

    second = import_csv(text, csm)

    assert (first.totals["new"], first.totals["skip"]) == (2, 0)
    assert (second.totals["new"], second.totals["skip"]) == (0, 2)
    assert total_hours() == hours_after_first == D(14)
    assert TimeEntry.objects.count() == 2


def test_a_row_is_known_by_its_content_however_it_names_things(premier, csm):
    import_csv(
        csv_file(",northwind,NW-2026,premier,2026-05-04,4,performance_management,,,,X,"), csm
    )

    again = import_csv(
        csv_file(
            ",Northwind,NW-2026,PREMIER,2026-05-04,4.00,Performance Management & Success "
            "Planning,,,,X,CASEY@vendor.example"
        ),
        csm,
    )

    assert again.totals["skip"] == 1
    assert TimeEntry.objects.count() == 1


def test_identical_rows_without_entry_id_in_one_file_are_one_entry(premier, csm):
    same = ",northwind,NW-2026,premier,2026-05-04,3,performance_management,,,,Workshop,"

    result = import_csv(csv_file(same, same), csm)

    assert (result.totals["new"], result.totals["skip"]) == (1, 1)
    assert total_hours() == D(3)


def test_one_entry_id_with_two_different_rows_is_refused(premier, csm):
    result = import_csv(
        csv_file(
            "x-1,northwind,NW-2026,premier,2026-05-04,3,performance_management,,,,,",
            "x-1,northwind,NW-2026,premier,2026-05-05,3,performance_management,,,,,",
        ),
        csm,
    )

    assert row_errors(result) == {2: {"entry_id": ["Row 1 has this entry_id with other values."]}}
    assert not TimeEntry.objects.exists()


def test_an_entry_id_already_imported_is_skipped_even_in_a_closed_quarter(premier, csm, finance):
    fields = EntryFields(
        worked_on=date(2026, 2, 2),
        hours="5",
        program=Program.objects.get(code="performance_management"),
    )
    time_entry_log(
        subscription=premier, fields=fields, logged_by=csm, now=NOW, source_key="import:crm-1"
    )
    quarter_close(contract=premier.contract, quarter_index=1, by=finance, now=NOW)

    result = import_csv(csv_file(GOOD_ROWS[0]), csm)

    assert (result.totals["skip"], row_errors(result)) == (1, {})
    assert total_hours() == D(5)


# Through the admin: upload, preview, confirm ----------------------------------------------


def upload(client, text: str, name="time.csv"):
    data = {"format": "0", "resource": "0", "import_file": SimpleUploadedFile(name, text.encode())}
    return client.post(IMPORT_URL, data)


def confirm(client, preview):
    data = dict(preview.context["confirm_form"].initial)
    return client.post(reverse("admin:cso_timeentry_process_import"), data)


@pytest.fixture
def signed_in_csm(client, csm):
    client.force_login(csm)
    with time_machine.travel(NOW, tick=False):
        yield client


def test_the_admin_previews_the_split_then_imports_on_confirmation(premier, signed_in_csm):
    preview = upload(signed_in_csm, csv_file(*GOOD_ROWS))

    assert preview.status_code == 200
    assert not TimeEntry.objects.exists()
    assert [row.import_type for row in preview.context["result"].valid_rows()] == ["new", "new"]
    assert "Import finished" not in preview.content.decode()

    done = confirm(signed_in_csm, preview)

    assert done.status_code == 302
    assert [str(m) for m in get_messages(done.wsgi_request)] == [
        "Import finished: 2 new, 0 updated, 0 deleted and 0 skipped time entries."
    ]
    assert total_hours() == D(14)


def test_the_admin_skips_a_file_imported_before(premier, signed_in_csm):
    confirm(signed_in_csm, upload(signed_in_csm, csv_file(*GOOD_ROWS)))

    preview = upload(signed_in_csm, csv_file(*GOOD_ROWS))
    done = confirm(signed_in_csm, preview)

    assert [row.import_type for row in preview.context["result"].valid_rows()] == ["skip", "skip"]
    assert "Import finished: 0 new, 0 updated, 0 deleted and 2 skipped time entries." in [
        str(m) for m in get_messages(done.wsgi_request)
    ]
    assert total_hours() == D(14)


def test_the_admin_lists_each_bad_row_and_offers_no_confirmation(premier, signed_in_csm):
    text = csv_file(
        GOOD_ROWS[0], "b-2,northwind,NW-2026,premier,2026-04-01,1.1,performance_management,,,,,"
    )

    page = upload(signed_in_csm, text)

    assert "confirm_form" not in page.context
    assert "Some rows failed to validate" in page.content.decode()
    assert "Log time in steps of 0.25 hours (1.1)." in page.content.decode()
    assert not TimeEntry.objects.exists()


def test_a_quarter_closed_between_preview_and_confirmation_saves_nothing(
    premier, signed_in_csm, finance
):
    preview = upload(signed_in_csm, csv_file(*GOOD_ROWS))
    quarter_close(contract=premier.contract, quarter_index=1, by=finance, now=NOW)

    done = confirm(signed_in_csm, preview)

    assert done.url == IMPORT_URL
    shown = [str(m) for m in get_messages(done.wsgi_request)]
    assert shown[-1] == "Nothing of the file was imported."
    assert shown[0].startswith("Row 1, worked_on: Contract quarter 1 (2026-01-01 to 2026-03-31)")
    assert not TimeEntry.objects.exists()


def test_finance_does_not_import_time(premier, client, finance):
    client.force_login(finance)

    assert client.get(IMPORT_URL).status_code == 403
    assert "Import" not in client.get(reverse("admin:cso_timeentry_changelist")).content.decode()
