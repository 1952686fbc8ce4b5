from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cso.models import Program, QuarterClosing, SubscriptionEntitlement, TimeEntry
from cso.services.closings import quarter_close
from cso.services.time_entries import (
    EntryFields,
    time_entry_change,
    time_entry_delete,
    time_entry_log,
)
from tests.conftest import NOW

D = Decimal


def fields(day, hours, program="performance_management", **kwargs):
    return EntryFields(
        worked_on=day, hours=hours, program=Program.objects.get(code=program), **kwargs
    )


def log(subscription, csm, day, hours, **kwargs):
    return time_entry_log(
        subscription=subscription, fields=fields(day, hours, **kwargs), logged_by=csm, now=NOW
    )


def log_days(subscription, csm, first_day, total, per_day=20):
    """Log `total` hours as whole days of `per_day` hours from `first_day` on."""
    entries, day, left = [], first_day, D(total)
    while left > 0:
        hours = min(left, D(per_day))
        entries.append(log(subscription, csm, day, str(hours)))
        day, left = day + timedelta(days=1), left - hours
    return entries


def errors_of(excinfo):
    return excinfo.value.message_dict


def test_logged_hours_are_split_against_the_quarter_and_stored(premier, csm):
    first = log(premier, csm, date(2026, 2, 2), "20")
    log_days(premier, csm, date(2026, 2, 3), "80")
    second = log(premier, csm, date(2026, 3, 3), "20")

    first.refresh_from_db()
    assert (first.included_hours, first.overage_hours, first.quarter_index) == (D(20), D(0), 1)
    assert (second.included_hours, second.overage_hours, second.limited_by) == (
        D(13),
        D(7),
        "quarter",
    )
    assert (second.quarter_start, second.quarter_end) == (date(2026, 1, 1), date(2026, 3, 31))


def test_a_back_dated_entry_moves_later_entries_into_overage(premier, csm):
    later = log(premier, csm, date(2026, 3, 20), "13")
    log_days(premier, csm, date(2026, 1, 10), "105")

    later.refresh_from_db()
    assert (later.included_hours, later.overage_hours) == (D(8), D(5))


@pytest.mark.parametrize(
    ("day", "hours", "field", "message"),
    [
        (date(2026, 4, 1), "-2", "hours", "Only an adjusting entry can give hours back."),
        (date(2026, 4, 1), "1.1", "hours", "Log time in steps of 0.25 hours (1.1)."),
        (date(2026, 4, 1), "abc", "hours", "'abc' is not a number of hours."),
        (date(2026, 4, 1), "25", "hours", "At most 24 hours fit in one day's entry."),
        (
            date(2027, 1, 1),
            "1",
            "worked_on",
            "2027-01-01 is outside the contract term 2026-01-01 to 2026-12-31.",
        ),
        (
            date(2026, 11, 24),
            "1",
            "worked_on",
            "2026-11-24 has not come yet; log time once it is worked.",
        ),
    ],
)
def test_bad_entries_are_refused_by_field_and_nothing_is_saved(
    premier, csm, day, hours, field, message
):
    with pytest.raises(ValidationError) as excinfo:
        log(premier, csm, day, hours)

    assert errors_of(excinfo) == {field: [message]}
    assert not TimeEntry.objects.exists()


def test_allowance_hours_past_the_allowance_are_overage(premier, csm):
    doc = SubscriptionEntitlement.objects.get(
        subscription=premier, deliverable__code="discretionary_operational_consulting_allowance"
    )
    log(premier, csm, date(2026, 4, 1), "20", program="operational_consulting", entitlement=doc)
    entry = log(
        premier, csm, date(2026, 4, 2), "8", program="operational_consulting", entitlement=doc
    )

    assert (entry.included_hours, entry.overage_hours, entry.limited_by) == (
        D(4),
        D(4),
        "allowance",
    )


def test_a_closed_quarter_refuses_new_changed_and_deleted_entries(premier, csm, finance):
    entry = log(premier, csm, date(2026, 2, 2), "4")
    quarter_close(contract=premier.contract, quarter_index=1, by=finance, now=NOW)
    message = (
        "Contract quarter 1 (2026-01-01 to 2026-03-31) is closed; log an adjusting entry in an "
        "open quarter instead."
    )

    with pytest.raises(ValidationError) as logged:
        log(premier, csm, date(2026, 3, 3), "1")
    with pytest.raises(ValidationError) as changed:
        time_entry_change(entry=entry, fields=fields(date(2026, 4, 1), "4"), by=csm, now=NOW)
    with pytest.raises(ValidationError) as deleted:
        time_entry_delete(entry=entry, by=csm)

    assert errors_of(logged) == errors_of(changed) == errors_of(deleted) == {"worked_on": [message]}
    assert QuarterClosing.objects.count() == 1


def test_an_adjusting_entry_in_an_open_quarter_corrects_a_closed_one(premier, csm, finance):
    log_days(premier, csm, date(2026, 2, 2), "100")
    original = log(premier, csm, date(2026, 3, 2), "20")
    quarter_close(contract=premier.contract, quarter_index=1, by=finance, now=NOW)

    with pytest.raises(ValidationError) as too_much:
        log(premier, csm, date(2026, 5, 5), "-20.25", adjusts=original)
    credit = log(premier, csm, date(2026, 5, 5), "-9", adjusts=original)
    extra = log(premier, csm, date(2026, 5, 6), "5", adjusts=original)

    assert (
        f"gives back 20.25 hours, more than entry {original.pk} has left."
        in (errors_of(too_much)["hours"][0])
    )
    assert (credit.quarter_index, credit.overage_hours, credit.included_hours) == (2, D(-7), D(-2))
    assert (extra.quarter_index, extra.included_hours) == (2, D(5))
    original.refresh_from_db()
    assert (original.included_hours, original.overage_hours) == (D(13), D(7))


def test_changing_and_deleting_an_entry_recomputes_the_others(premier, csm):
    log_days(premier, csm, date(2026, 4, 10), "90")
    big = log(premier, csm, date(2026, 4, 1), "20")
    small = log(premier, csm, date(2026, 6, 2), "10")
    small.refresh_from_db()
    assert small.overage_hours == D(7)

    time_entry_change(entry=big, fields=fields(date(2026, 4, 1), "13"), by=csm, now=NOW)
    small.refresh_from_db()
    assert small.overage_hours == D(0)

    time_entry_delete(entry=big, by=csm)
    small.refresh_from_db()
    assert (small.included_hours, small.overage_hours) == (D(10), D(0))


def test_time_is_logged_only_by_the_customers_csm(premier, csm):
    from tests.factories import CsmFactory

    with pytest.raises(PermissionDenied):
        log(premier, CsmFactory(), date(2026, 4, 1), "1")


def test_the_audit_trail_names_who_changed_what(premier, csm):
    from auditlog.models import LogEntry

    entry = log(premier, csm, date(2026, 4, 1), "2")
    time_entry_change(entry=entry, fields=fields(date(2026, 4, 1), "3"), by=csm, now=NOW)

    change = LogEntry.objects.get_for_object(entry).order_by("timestamp").last()
    assert change.actor == csm
    assert change.changes_dict["hours"] == ["2.00", "3.00"]


def test_logging_an_entry_runs_a_fixed_number_of_queries(premier, csm):
    for offset in range(30):
        log(premier, csm, date(2026, 1, 5) + timedelta(days=offset * 9), "2")

    with CaptureQueriesContext(connection) as queries:
        log(premier, csm, date(2026, 11, 20), "2")

    assert len(queries) <= 16


def test_a_corrected_entry_keeps_its_deliverable(premier, csm):
    doc = SubscriptionEntitlement.objects.get(
        subscription=premier, deliverable__code="discretionary_operational_consulting_allowance"
    )
    original = log(
        premier, csm, date(2026, 4, 1), "8", program="operational_consulting", entitlement=doc
    )
    log(
        premier,
        csm,
        date(2026, 4, 2),
        "-4",
        program="operational_consulting",
        entitlement=doc,
        adjusts=original,
    )

    with pytest.raises(ValidationError) as excinfo:
        time_entry_change(
            entry=original,
            fields=fields(date(2026, 4, 1), "8", program="operational_consulting"),
            by=csm,
            now=NOW,
        )

    assert "corrected by adjusting entries" in excinfo.value.message_dict["entitlement"][0]


def test_hours_given_back_count_in_the_corrected_entrys_quarter(premier, csm):
    from cso.selectors.consumption import subscription_consumption

    original = log(premier, csm, date(2026, 2, 2), "10")
    log(premier, csm, date(2026, 5, 5), "-4", adjusts=original)

    first = subscription_consumption(premier, date(2026, 2, 10))
    second = subscription_consumption(premier, date(2026, 5, 10))

    assert (first.quarter.usage.used, second.quarter.usage.used) == (D(6), D(0))
    assert first.year.usage.used == D(6)


def test_changes_to_different_fields_of_one_entry_both_stay(premier, csm):
    entry = log(premier, csm, date(2026, 4, 1), "2")
    stale = TimeEntry.objects.get(pk=entry.pk)

    time_entry_change(entry=entry, changes={"description": "Workshop"}, by=csm, now=NOW)
    time_entry_change(entry=stale, changes={"hours": "3"}, by=csm, now=NOW)

    entry.refresh_from_db()
    assert (entry.description, entry.hours) == ("Workshop", D(3))
