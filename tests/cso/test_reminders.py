from datetime import date

from cso.reminders import ReminderKind as K
from cso.reminders import reminder_next, reminder_owed, reminder_plan

DUE = date(2026, 12, 10)


def test_a_review_is_reminded_ahead_on_the_day_and_once_overdue():
    assert reminder_plan(DUE, 7, 1) == [
        (K.AHEAD, date(2026, 12, 3)),
        (K.LAST, date(2026, 12, 9)),
        (K.DUE, DUE),
        (K.OVERDUE, date(2026, 12, 11)),
    ]


def test_reminders_on_the_same_day_go_out_once_as_the_more_specific_one():
    assert reminder_plan(DUE, 3, 3) == [
        (K.LAST, date(2026, 12, 7)),
        (K.DUE, DUE),
        (K.OVERDUE, date(2026, 12, 11)),
    ]
    assert [kind for kind, _ in reminder_plan(DUE, 5, 0)] == [K.AHEAD, K.DUE, K.OVERDUE]


def test_after_downtime_only_the_latest_owed_reminder_goes_out():
    plan = reminder_plan(DUE, 7, 1)

    assert reminder_owed(plan, date(2026, 12, 2)) == (None, (K.AHEAD, date(2026, 12, 3)))
    assert reminder_owed(plan, date(2026, 12, 5)) == (K.AHEAD, (K.LAST, date(2026, 12, 9)))
    assert reminder_owed(plan, date(2026, 12, 10)) == (K.DUE, (K.OVERDUE, date(2026, 12, 11)))
    assert reminder_owed(plan, date(2027, 1, 30)) == (K.OVERDUE, (None, None))


def test_the_next_reminder_after_a_day():
    plan = reminder_plan(DUE, 7, 1)

    assert reminder_next(plan, date(2026, 12, 3)) == (K.LAST, date(2026, 12, 9))
    assert reminder_next(plan, date(2026, 12, 11)) == (None, None)
