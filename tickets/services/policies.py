"""Loading SLA policy files into the portal, and reading a loaded policy back as arithmetic.

A policy is stored as the file's text and parsed when clocks are computed (cached per version),
so what a ticket runs on is exactly what the file says. Loading checks the whole file first,
then its package codes against the catalog, and writes nothing if anything is wrong.
"""

import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from pathlib import Path

from django.conf import settings
from django.db import transaction

from cso.models import Package
from tickets.models import SlaPolicy, Ticket
from tickets.policy_parse import Policy, PolicyError, policy_parse

# Holidays are loaded for every year a ticket can reach: opened (or imported) from 2000, with its
# root cause analysis due at the latest in 2100.
POLICY_YEARS = range(2000, 2101)


@dataclass
class PolicyLoadResult:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    policies: list[SlaPolicy] = field(default_factory=list)


def policy_files(directory: Path | None = None) -> list[Path]:
    directory = Path(directory or settings.SLA_POLICY_DIR)
    return sorted(directory.glob("*.yaml"))


def policies_load(*, paths: list[Path], now: datetime) -> PolicyLoadResult:
    """Check every file, then write them all in one transaction (or nothing at all).

    A changed file raises the policy's version; its open tickets are recalculated by
    `tickets.services.clocks.policy_tickets_recalculate`, which logs each change.
    """
    problems: list[str] = []
    parsed: list[tuple[Path, str, Policy]] = []
    for path in paths:
        try:
            text = path.read_text(encoding="utf-8")
            parsed.append((path, text, policy_parse(text, source=path.name, years=POLICY_YEARS)))
        except OSError as error:
            problems.append(f"{path.name}: cannot be read ({error.strerror}).")
        except PolicyError as error:
            problems.extend(f"{path.name}: {problem}" for problem in error.problems)
    problems.extend(_name_problems(parsed))
    problems.extend(_package_problems(parsed))
    problems.extend(_live_ticket_problems(parsed))
    if problems:
        raise PolicyError(problems)
    result = PolicyLoadResult()
    with transaction.atomic():
        for path, text, policy in parsed:
            result.policies.append(_write(path, text, policy, now, result))
    return result


_CODE = re.compile(r"^[a-z0-9_-]+$")


def _name_problems(parsed: list[tuple[Path, str, Policy]]) -> list[str]:
    """The file's name becomes the policy's code: lower-case letters, digits, - and _."""
    return [
        f"{path.name}: name the file with lower-case letters, digits, - and _ only "
        f"(it becomes the policy's code)."
        for path, _, _ in parsed
        if not _CODE.match(path.stem)
    ]


def _live_ticket_problems(parsed: list[tuple[Path, str, Policy]]) -> list[str]:
    """A new version may not drop a severity or package that running tickets stand on: their
    clocks would vanish. Move those tickets first (change their severity or policy)."""
    problems = []
    for path, _, policy in parsed:
        severities = {severity.code for severity in policy.severities}
        in_use = (
            Ticket.objects.filter(sla_policy__code=path.stem)
            .exclude(status=Ticket.Status.CLOSED)
            .values_list("sla_package", "severity")
            .distinct()
        )
        for package, severity in in_use:
            if package not in policy.applies_to:
                problems.append(
                    f"{path.name}: applies_to: open tickets run on package {package!r}, which "
                    "the file no longer lists."
                )
            if severity not in severities:
                problems.append(
                    f"{path.name}: severities: open tickets have severity {severity!r}, which the "
                    "file no longer defines."
                )
    return sorted(set(problems))


def _package_problems(parsed: list[tuple[Path, str, Policy]]) -> list[str]:
    """Package codes must name catalog packages, each served by one policy only. A file whose
    codes are all outside the catalog is another vendor's plan: it runs for tickets put on it
    explicitly."""
    catalog = set(Package.objects.values_list("code", flat=True))
    problems, served_by = [], {}
    for path, _, policy in parsed:
        known = [code for code in policy.applies_to if code in catalog]
        if not known:
            continue
        for code in dict.fromkeys(policy.applies_to):
            if code not in catalog:
                problems.append(
                    f"{path.name}: applies_to: {code!r} is not a package of the catalog "
                    f"(known: {', '.join(sorted(catalog))})."
                )
            elif code in served_by:
                problems.append(
                    f"{path.name}: applies_to: {code!r} is already served by {served_by[code]}."
                )
            else:
                served_by[code] = path.name
    others = SlaPolicy.objects.exclude(code__in=[path.stem for path, _, _ in parsed])
    for row in others:
        for code in row.applies_to:
            if code in served_by:
                problems.append(
                    f"{served_by[code]}: applies_to: {code!r} is already served by the loaded "
                    f"policy {row.code!r}."
                )
    return problems


def _write(path: Path, text: str, policy: Policy, now: datetime, result) -> SlaPolicy:
    checksum = hashlib.sha256(text.encode()).hexdigest()
    values = {
        "name": policy.name,
        "source": policy.source,
        "notes": policy.notes,
        "applies_to": list(policy.applies_to),
        "text": text,
        "checksum": checksum,
        "loaded_at": now,
    }
    row = SlaPolicy.objects.select_for_update().filter(code=path.stem).first()
    if row is None:
        result.created.append(path.stem)
        return SlaPolicy.objects.create(code=path.stem, **values)
    if row.checksum == checksum:
        result.unchanged.append(path.stem)
        return row
    for name, value in values.items():
        setattr(row, name, value)
    row.version += 1
    row.save()
    result.updated.append(path.stem)
    return row


def policy_parsed(policy: SlaPolicy) -> Policy:
    """The loaded policy as arithmetic (calendars with their holidays), parsed once per version."""
    return _parsed(policy.pk, policy.checksum, policy.text, policy.code)


@lru_cache(maxsize=32)
def _parsed(pk: int, checksum: str, text: str, code: str) -> Policy:
    return policy_parse(text, source=f"{code}.yaml", years=POLICY_YEARS)


def policy_for_package(package_code: str) -> SlaPolicy | None:
    """The policy serving a catalog package, if one is loaded."""
    for policy in SlaPolicy.objects.all():  # a handful of rows; JSON lookups differ per database
        if package_code in policy.applies_to:
            return policy
    return None
