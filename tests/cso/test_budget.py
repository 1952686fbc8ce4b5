import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from cso.budget import Allowance, AllowancePeriod, Budget, Entry, Limit, budget_split
from cso.quarters import contract_quarters, contract_years

D = Decimal
LOGGED = datetime(2026, 1, 1, 9, tzinfo=UTC)

PREMIER = Budget(
    term_start=date(2026, 3, 15),
    term_end=date(2027, 3, 14),
    quarterly_hours=D("113"),
    annual_hours=D("455"),
    allowances={
        "discretionary_operational_consulting": (D("24"), AllowancePeriod.CONTRACT_YEAR),
        "expansion": (D("60"), AllowancePeriod.TERM),
    },
)


def entry(id, worked_on, hours, minutes=0, **kwargs):
    return Entry(id, worked_on, LOGGED + timedelta(minutes=minutes), D(hours), **kwargs)


def as_rows(splits):
    return [(s.entry_id, s.quarter, s.included, s.overage, s.limited_by) for s in splits]


def test_hours_within_the_quarter_are_included():
    splits = budget_split(
        PREMIER, [entry(1, date(2026, 3, 20), "40"), entry(2, date(2026, 4, 2), "73")]
    )

    assert as_rows(splits) == [(1, 1, D("40"), D("0"), None), (2, 1, D("73"), D("0"), None)]


def test_the_entry_that_crosses_the_quarter_cap_is_split_and_later_ones_are_overage():
    splits = budget_split(
        PREMIER,
        [
            entry(1, date(2026, 3, 20), "100"),
            entry(2, date(2026, 5, 1), "20"),
            entry(3, date(2026, 6, 14), "2.25"),
            entry(4, date(2026, 6, 15), "5"),  # first day of the second contract quarter
        ],
    )

    assert as_rows(splits) == [
        (1, 1, D("100"), D("0"), None),
        (2, 1, D("13"), D("7"), Limit.QUARTER),
        (3, 1, D("0"), D("2.25"), Limit.QUARTER),
        (4, 2, D("5"), D("0"), None),
    ]


def test_the_year_cap_binds_when_quarters_still_have_room():
    budget = Budget(date(2026, 1, 1), date(2026, 12, 31), D("100"), D("150"), {})

    splits = budget_split(
        budget, [entry(1, date(2026, 1, 10), "100"), entry(2, date(2026, 4, 10), "80")]
    )

    assert as_rows(splits)[1] == (2, 2, D("50"), D("30"), Limit.YEAR)


def test_an_allowance_makes_overage_even_when_the_quarter_has_room():
    doc = "discretionary_operational_consulting"
    splits = budget_split(
        PREMIER,
        [
            entry(1, date(2026, 4, 1), "20", allowance=doc),
            entry(2, date(2026, 4, 2), "10", allowance=doc),
            entry(3, date(2026, 4, 3), "10"),
            entry(4, date(2027, 3, 14), "1", allowance=doc),
        ],
    )

    assert as_rows(splits) == [
        (1, 1, D("20"), D("0"), None),
        (2, 1, D("4"), D("6"), Limit.ALLOWANCE),
        (3, 1, D("10"), D("0"), None),
        (4, 4, D("0"), D("1"), Limit.ALLOWANCE),
    ]


def test_a_per_year_allowance_starts_again_each_contract_year_but_a_term_allowance_does_not():
    budget = Budget(
        date(2026, 1, 1),
        date(2027, 12, 31),
        D("500"),
        D("2000"),
        {
            "segmentation_management": (D("24"), AllowancePeriod.CONTRACT_YEAR),
            "expansion": (D("36"), AllowancePeriod.TERM),
        },
    )

    splits = budget_split(
        budget,
        [
            entry(1, date(2026, 6, 1), "24", allowance="segmentation_management"),
            entry(2, date(2027, 6, 1), "24", allowance="segmentation_management"),
            entry(3, date(2026, 6, 1), "30", minutes=1, allowance="expansion"),
            entry(4, date(2027, 6, 1), "30", minutes=1, allowance="expansion"),
        ],
    )

    assert [(s.entry_id, s.included, s.overage) for s in splits] == [
        (1, D("24"), D("0")),
        (3, D("30"), D("0")),
        (2, D("24"), D("0")),
        (4, D("6"), D("24")),
    ]


def test_additional_cost_work_is_billed_outside_the_budget():
    splits = budget_split(
        PREMIER,
        [entry(1, date(2026, 4, 1), "8", additional_cost=True), entry(2, date(2026, 4, 2), "113")],
    )

    assert [(s.included, s.overage, s.additional_cost, s.limited_by) for s in splits] == [
        (D("0"), D("0"), D("8"), Limit.ADDITIONAL_COST),
        (D("113"), D("0"), D("0"), None),
    ]


def test_entries_apply_by_date_worked_then_time_logged_whatever_the_input_order():
    entries = [
        entry(1, date(2026, 4, 1), "60", minutes=30),
        entry(2, date(2026, 4, 1), "60", minutes=10),
        entry(3, date(2026, 3, 31), "10", minutes=99),
    ]

    forward = as_rows(budget_split(PREMIER, entries))
    backward = as_rows(budget_split(PREMIER, list(reversed(entries))))

    assert (
        forward
        == backward
        == [
            (3, 1, D("10"), D("0"), None),
            (2, 1, D("60"), D("0"), None),
            (1, 1, D("43"), D("17"), Limit.QUARTER),
        ]
    )


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (
            entry(7, date(2026, 4, 1), "-1.25", adjusts=1),
            "Entry 7: gives back 1.25 hours, more than entry 1 has left.",
        ),
        (entry(7, date(2026, 4, 1), "0"), "Entry 7: hours must not be zero."),
        (
            entry(7, date(2027, 3, 15), "1"),
            "Entry 7: 2027-03-15 is outside the term 2026-03-15 to 2027-03-14.",
        ),
        (
            entry(7, date(2026, 4, 1), "1", allowance="training"),
            "Entry 7: the package has no allowance 'training'.",
        ),
    ],
)
def test_bad_entries_are_named(bad, message):
    with pytest.raises(ValueError) as error:
        budget_split(PREMIER, [entry(1, date(2026, 4, 1), "1"), bad])

    assert str(error.value) == message


def test_bought_expansion_hours_cover_what_the_pack_cannot_before_any_overage():
    budget = Budget(
        date(2026, 1, 1),
        date(2026, 12, 31),
        D("113"),
        D("455"),
        {"expansion": Allowance(D("30"), AllowancePeriod.TERM, prepaid_hours=D("20"))},
    )

    splits = budget_split(
        budget,
        [
            entry(1, date(2026, 2, 1), "25", allowance="expansion"),
            entry(2, date(2026, 2, 2), "20", allowance="expansion"),
            entry(3, date(2026, 2, 3), "10", allowance="expansion"),
        ],
    )

    assert [(s.included, s.prepaid, s.overage, s.limited_by) for s in splits] == [
        (D("25"), D("0"), D("0"), None),
        (D("5"), D("15"), D("0"), Limit.ALLOWANCE),
        (D("0"), D("5"), D("5"), Limit.ALLOWANCE),
    ]


def test_an_allowance_outside_the_package_is_prepaid_and_uses_no_package_hours():
    budget = Budget(
        date(2026, 1, 1),
        date(2027, 12, 31),
        D("25"),
        D("100"),
        {"workshops": Allowance(D("10"), AllowancePeriod.CONTRACT_YEAR, outside_package=True)},
    )

    splits = budget_split(
        budget,
        [
            entry(1, date(2026, 2, 1), "8", allowance="workshops"),
            entry(2, date(2026, 2, 2), "25"),
            entry(3, date(2026, 2, 3), "4", allowance="workshops"),
            entry(4, date(2026, 2, 4), "-4", allowance="workshops", adjusts=3),
            entry(5, date(2026, 2, 5), "3", allowance="workshops"),
            entry(6, date(2027, 2, 1), "10", allowance="workshops"),
        ],
    )

    assert [(s.included, s.prepaid, s.overage, s.limited_by) for s in splits] == [
        (D("0"), D("8"), D("0"), None),
        (D("25"), D("0"), D("0"), None),
        (D("0"), D("2"), D("2"), Limit.ALLOWANCE),
        (D("0"), D("-2"), D("-2"), None),
        (D("0"), D("2"), D("1"), Limit.ALLOWANCE),
        (D("0"), D("10"), D("0"), None),
    ]


def test_a_give_back_credits_the_corrected_entrys_overage_first_then_frees_its_quarter():
    splits = budget_split(
        PREMIER,
        [
            entry(1, date(2026, 4, 1), "100"),
            entry(2, date(2026, 4, 2), "20"),
            entry(3, date(2026, 7, 1), "-10", adjusts=2),  # logged in the next quarter
            entry(4, date(2026, 6, 2), "4", minutes=5),
        ],
    )

    assert as_rows(splits) == [
        (1, 1, D("100"), D("0"), None),
        (2, 1, D("13"), D("7"), Limit.QUARTER),
        (4, 1, D("0"), D("4"), Limit.QUARTER),
        (3, 2, D("-3"), D("-7"), None),
    ]


def test_a_give_back_returns_allowance_hours_to_that_allowance_and_year():
    doc = "discretionary_operational_consulting"
    splits = budget_split(
        PREMIER,
        [
            entry(1, date(2026, 4, 1), "24", allowance=doc),
            entry(2, date(2026, 7, 2), "-4", allowance=doc, adjusts=1),
            entry(3, date(2026, 7, 3), "6", allowance=doc),
        ],
    )

    assert as_rows(splits) == [
        (1, 1, D("24"), D("0"), None),
        (2, 2, D("-4"), D("0"), None),
        (3, 2, D("4"), D("2"), Limit.ALLOWANCE),
    ]


def test_additional_cost_hours_given_back_are_bounded_by_the_corrected_entry():
    splits = budget_split(
        PREMIER,
        [
            entry(1, date(2026, 4, 1), "2", additional_cost=True),
            entry(2, date(2026, 7, 1), "-1.5", additional_cost=True, adjusts=1),
        ],
    )

    assert [(s.included, s.overage, s.additional_cost) for s in splits] == [
        (D("0"), D("0"), D("2")),
        (D("0"), D("0"), D("-1.5")),
    ]
    with pytest.raises(ValueError, match="gives back 24 hours, more than entry 1 has left"):
        budget_split(
            PREMIER,
            [
                entry(1, date(2026, 4, 1), "2", additional_cost=True),
                entry(2, date(2026, 7, 1), "-24", additional_cost=True, adjusts=1),
            ],
        )


def test_hours_given_back_cannot_exceed_what_the_entry_has_left():
    with pytest.raises(ValueError, match="gives back 3 hours, more than entry 1 has left"):
        budget_split(
            PREMIER,
            [
                entry(1, date(2026, 4, 1), "4"),
                entry(2, date(2026, 7, 2), "-2", adjusts=1),
                entry(3, date(2026, 7, 3), "-3", adjusts=1),
            ],
        )


def _reference_split(budget, entries):
    """An independent model: walk quarter-hour by quarter-hour through the entries."""
    quarters = contract_quarters(budget.term_start, budget.term_end)
    years = contract_years(budget.term_start, budget.term_end)
    used_q, used_y, used_a = {}, {}, {}
    result = {}
    step = D("0.25")
    for e in sorted(entries, key=lambda e: (e.worked_on, e.logged_at, e.id)):
        q = next(p.index for p in quarters if e.worked_on in p)
        y = next(p.index for p in years if e.worked_on in p)
        included = D("0")
        for _ in range(int(e.hours / step)):
            fits = (
                used_q.get(q, 0) + step <= budget.quarterly_hours
                and used_y.get(y, 0) + step <= budget.annual_hours
            )
            if e.allowance:
                cap, period, *_ = budget.allowances[e.allowance]
                key = (e.allowance, y if period == AllowancePeriod.CONTRACT_YEAR else 0)
                fits = fits and used_a.get(key, 0) + step <= cap
            if fits:
                included += step
                used_q[q] = used_q.get(q, 0) + step
                used_y[y] = used_y.get(y, 0) + step
                if e.allowance:
                    used_a[key] = used_a.get(key, 0) + step
        result[e.id] = (included, e.hours - included)
    return result


TWO_YEAR_PREMIER = Budget(
    term_start=date(2026, 3, 15),
    term_end=date(2028, 3, 14),
    quarterly_hours=D("113"),
    annual_hours=D("455"),
    allowances=PREMIER.allowances,
)


@pytest.mark.parametrize("seed", range(20))
def test_random_logs_match_an_hour_by_hour_model(seed):
    rng = random.Random(seed)
    entries = [
        Entry(
            id=index,
            worked_on=TWO_YEAR_PREMIER.term_start + timedelta(days=rng.randrange(731)),
            logged_at=LOGGED + timedelta(minutes=rng.randrange(10_000)),
            hours=D(rng.randrange(1, 40)) / 4,
            allowance=rng.choice(
                [None, None, None, "discretionary_operational_consulting", "expansion"]
            ),
        )
        for index in range(600)
    ]

    splits = budget_split(TWO_YEAR_PREMIER, entries)

    expected = _reference_split(TWO_YEAR_PREMIER, entries)
    assert {s.entry_id: (s.included, s.overage) for s in splits} == expected
    for split in splits:
        assert (split.overage > 0) == (split.limited_by is not None)
