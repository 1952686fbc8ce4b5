"""SLA policies as data: reading and checking a policy file, before any ticket runs on it.

A policy file (YAML, like the catalog) names its calendars, its severities and, per severity and
package, the targets and escalation rules it promises; `tickets/policies/` holds the shipped ones.
The whole file is checked and every problem is reported at once, each naming the entry and field
(`targets.P1.premier[0].duration`), so whoever edits the file can fix it in one pass.

Pure: no database, no settings, no clock. Calendars are built here with their holidays for the
years the caller asks for.
"""

from dataclasses import dataclass
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from tickets.calendars import TWENTY_FOUR_SEVEN, BusinessCalendar, holiday_dates
from tickets.sla import EscalationRule, TargetKind, TargetSpec, parse_duration

ALL_PACKAGES = "all"
ROUND_THE_CLOCK = TWENTY_FOUR_SEVEN.name  # "24x7": always known, never defined in a file
MIN_SEVERITIES, MAX_SEVERITIES = 3, 5


class PolicyError(ValueError):
    """The policy cannot be used; `problems` lists every reason, each naming entry and field."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        heading = f"The SLA policy has {len(self.problems)} problem(s):"
        super().__init__("\n".join([heading, *(f"- {problem}" for problem in self.problems)]))


@dataclass(frozen=True, slots=True)
class Severity:
    code: str
    name: str
    definition: str
    rank: int  # 1 is the most severe: the order the file lists them in


@dataclass(frozen=True, slots=True)
class PolicyTarget:
    """A promise for one severity and package (`all`: every package the policy applies to).

    `recurs`: a periodic update, restarted by each public update until resolution.
    """

    severity: str
    package: str
    spec: TargetSpec
    recurs: bool = False


@dataclass(frozen=True, slots=True)
class Escalation:
    """A rule that fires once, `rule.after` from the ticket's opening, unless the target of kind
    `unless_met` has been met by then (or, with none named, the ticket is resolved)."""

    severity: str
    package: str
    rule: EscalationRule
    unless_met: TargetKind | None = None


@dataclass(frozen=True)
class Policy:
    name: str
    source: str
    applies_to: tuple[str, ...]
    notes: str
    calendars: dict[str, BusinessCalendar]
    severities: tuple[Severity, ...]
    targets: tuple[PolicyTarget, ...]
    escalations: tuple[Escalation, ...]

    def targets_for(self, severity: str, package: str) -> tuple[PolicyTarget, ...]:
        return tuple(
            t for t in self.targets if t.severity == severity and t.package in (package, "all")
        )

    def escalations_for(self, severity: str, package: str) -> tuple[Escalation, ...]:
        return tuple(
            e for e in self.escalations if e.severity == severity and e.package in (package, "all")
        )


_MISSING = object()


class _Checker:
    """Collects problems as `where: what`. Readers return None for a missing or unusable value,
    having said why (a missing required key is reported by the enclosing mapping)."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def add(self, where: str, message: str) -> None:
        self.problems.append(f"{where}: {message}")

    def mapping(self, where: str, value: Any, keys: tuple = (), optional=()) -> dict | None:
        """A mapping with these keys; without keys, any mapping (of names to entries)."""
        if not isinstance(value, dict):
            self.add(
                where,
                f"must be a mapping with keys {', '.join(keys)}" if keys else "must be a mapping",
            )
            return None
        if not keys:
            return value
        for key in keys:
            if key not in value and key not in optional:
                self.add(where, f"missing key '{key}'")
        for key in value:
            if key not in keys:
                self.add(where, f"unknown key '{key}'; expected: {', '.join(keys)}")
        return value

    def text(self, where: str, value: Any, blank: bool = False) -> str:
        if value is _MISSING:
            return ""
        if not isinstance(value, str):
            self.add(where, "must be text")
            return ""
        if not value.strip() and not blank:
            self.add(where, "must not be empty")
        return value.strip()

    def texts(self, where: str, value: Any) -> list[str]:
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            self.add(where, "must be a list of texts")
            return []
        return [item.strip() for item in value]

    def boolean(self, where: str, value: Any) -> bool | None:
        if value is _MISSING:
            return None
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
        self.add(where, f"must be true or false, not '{value}'")
        return None

    def read(self, where: str, value: Any, parse) -> Any:
        """A value through a parser whose ValueError message is the problem to report."""
        try:
            return parse(value)
        except ValueError as error:
            self.add(where, str(error))
            return None

    def choice(self, where: str, value: str, choices, what: str) -> str | None:
        if value and value not in choices:
            self.add(where, f"unknown {what} '{value}'; use one of: {', '.join(choices)}")
            return None
        return value or None


def _calendar(check: _Checker, where: str, name: str, value: Any, years: range):
    """`24x7`, or business hours in a time zone with holidays (country, subdivision, dates)."""
    if value == ROUND_THE_CLOCK:
        return TWENTY_FOUR_SEVEN
    data = check.mapping(where, value, ("time_zone", "hours", "holidays"), ("holidays",))
    if data is None:
        return None
    problems = len(check.problems)
    zone = check.text(f"{where}.time_zone", data.get("time_zone", _MISSING))
    try:
        zone and ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        check.add(f"{where}.time_zone", f'"{zone}" is not a known time zone')
    hours = data.get("hours", {})
    if check.mapping(f"{where}.hours", hours) is None or not hours:
        hours = {}
        check.add(f"{where}.hours", 'list the open days and hours, e.g. "mon-fri": "09:00-17:00"')
    for days, intervals in (hours or {}).items():
        if not isinstance(intervals, str | list):
            check.add(f"{where}.hours.{days}", "must be hours like 09:00-17:00, or a list of them")
            continue
        check.read(
            f"{where}.hours.{days}",
            intervals,
            lambda value, days=days: BusinessCalendar.from_hours(name, "UTC", {days: value}),
        )
    holidays = _holidays(check, f"{where}.holidays", data.get("holidays", _MISSING), years)
    if len(check.problems) > problems:
        return None
    build = lambda _: BusinessCalendar.from_hours(name, zone, hours, holidays)  # noqa: E731
    return check.read(f"{where}.hours", None, build)


def _holidays(check: _Checker, where: str, value: Any, years: range) -> frozenset[date]:
    if value is _MISSING:
        return frozenset()
    keys = ("country", "subdivision", "dates")
    data = check.mapping(where, value, keys, optional=keys)
    if data is None:
        return frozenset()
    dates = set()
    for index, text in enumerate(check.texts(f"{where}.dates", data.get("dates", []))):
        day = check.read(f"{where}.dates[{index}]", text, _date)
        if day is not None:
            dates.add(day)
    country = check.text(f"{where}.country", data.get("country", _MISSING))
    subdivision = check.text(f"{where}.subdivision", data.get("subdivision", _MISSING)) or None
    if subdivision and not country:
        check.add(f"{where}.subdivision", "needs a country")
    if not country:
        return frozenset(dates)
    try:
        return holiday_dates(country, years, subdivision, dates)
    except ValueError:
        named = f"{country}, subdivision {subdivision}" if subdivision else country
        check.add(where, f"no public holidays are known for {named}")
        return frozenset()


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"'{text}' is not a date; write it as YYYY-MM-DD") from None


def _severities(check: _Checker, value: Any) -> list[Severity]:
    if not isinstance(value, list):
        check.add("severities", "must be a list of severities with code, name and definition")
        return []
    if not MIN_SEVERITIES <= len(value) <= MAX_SEVERITIES:
        check.add(
            "severities",
            f"a policy has {MIN_SEVERITIES} to {MAX_SEVERITIES} severities, not {len(value)}",
        )
    found, labels = [], {}
    for index, entry in enumerate(value):
        code = entry.get("code") if isinstance(entry, dict) else None
        label = f"severities[{index}]" + (f" ({code})" if isinstance(code, str) else "")
        if check.mapping(label, entry, ("code", "name", "definition")) is None:
            continue
        fields = {key: check.text(f"{label}.{key}", entry.get(key, _MISSING)) for key in entry}
        code = fields.get("code")
        if code in labels:
            check.add(f"{label}.code", f"duplicate code '{code}' (also {labels[code]})")
        elif code:
            labels[code] = label
            found.append(
                Severity(code, fields.get("name", ""), fields.get("definition", ""), index + 1)
            )
    return found


def _per_severity_and_package(
    check: _Checker, section: str, value: Any, severities: list[str], packages: list[str]
):
    """Yield (where, severity, package, entry) for `section.<severity>.<package>[<i>]`."""
    if value is _MISSING:
        return
    if check.mapping(section, value) is None:
        return
    for severity, per_package in value.items():
        where = f"{section}.{severity}"
        known_severity = check.choice(where, severity, severities, "severity")
        if check.mapping(where, per_package) is None:
            continue
        for package, entries in per_package.items():
            here = f"{where}.{package}"
            known_package = check.choice(here, package, [*packages, ALL_PACKAGES], "package")
            if not isinstance(entries, list):
                check.add(here, "must be a list")
                continue
            for index, entry in enumerate(entries):
                if known_severity and known_package:
                    yield f"{here}[{index}]", severity, package, entry


def _target(check, where, severity, package, entry, calendars) -> PolicyTarget | None:
    keys = ("kind", "duration", "calendar", "non_bug_only", "recurs")
    if check.mapping(where, entry, keys, optional=("non_bug_only", "recurs")) is None:
        return None
    kind = _kind(check, f"{where}.kind", entry.get("kind", _MISSING))
    duration = _duration(check, f"{where}.duration", entry.get("duration", _MISSING))
    calendar = _calendar_name(
        check, f"{where}.calendar", entry.get("calendar", _MISSING), calendars
    )
    non_bug_only = check.boolean(f"{where}.non_bug_only", entry.get("non_bug_only", _MISSING))
    recurs = check.boolean(f"{where}.recurs", entry.get("recurs", _MISSING))
    if recurs and kind is not None and kind is not TargetKind.PERIODIC_UPDATE:
        check.add(f"{where}.recurs", f"only periodic updates recur, not {kind.value}")
    if recurs is False and kind is TargetKind.PERIODIC_UPDATE:
        check.add(f"{where}.recurs", "periodic updates always recur; leave recurs out")
    if None in (kind, duration, calendar):
        return None
    recurs = kind is TargetKind.PERIODIC_UPDATE if recurs is None else recurs
    spec = TargetSpec(kind, duration, calendar, non_bug_only=bool(non_bug_only))
    return PolicyTarget(severity, package, spec, recurs)


def _escalation(check, where, severity, package, entry, calendars) -> Escalation | None:
    keys = ("after", "calendar", "action", "target", "unless_met")
    if check.mapping(where, entry, keys, optional=("unless_met",)) is None:
        return None
    after = _duration(check, f"{where}.after", entry.get("after", _MISSING))
    calendar = _calendar_name(
        check, f"{where}.calendar", entry.get("calendar", _MISSING), calendars
    )
    action = check.text(f"{where}.action", entry.get("action", _MISSING))
    target = check.text(f"{where}.target", entry.get("target", _MISSING))
    unless_met = entry.get("unless_met", _MISSING)
    unless_met = None if unless_met is _MISSING else _kind(check, f"{where}.unless_met", unless_met)
    if None in (after, calendar) or not action or not target:
        return None
    build = lambda _: EscalationRule(after, calendar, action, target)  # noqa: E731
    rule = check.read(f"{where}.action", None, build)
    return rule and Escalation(severity, package, rule, unless_met)


def _kind(check: _Checker, where: str, value: Any) -> TargetKind | None:
    kinds = [kind.value for kind in TargetKind]
    text = check.choice(where, check.text(where, value), kinds, "kind")
    return TargetKind(text) if text else None


def _duration(check: _Checker, where: str, value: Any):
    text = check.text(where, value)
    return check.read(where, text, parse_duration) if text else None


def _calendar_name(check, where: str, value: Any, calendars: dict) -> BusinessCalendar | None:
    if value is _MISSING:  # the entry reports the missing key
        return None
    name = check.choice(where, check.text(where, value), list(calendars), "calendar")
    return calendars.get(name) if name else None


def _no_repeats(check: _Checker, targets: list[tuple[str, PolicyTarget]]) -> None:
    """One target of each kind per severity and package, counting `all` for every package."""
    seen: dict[tuple[str, str, TargetKind], str] = {}
    for where, target in targets:
        key = (target.severity, target.package, target.spec.kind)
        clashes = [seen.get(key)]
        if target.package == ALL_PACKAGES:
            clashes += [w for (s, _, k), w in seen.items() if (s, k) == key[::2]]
        else:
            clashes.append(seen.get((target.severity, ALL_PACKAGES, target.spec.kind)))
        clash = next((other for other in clashes if other), None)
        if clash:
            check.add(where, f"a second {target.spec.kind.value} target (also {clash})")
        seen.setdefault(key, where)


_TOP_LEVEL = ("name", "source", "applies_to", "notes", "calendars", "severities", "targets")
_TOP_LEVEL += ("escalations",)


def policy_parse(text: str, *, source: str, years: range) -> Policy:
    """Check a whole policy file's text; raise one PolicyError listing every problem.

    `source` names where the text came from (a file name) in YAML errors; calendars get the
    public holidays of `years`.
    """
    data = _yaml_load(text, source)
    check = _Checker()
    if check.mapping(source, data, _TOP_LEVEL, optional=("notes", "escalations")) is None:
        raise PolicyError(check.problems)
    get = lambda key: data.get(key, _MISSING)  # noqa: E731
    name, origin = check.text("name", get("name")), check.text("source", get("source"))
    notes = check.text("notes", get("notes"), blank=True)
    applies_to = check.texts("applies_to", get("applies_to")) if "applies_to" in data else []
    if "applies_to" in data and not applies_to:
        check.add("applies_to", "name at least one package")
    calendars: dict[str, BusinessCalendar] = {ROUND_THE_CLOCK: TWENTY_FOUR_SEVEN}
    for calendar_name, value in (check.mapping("calendars", get("calendars")) or {}).items():
        where = f"calendars.{calendar_name}"
        if calendar_name == ROUND_THE_CLOCK and value != ROUND_THE_CLOCK:
            check.add(where, f"the name {ROUND_THE_CLOCK} is kept for round the clock")
        elif calendar := _calendar(check, where, calendar_name, value, years):
            calendars[calendar_name] = calendar
        else:
            calendars[calendar_name] = None  # known, unusable: no second problem where named
    severities = _severities(check, get("severities"))
    codes = [severity.code for severity in severities]
    targets: list[tuple[str, PolicyTarget]] = []
    for where, *at, entry in _per_severity_and_package(
        check, "targets", get("targets"), codes, applies_to
    ):
        if target := _target(check, where, *at, entry, calendars):
            targets.append((where, target))
    _no_repeats(check, targets)
    if "targets" in data:
        for severity in severities:
            if not any(target.severity == severity.code for _, target in targets):
                check.add(f"targets.{severity.code}", "the severity has no targets")
    escalations = [
        _escalation(check, where, *at, entry, calendars)
        for where, *at, entry in _per_severity_and_package(
            check, "escalations", get("escalations"), codes, applies_to
        )
    ]
    if check.problems:
        raise PolicyError(check.problems)
    return Policy(
        name=name,
        source=origin,
        applies_to=tuple(applies_to),
        notes=notes,
        calendars=calendars,
        severities=tuple(severities),
        targets=tuple(target for _, target in targets),
        escalations=tuple(escalation for escalation in escalations if escalation),
    )


class _PolicyYamlLoader(yaml.BaseLoader):
    """Every scalar stays text (durations and dates are read here); a repeated key is an error."""

    def construct_mapping(self, node, deep=False):
        keys = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in keys:
                raise yaml.constructor.ConstructorError(
                    "while reading a mapping",
                    node.start_mark,
                    f"found duplicate key '{key}'",
                    key_node.start_mark,
                )
            keys.add(key)
        return super().construct_mapping(node, deep=deep)


def _yaml_load(text: str, source: str) -> Any:
    try:
        return yaml.load(text, Loader=_PolicyYamlLoader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f"{source}, line {mark.line + 1}, column {mark.column + 1}"
        raise PolicyError(
            [f"{where}: not valid YAML ({error.problem or error.context})"]
        ) from error
    except yaml.YAMLError as error:
        raise PolicyError([f"{source}: not valid YAML ({error})"]) from error
