"""A ticket's clocks, planned from its facts: which targets and escalations it has, when each is
due, when it was met, when to warn.

Pure: the facts (opening, pauses, public updates, resolution ...) and the parsed policy come in
as plain values, the plan goes out; `tickets.services.clocks` stores it. Because every clock is
recomputed from the facts, a severity change re-targets from the original opening and a policy
change gives exactly the clocks the ticket would have had under the new policy.

What meets each target:
- first response, acknowledgement: the first public reply from staff;
- time to open: the ticket's first assignment;
- follow-up: the first public staff reply after the first response (due from the opening);
- all three: or the first resolution, if it comes first (the customer is answered by it);
- periodic update: each cycle starts at the opening, at a public staff reply or at a reopening,
  and is met by the next public staff reply or by the resolution, which stops the cycles;
- resolution: the resolution (non-bug-only targets do not apply to bugs);
- restore: service restored, or the resolution if that comes first;
- root cause analysis: the RCA delivered since the resolution in force, due from it (none
  before it, none while reopened).
Every clock but the RCA stands still while the ticket waits on the customer or is resolved. A
clock stops when its target is met, so a pause that begins later does not move its due time: a
met target keeps the due time it was held to, and a resolved ticket shows what each target was.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from tickets.policy_parse import Escalation, Policy, PolicyTarget
from tickets.sla import (
    TargetKind,
    escalation_due_at,
    next_update_due_at,
    rca_due_at,
    target_due_at,
    warning_at,
)

Pause = tuple[datetime, datetime | None]


@dataclass(frozen=True, slots=True)
class TicketFacts:
    severity: str
    package: str
    is_bug: bool
    opened_at: datetime
    pauses: tuple[Pause, ...] = ()
    # (resolved at, reopened at or None) for every resolution, oldest first.
    resolutions: tuple[Pause, ...] = ()
    staff_updates: tuple[datetime, ...] = ()  # public replies from staff, oldest first
    assigned_at: datetime | None = None
    restored_at: datetime | None = None
    rca_delivered_at: datetime | None = None

    @property
    def resolved_at(self) -> datetime | None:
        """The resolution in force: the last one, unless the ticket was reopened since."""
        if self.resolutions and self.resolutions[-1][1] is None:
            return self.resolutions[-1][0]
        return None

    @property
    def first_response_at(self) -> datetime | None:
        return self.staff_updates[0] if self.staff_updates else None


@dataclass(frozen=True, slots=True)
class PlannedTarget:
    kind: TargetKind
    cycle: int
    duration: str
    calendar: str
    started_at: datetime | None
    due_at: datetime | None
    warning_at: datetime | None
    met_at: datetime | None


@dataclass(frozen=True, slots=True)
class PlannedEscalation:
    position: int
    after: str
    action: str
    target: str
    unless_met: str
    due_at: datetime | None
    stopped_at: datetime | None  # met (or resolved) in time: the rule will not fire


def targets_plan(
    facts: TicketFacts, policy: Policy, *, warning_share: Decimal = Decimal("0.75")
) -> list[PlannedTarget]:
    """Every target the policy gives the ticket's severity and package, one row per cycle."""
    planned: list[PlannedTarget] = []
    for target in policy.targets_for(facts.severity, facts.package):
        if target.spec.kind is TargetKind.PERIODIC_UPDATE:
            planned.extend(_update_cycles(facts, target, warning_share))
        else:
            planned.append(_single(facts, target, warning_share))
    return planned


def escalations_plan(
    facts: TicketFacts, policy: Policy, targets: list[PlannedTarget]
) -> list[PlannedEscalation]:
    """The policy's escalation rules for the ticket, each with its due time and whether the
    target it watches (or, naming none, the resolution) came first."""
    met = {t.kind: t.met_at for t in targets if t.cycle == 0}
    planned = []
    for position, escalation in enumerate(policy.escalations_for(facts.severity, facts.package)):
        stop = _stop(escalation, met, facts.resolved_at)
        paused = _held_until(facts.pauses, stop)
        due = escalation_due_at(escalation.rule, facts.opened_at, paused)
        stopped = stop if stop is not None and (due is None or stop <= due) else None
        planned.append(
            PlannedEscalation(
                position=position,
                after=str(escalation.rule.after),
                action=escalation.rule.action.value,
                target=escalation.rule.target,
                unless_met=escalation.unless_met.value if escalation.unless_met else "",
                due_at=due,
                stopped_at=stopped,
            )
        )
    return planned


def _stop(escalation: Escalation, met: dict, resolved_at: datetime | None) -> datetime | None:
    if escalation.unless_met is None:
        return resolved_at
    candidates = [m for m in (met.get(escalation.unless_met), resolved_at) if m is not None]
    return min(candidates) if candidates else None


def _single(facts: TicketFacts, target: PolicyTarget, share: Decimal) -> PlannedTarget:
    spec = target.spec
    kind = spec.kind
    if kind is TargetKind.ROOT_CAUSE_ANALYSIS:
        start = facts.resolved_at
        due = rca_due_at(spec, start)
        delivered = facts.rca_delivered_at
        # An RCA sent before a reopening answered an earlier resolution, not this one.
        met = delivered if start is not None and delivered and delivered >= start else None
        paused: tuple[Pause, ...] = ()
    else:
        start, met = facts.opened_at, _met_at(facts, kind)
        paused = _held_until(facts.pauses, met)
        due = target_due_at(spec, start, paused, is_bug=facts.is_bug)
    return _planned(target, 0, start, due, met, paused, share)


def _held_until(pauses: tuple[Pause, ...], met: datetime | None) -> tuple[Pause, ...]:
    """The pauses that held a clock stopped at `met` (its target met, its escalation stopped):
    those begun before it, cut at it. None: the clock still runs and every pause counts."""
    if met is None:
        return pauses
    return tuple(
        (start, met if end is None or end > met else end) for start, end in pauses if start < met
    )


def _met_at(facts: TicketFacts, kind: TargetKind) -> datetime | None:
    # The first resolution answers the customer too: a response, opening or follow-up still
    # owed then is met by it (late or not), so its lateness stops growing.
    resolved = facts.resolutions[0][0] if facts.resolutions else None
    if kind in (TargetKind.FIRST_RESPONSE, TargetKind.ACKNOWLEDGEMENT):
        return _earliest(facts.first_response_at, resolved)
    if kind is TargetKind.TIME_TO_OPEN:
        return _earliest(facts.assigned_at, resolved)
    if kind is TargetKind.FOLLOW_UP:
        follow_up = facts.staff_updates[1] if len(facts.staff_updates) > 1 else None
        return _earliest(follow_up, resolved)
    if kind is TargetKind.RESOLUTION:
        return facts.resolved_at
    if kind is TargetKind.RESTORE:
        moments = [m for m in (facts.restored_at, facts.resolved_at) if m is not None]
        return min(moments) if moments else None
    raise ValueError(f"No single target of kind {kind.value}.")


def _earliest(*moments: datetime | None) -> datetime | None:
    known = [moment for moment in moments if moment is not None]
    return min(known) if known else None


def _update_cycles(
    facts: TicketFacts, target: PolicyTarget, share: Decimal
) -> Iterator[PlannedTarget]:
    """Periodic updates: a cycle per public update, restarted at each reopening."""
    for cycle, (start, met) in enumerate(_cycles(facts)):
        paused = _held_until(facts.pauses, met)
        due = next_update_due_at(target.spec, start, paused)
        yield _planned(target, cycle, start, due, met, paused, share)


def _cycles(facts: TicketFacts) -> Iterator[tuple[datetime, datetime | None]]:
    """(start, met) of each update cycle, in order."""
    resolutions = list(facts.resolutions)
    updates = iter(facts.staff_updates)
    update = next(updates, None)
    start: datetime | None = facts.opened_at
    while start is not None:
        while update is not None and update <= start:
            update = next(updates, None)
        resolution = resolutions[0] if resolutions else None
        if resolution is not None and resolution[0] <= start:
            # Resolved at the very start (reopened and resolved at once): no cycle runs while
            # resolved; the next starts at the reopening, if any.
            resolutions.pop(0)
            start = None if resolution[1] is None else max(start, resolution[1])
            continue
        if resolution is not None and (update is None or resolution[0] <= update):
            yield start, resolution[0]
            resolutions.pop(0)
            start = resolution[1]  # the reopening, or None: resolved for good
        elif update is not None:
            yield start, update
            start = update
        else:
            yield start, None
            start = None


def _planned(target, cycle, start, due, met, paused, share) -> PlannedTarget:
    spec = target.spec
    warn = None
    if start is not None and due is not None:
        clock = spec.duration.clock(spec.calendar)
        warn = warning_at(start, due, calendar=clock, paused=paused, share=share)
    return PlannedTarget(
        kind=spec.kind,
        cycle=cycle,
        duration=str(spec.duration),
        calendar=spec.calendar.name,
        started_at=start,
        due_at=due,
        warning_at=warn,
        met_at=met,
    )
