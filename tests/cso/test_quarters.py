from datetime import date, timedelta

import pytest

from cso.quarters import (
    Period,
    contract_quarters,
    contract_years,
    default_term_end,
    quarter_containing,
    year_containing,
)


def test_quarters_of_a_term_starting_mid_month():
    quarters = contract_quarters(date(2026, 3, 15), date(2027, 3, 14))

    assert quarters == [
        Period(1, date(2026, 3, 15), date(2026, 6, 14)),
        Period(2, date(2026, 6, 15), date(2026, 9, 14)),
        Period(3, date(2026, 9, 15), date(2026, 12, 14)),
        Period(4, date(2026, 12, 15), date(2027, 3, 14)),
    ]


def test_quarters_from_a_month_end_do_not_drift():
    """Each boundary is counted from the term start; a month without the day starts on the 1st."""
    quarters = contract_quarters(date(2026, 1, 31), default_term_end(date(2026, 1, 31)))

    assert [(q.start, q.end) for q in quarters] == [
        (date(2026, 1, 31), date(2026, 4, 30)),
        (date(2026, 5, 1), date(2026, 7, 30)),
        (date(2026, 7, 31), date(2026, 10, 30)),
        (date(2026, 10, 31), date(2027, 1, 30)),
    ]


def test_leap_day_start():
    quarters = contract_quarters(date(2024, 2, 29), default_term_end(date(2024, 2, 29)))

    assert [q.start for q in quarters] == [
        date(2024, 2, 29),
        date(2024, 5, 29),
        date(2024, 8, 29),
        date(2024, 11, 29),
    ]
    # A year from 29 February ends on 28 February, not a day short.
    assert default_term_end(date(2024, 2, 29)) == date(2025, 2, 28)
    assert default_term_end(date(2024, 2, 28)) == date(2025, 2, 27)


def test_contract_quarters_are_not_calendar_quarters():
    quarter = quarter_containing(date(2026, 2, 10), date(2027, 2, 9), date(2026, 4, 1))

    assert quarter == Period(1, date(2026, 2, 10), date(2026, 5, 9))


def test_a_short_last_period_ends_with_the_term():
    quarters = contract_quarters(date(2026, 1, 1), date(2026, 8, 20))

    assert [(q.index, q.start, q.end) for q in quarters] == [
        (1, date(2026, 1, 1), date(2026, 3, 31)),
        (2, date(2026, 4, 1), date(2026, 6, 30)),
        (3, date(2026, 7, 1), date(2026, 8, 20)),
    ]
    assert quarters[-1].days == 51


@pytest.mark.parametrize(
    "term_start",
    [date(2024, 2, 29), date(2025, 12, 31), date(2026, 1, 31), date(2026, 3, 15), date(2026, 8, 1)],
)
def test_every_day_of_a_two_year_term_lies_in_exactly_one_quarter_and_year(term_start):
    term_end = default_term_end(term_start, months=24)
    quarters = contract_quarters(term_start, term_end)
    years = contract_years(term_start, term_end)

    assert len(quarters) == 8 and len(years) == 2
    assert quarters[0].start == term_start and quarters[-1].end == term_end
    for earlier, later in zip(quarters, quarters[1:], strict=False):
        assert earlier.end + timedelta(days=1) == later.start
    day = term_start
    while day <= term_end:
        assert [q for q in quarters if day in q] == [quarter_containing(term_start, term_end, day)]
        assert [y for y in years if day in y] == [year_containing(term_start, term_end, day)]
        day += timedelta(days=1)


def test_errors_name_the_dates():
    with pytest.raises(ValueError, match=r"The term ends \(2026-01-01\) before it starts"):
        contract_quarters(date(2026, 2, 1), date(2026, 1, 1))
    with pytest.raises(ValueError, match="2027-01-01 is outside the term"):
        quarter_containing(date(2026, 1, 1), date(2026, 12, 31), date(2027, 1, 1))
