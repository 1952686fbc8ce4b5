"""When a review's reminders are due: pure date arithmetic over plain values.

A review is reminded ahead of its due date (by default 7 days and 1 day before, set per
customer), on the day, and once when overdue. A sweep that finds several reminders owed at once
(after downtime) sends only the latest, the one that still says something true, and the plan
goes on from there.
"""

from datetime import date, timedelta
from enum import StrEnum


class ReminderKind(StrEnum):
    AHEAD = "ahead"
    LAST = "last"
    DUE = "due"
    OVERDUE = "overdue"


def reminder_plan(due_on: date, first_days: int, last_days: int) -> list[tuple[ReminderKind, date]]:
    """Every reminder of an occurrence and its day, in order; days that coincide count once."""
    plan = [
        (ReminderKind.AHEAD, due_on - timedelta(days=first_days)),
        (ReminderKind.LAST, due_on - timedelta(days=last_days)),
        (ReminderKind.DUE, due_on),
        (ReminderKind.OVERDUE, due_on + timedelta(days=1)),
    ]
    kept: list[tuple[ReminderKind, date]] = []
    for kind, day in plan:
        if kept and day <= kept[-1][1]:
            kept[-1] = (kind, kept[-1][1])  # the same day: the later, more specific kind
        else:
            kept.append((kind, day))
    return kept


def reminder_next(
    plan: list[tuple[ReminderKind, date]], after: date
) -> tuple[ReminderKind | None, date | None]:
    """The first reminder of the plan that falls after `after`."""
    for kind, day in plan:
        if day > after:
            return kind, day
    return None, None


def reminder_owed(
    plan: list[tuple[ReminderKind, date]], today: date
) -> tuple[ReminderKind | None, tuple[ReminderKind | None, date | None]]:
    """What to send today (the latest reminder whose day has come) and what comes next."""
    owed = None
    for kind, day in plan:
        if day <= today:
            owed = kind
    return owed, reminder_next(plan, today)
