from collections import Counter
from datetime import date, timedelta

import pytest

from cso.models.catalog import OCCURRENCES_PER_YEAR
from cso.quarters import default_term_end
from cso.schedules import schedule_slots

STARTS = [
    date(2026, 1, 1),
    date(2026, 1, 31),
    date(2026, 3, 15),
    date(2024, 2, 29),
    date(2027, 8, 31),
]


@pytest.mark.parametrize("term_start", STARTS)
@pytest.mark.parametrize("frequency", sorted(OCCURRENCES_PER_YEAR))
def test_each_full_year_gets_exactly_what_the_frequency_promises(frequency, term_start):
    term_end = default_term_end(term_start, 24)

    slots = schedule_slots(frequency=frequency, term_start=term_start, term_end=term_end)

    per_year = Counter(slot.year for slot in slots)
    assert per_year == {1: OCCURRENCES_PER_YEAR[frequency], 2: OCCURRENCES_PER_YEAR[frequency]}
    # The periods tile the term: no gap, no overlap, each due on its last day.
    assert slots[0].start == term_start and slots[-1].end == term_end
    for earlier, later in zip(slots, slots[1:], strict=False):
        assert earlier.end + timedelta(days=1) == later.start
    assert all(slot.due_on == slot.end and slot.start <= slot.end for slot in slots)
    assert not any(slot.optional for slot in slots)


def test_monthly_from_the_31st_keeps_the_31st_where_the_month_has_one():
    slots = schedule_slots(
        frequency="monthly", term_start=date(2026, 1, 31), term_end=date(2027, 1, 30)
    )

    assert [s.start for s in slots[:4]] == [
        date(2026, 1, 31),
        date(2026, 3, 1),
        date(2026, 3, 31),
        date(2026, 5, 1),
    ]
    assert slots[0].due_on == date(2026, 2, 28)


def test_weekly_leftover_days_join_the_last_week_of_the_year():
    slots = schedule_slots(
        frequency="weekly", term_start=date(2024, 3, 1), term_end=date(2025, 2, 28)
    )

    assert len(slots) == 52
    assert (slots[-1].start, slots[-1].end) == (date(2025, 2, 21), date(2025, 2, 28))


def test_twice_monthly_splits_each_contract_month_in_halves():
    slots = schedule_slots(
        frequency="twice_monthly", term_start=date(2026, 3, 15), term_end=date(2027, 3, 14)
    )

    assert [(s.start, s.end) for s in slots[:2]] == [
        (date(2026, 3, 15), date(2026, 3, 29)),
        (date(2026, 3, 30), date(2026, 4, 14)),
    ]


def test_up_to_four_qbrs_are_optional_quarterly_slots():
    slots = schedule_slots(
        frequency="up_to_n_per_year",
        max_per_year=4,
        term_start=date(2026, 3, 15),
        term_end=date(2027, 3, 14),
    )

    assert [(s.start, s.due_on, s.optional) for s in slots] == [
        (date(2026, 3, 15), date(2026, 6, 14), True),
        (date(2026, 6, 15), date(2026, 9, 14), True),
        (date(2026, 9, 15), date(2026, 12, 14), True),
        (date(2026, 12, 15), date(2027, 3, 14), True),
    ]


def test_up_to_five_per_year_splits_the_year_evenly():
    slots = schedule_slots(
        frequency="up_to_n_per_year",
        max_per_year=5,
        term_start=date(2026, 1, 1),
        term_end=date(2026, 12, 31),
    )

    assert [(s.end - s.start).days + 1 for s in slots] == [73, 73, 73, 73, 73]


def test_a_short_term_gets_the_periods_that_start_in_it():
    slots = schedule_slots(
        frequency="quarterly", term_start=date(2026, 1, 1), term_end=date(2026, 8, 20)
    )

    assert [(s.start, s.end) for s in slots] == [
        (date(2026, 1, 1), date(2026, 3, 31)),
        (date(2026, 4, 1), date(2026, 6, 30)),
        (date(2026, 7, 1), date(2026, 8, 20)),
    ]


@pytest.mark.parametrize(
    ("frequency", "max_per_year", "message"),
    [
        ("fortnightly", None, "Unknown frequency 'fortnightly'."),
        ("up_to_n_per_year", None, '"Up to N per year" needs N of 1 or more.'),
        ("up_to_n_per_year", 0, '"Up to N per year" needs N of 1 or more.'),
    ],
)
def test_bad_frequencies_are_named(frequency, max_per_year, message):
    with pytest.raises(ValueError) as error:
        schedule_slots(
            frequency=frequency,
            max_per_year=max_per_year,
            term_start=date(2026, 1, 1),
            term_end=date(2026, 12, 31),
        )

    assert str(error.value) == message
