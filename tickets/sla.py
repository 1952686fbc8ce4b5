"""SLA targets over business calendars: when each promise to a customer is due, and if it was kept.

Pure functions over plain values, like `tickets.calendars` under them: no database, no settings,
no clock (callers pass `now`).

The rules, in one place:
- A duration's unit picks the clock it runs on. Minutes, hours and days are elapsed real time,
  round the clock (a day is 24 hours, so a daylight saving change never moves a deadline);
  business hours and business days run on the target's own calendar.
- Waiting on the customer pauses a clock. Paused time is measured on the clock the target runs on
  (business time for business units, real time otherwise), and resuming moves the deadline by
  exactly that much. A pause still open means no deadline yet.
- N business days are due at the close of the N-th business day after the start's local day.
  With pauses, that is counted as the business time from the start to that close, and the
  deadline moves by the business time the pauses held, exactly as for business hours (a pause
  of two business hours turns "5 p.m. Tuesday" into "two business hours after 5 p.m. Tuesday").
- Periodic updates restart on each public update, and stop at resolution.
- Root cause analysis is due a number of business days after resolution, never paused.
- A target is breached when it was met after its due time, or is still unmet after it. Lateness
  is in real (wall-clock) seconds, rounded up, so a breach is always at least one second late.
- The warning comes at a share (75% by default) of the business time the target gives, pauses
  left out: a 4 business hour target warns after 3 business hours have run.
"""

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from tickets.calendars import (
    TWENTY_FOUR_SEVEN,
    BusinessCalendar,
    add_business_days,
    business_time_between,
    deadline,
)

Pauses = Sequence[tuple[datetime, datetime | None]]


class DurationUnit(StrEnum):
    MINUTES = "minutes"
    HOURS = "hours"
    DAYS = "days"
    BUSINESS_HOURS = "business_hours"
    BUSINESS_DAYS = "business_days"


_SECONDS = {
    DurationUnit.MINUTES: 60,
    DurationUnit.HOURS: 3600,
    DurationUnit.DAYS: 86_400,
    DurationUnit.BUSINESS_HOURS: 3600,
}

_DURATION = re.compile(
    r"^\s*(?P<amount>\d+(?:\.\d+)?)\s*(?P<business>business[\s_]+)?(?P<unit>minute|hour|day)s?\s*$",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class Duration:
    """How long a target gives: "4 business hours", "30 minutes", "2 business days", "1 day"."""

    amount: Decimal
    unit: DurationUnit

    def __post_init__(self) -> None:
        object.__setattr__(self, "amount", Decimal(self.amount))
        object.__setattr__(self, "unit", DurationUnit(self.unit))
        if self.amount < 0:
            raise ValueError(f"A duration cannot be negative: {self}.")
        if self.unit is DurationUnit.BUSINESS_DAYS and self.amount != int(self.amount):
            raise ValueError(f"Business days are counted whole: {self}.")

    @property
    def is_business(self) -> bool:
        return self.unit in (DurationUnit.BUSINESS_HOURS, DurationUnit.BUSINESS_DAYS)

    def clock(self, calendar: BusinessCalendar) -> BusinessCalendar:
        """The calendar this duration runs on: the target's for business units, else 24x7."""
        return calendar if self.is_business else TWENTY_FOUR_SEVEN

    def as_timedelta(self) -> timedelta:
        """The time it gives, for every unit but business days (which depend on the start)."""
        if self.unit is DurationUnit.BUSINESS_DAYS:
            raise ValueError("Business days have no fixed length; count them on a calendar.")
        microseconds = self.amount * _SECONDS[self.unit] * 1_000_000
        return timedelta(microseconds=int(microseconds))

    def __str__(self) -> str:
        amount = self.amount.normalize()
        words = self.unit.value.replace("_", " ")
        return f"{amount:f} {words[:-1] if amount == 1 else words}"


def parse_duration(text: str) -> Duration:
    """A duration as a policy file writes it; the error names the text it could not read."""
    found = _DURATION.match(text or "")
    if found is None:
        raise ValueError(
            f'"{text}" is not a duration: write it like "30 minutes", "4 hours", "1 day", '
            '"4 business hours" or "2 business days".'
        )
    unit = found["unit"].lower() + "s"
    if found["business"]:
        if unit == "minutes":
            raise ValueError(f'"{text}" is not a duration: use business hours or business days.')
        unit = f"business_{unit}"
    amount = Decimal(found["amount"])
    if unit == DurationUnit.BUSINESS_DAYS and amount != int(amount):
        raise ValueError(f'"{text}" is not a duration: business days are counted whole.')
    return Duration(amount, DurationUnit(unit))


class TargetKind(StrEnum):
    FIRST_RESPONSE = "first_response"
    ACKNOWLEDGEMENT = "acknowledgement"
    PERIODIC_UPDATE = "periodic_update"
    RESOLUTION = "resolution"
    RESTORE = "restore"
    ROOT_CAUSE_ANALYSIS = "root_cause_analysis"
    TIME_TO_OPEN = "time_to_open"
    FOLLOW_UP = "follow_up"


@dataclass(frozen=True, slots=True)
class TargetSpec:
    """One promise of a policy for a severity and package.

    `non_bug_only`: Table 8's resolution target applies to non-bug issues only; a bug gets no
    such deadline.
    """

    kind: TargetKind
    duration: Duration
    calendar: BusinessCalendar = TWENTY_FOUR_SEVEN
    non_bug_only: bool = False

    @property
    def applies_to_bug(self) -> bool:
        return not self.non_bug_only

    def applies_to(self, *, is_bug: bool) -> bool:
        return self.applies_to_bug or not is_bug


def _due_at(
    duration: Duration, calendar: BusinessCalendar, start: datetime, paused: Pauses
) -> datetime | None:
    """When `duration` on `calendar` from `start` is due, pauses moving it (see module rules)."""
    if duration.unit is DurationUnit.BUSINESS_DAYS:
        close = add_business_days(start, int(duration.amount), calendar)
        if not paused:
            return close
        return deadline(start, business_time_between(start, close, calendar), calendar, paused)
    return deadline(start, duration.as_timedelta(), duration.clock(calendar), paused)


def target_due_at(
    spec: TargetSpec, start: datetime, paused: Pauses = (), *, is_bug: bool = False
) -> datetime | None:
    """When a target started at `start` is due; None while paused or where it does not apply."""
    if not spec.applies_to(is_bug=is_bug):
        return None
    return _due_at(spec.duration, spec.calendar, start, paused)


def next_update_due_at(
    spec: TargetSpec,
    since: datetime,
    paused: Pauses = (),
    *,
    resolved_at: datetime | None = None,
) -> datetime | None:
    """When the next periodic update is due: the last public update (or the opening) restarts
    the clock, and resolution stops it."""
    if spec.kind is not TargetKind.PERIODIC_UPDATE:
        raise ValueError(f"Only periodic updates recur, not {spec.kind.value}.")
    if resolved_at is not None:
        return None
    return _due_at(spec.duration, spec.calendar, since, paused)


def rca_due_at(spec: TargetSpec, resolved_at: datetime | None) -> datetime | None:
    """When the root cause analysis is due: counted from resolution, None before it."""
    if spec.kind is not TargetKind.ROOT_CAUSE_ANALYSIS:
        raise ValueError(f"A root cause analysis target is needed, not {spec.kind.value}.")
    if resolved_at is None:
        return None
    return _due_at(spec.duration, spec.calendar, resolved_at, ())


@dataclass(frozen=True, slots=True)
class TargetState:
    due_at: datetime | None
    met_at: datetime | None
    breached: bool
    seconds_late: int


def target_state(due_at: datetime | None, met_at: datetime | None, now: datetime) -> TargetState:
    """Whether a target was kept, and by how many wall-clock seconds (rounded up) it was not.

    Met exactly at the due time is on time. An unmet target past due is late by the time since
    then, growing until it is met. No due time (paused, not applicable) is never breached.
    """
    end = met_at if met_at is not None else now
    if due_at is None or end <= due_at:
        return TargetState(due_at, met_at, breached=False, seconds_late=0)
    late = math.ceil((end - due_at) / timedelta(seconds=1))
    return TargetState(due_at, met_at, breached=True, seconds_late=late)


class EscalationAction(StrEnum):
    RAISE_LEVEL = "raise_level"
    NOTIFY = "notify"


@dataclass(frozen=True, slots=True)
class EscalationRule:
    """ "Elevate to Level 2 if no ETA or workaround within 8 hours": `after` from the target's
    start, then `action` on `target` (a support level or a group to notify)."""

    after: Duration
    calendar: BusinessCalendar
    action: EscalationAction
    target: str

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "action", EscalationAction(self.action))
        except ValueError:
            raise ValueError(
                f'"{self.action}" is not an escalation: use "raise_level" or "notify".'
            ) from None
        if not self.target.strip():
            raise ValueError("An escalation names the level to raise to or the group to notify.")


def escalation_due_at(
    rule: EscalationRule, start: datetime, paused: Pauses = ()
) -> datetime | None:
    """When an escalation fires if its target is still unmet; None while paused."""
    return _due_at(rule.after, rule.calendar, start, paused)


def warning_at(
    start: datetime,
    due_at: datetime | None,
    *,
    calendar: BusinessCalendar,
    paused: Pauses = (),
    share: float | Decimal = 0.75,
) -> datetime | None:
    """When to warn that a target from `start` due at `due_at` is close to breach.

    At `share` of the time the clock runs between them on `calendar` (the target's clock:
    `spec.duration.clock(spec.calendar)`), paused time left out.
    """
    if not 0 < share <= 1:
        raise ValueError(f"The warning share must be above 0 and at most 1, not {share}.")
    if due_at is None:
        return None
    running = business_time_between(start, due_at, calendar) - _paused_time(
        start, due_at, calendar, paused
    )
    warning_after = running * float(share)
    return deadline(start, warning_after, calendar, paused)


def _paused_time(
    start: datetime, end: datetime, calendar: BusinessCalendar, paused: Pauses
) -> timedelta:
    """Business time inside [start, end) held by pauses, overlapping pauses counted once."""
    clipped = sorted(
        (max(pause_start, start), min(end if pause_end is None else pause_end, end))
        for pause_start, pause_end in paused
    )
    held = timedelta(0)
    reached = start
    for pause_start, pause_end in clipped:
        pause_start = max(pause_start, reached)
        if pause_end > pause_start:
            held += business_time_between(pause_start, pause_end, calendar)
            reached = pause_end
    return held
