"""Reading and checking the CSO catalog file, before anything is written.

The whole file is checked and every problem is reported at once, naming the entry and field, so
whoever edits the file can fix it in one pass. Pure: no database access.
"""

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import partial
from pathlib import Path
from typing import Any

import yaml

from ..models import (
    CatalogVersion,
    Deliverable,
    Entitlement,
    ExpansionPack,
    ExpansionUse,
    Package,
    Program,
    Severity,
)
from ..models.catalog import EntitlementKind, Frequency


class CatalogError(ValueError):
    """The catalog cannot be loaded; `problems` lists every reason, each naming entry and field."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        heading = f"The catalog has {len(self.problems)} problem(s):"
        super().__init__("\n".join([heading, *(f"- {problem}" for problem in self.problems)]))


@dataclass(frozen=True)
class ParsedCatalog:
    """A checked catalog. Entries are dicts of model field values, keyed as the file keys them.

    Deliverables carry `program` (a program code or None) and `entitlements` (package code to
    Entitlement field values); `expansion_packs` maps every package code to its pack or None.
    """

    version: str
    effective_from: date
    source: str
    packages: list[dict]
    programs: list[dict]
    deliverables: list[dict]
    expansion_packs: dict[str, dict | None]
    expansion_uses: list[dict]
    severities: list[dict]


_MISSING = object()
_NONE_WORDS = {"", "~", "null", "none"}
_KIND_WORDS = {
    "included": EntitlementKind.INCLUDED,
    "additional cost": EntitlementKind.ADDITIONAL_COST,
    "at additional cost": EntitlementKind.ADDITIONAL_COST,
    "not available": EntitlementKind.NOT_AVAILABLE,
}
_FREQUENCIES = [f.value for f in Frequency if f != Frequency.UP_TO_N_PER_YEAR]
_UP_TO_PER_YEAR = re.compile(r"up to (\S+?)x? per year")
_HOURS = re.compile(r"(?:up to )?(\S+) hours?")
_TERMS_HELP = ", ".join(_FREQUENCIES) + (
    ", 'up to N per year', 'N hours', included, additional cost, not available"
)


def _limit(model, name: str) -> int:
    return model._meta.get_field(name).max_length


def _is_none(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.strip().lower() in _NONE_WORDS)


class _Checker:
    """Collects problems as `where: what`. Readers take (where, value) and return the value
    read, or None when it is missing or unusable (having said why, unless it is missing: the
    enclosing mapping reports missing keys)."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def add(self, where: str, message: str) -> None:
        self.problems.append(f"{where}: {message}")

    def mapping(self, where: str, value: Any, keys: tuple, optional: tuple = ()) -> dict | None:
        if not isinstance(value, dict):
            self.add(where, f"must be a mapping with keys {', '.join(keys)}")
            return None
        for key in keys:
            if key not in value and key not in optional:
                self.add(where, f"missing key '{key}'")
        for key in value:
            if key not in keys:
                self.add(where, f"unknown key '{key}'; expected: {', '.join(keys)}")
        return value

    def fields(self, where: str, value: Any, readers: dict, optional: tuple = ()) -> dict | None:
        """Read a mapping field by field: `where.field` names each problem."""
        if self.mapping(where, value, tuple(readers), optional) is None:
            return None
        return {
            name: read(f"{where}.{name}", value.get(name, _MISSING))
            for name, read in readers.items()
        }

    def entries(self, section: str, value: Any, readers: dict, optional: tuple = ()) -> list:
        """Read a list of mappings; labels name the entry by position and code."""
        if value is _MISSING:
            return []
        if not isinstance(value, list):
            self.add(section, "must be a list of entries")
            return []
        read, codes = [], {}
        for index, entry in enumerate(value):
            code = entry.get("code") if isinstance(entry, dict) else None
            label = f"{section}[{index}]" + (f" ({code})" if isinstance(code, str) else "")
            values = self.fields(label, entry, readers, optional)
            if values is None:
                continue
            code = values.get("code")
            if code and code in codes:
                self.add(f"{label}.code", f"duplicate code '{code}' (also {codes[code]})")
            elif code:
                codes[code] = label
            read.append((label, values | {"rank": values.get("rank") or index + 1}))
        return read

    def text(self, where: str, value: Any, max_length: int | None = None, blank=False) -> str:
        if value is _MISSING:
            return ""
        if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str):
            self.add(where, "must be text")
            return ""
        value = value.strip()
        if not value and not blank:
            self.add(where, "must not be empty")
        if max_length is not None and len(value) > max_length:
            self.add(where, f"is {len(value)} characters long; at most {max_length} fit")
        return value

    def code(self, where: str, value: Any, max_length: int) -> str | None:
        text = self.text(where, value, max_length)
        if text and not re.fullmatch(r"[A-Za-z0-9_-]+", text):
            self.add(where, f"'{text}' is not a code: use letters, digits, '_' and '-' only")
        return text or None

    def choice(self, where: str, value: Any, choices: list[str], nullable=False) -> str | None:
        if value is _MISSING or (nullable and _is_none(value)):
            return None
        text = self.text(where, value)
        if text and text not in choices:
            known = ", ".join(sorted(choices)) + (" or null" if nullable else "")
            self.add(where, f"unknown {where.rsplit('.', 1)[-1]} '{text}'; use one of: {known}")
        return text or None

    def whole_number(self, where: str, value: Any, minimum: int = 1) -> int | None:
        if value is _MISSING:
            return None
        text = str(value).strip()
        if isinstance(value, bool) or not re.fullmatch(r"[+-]?\d+", text):
            self.add(where, f"'{value}' is not a whole number")
            return None
        if int(text) < minimum:
            self.add(where, f"must be at least {minimum} ({int(text)})")
            return None
        return int(text)

    def hours(self, where: str, value: Any) -> Decimal | None:
        """Hours become Decimal from their written form, never through float."""
        if value is _MISSING:
            return None
        try:
            amount = Decimal(str(value).strip())
        except (InvalidOperation, ValueError):
            amount = None
        if isinstance(value, bool) or amount is None or not amount.is_finite():
            self.add(where, f"'{value}' is not a number of hours")
        elif amount < 0:
            self.add(where, f"must not be negative ({value})")
        elif amount != amount.quantize(Decimal("0.01")):
            self.add(where, f"has more than two decimal places ({value})")
        elif amount >= 10**7:
            self.add(where, f"is too large ({value}); at most 9999999.99")
        else:
            return amount
        return None

    def boolean(self, where: str, value: Any, default: bool = False) -> bool:
        if value is _MISSING or isinstance(value, bool):
            return default if value is _MISSING else value
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
        self.add(where, f"must be true or false, not '{value}'")
        return default

    def day(self, where: str, value: Any) -> date | None:
        if value is _MISSING or (isinstance(value, date) and not isinstance(value, datetime)):
            return None if value is _MISSING else value
        try:
            return date.fromisoformat(str(value).strip())
        except ValueError:
            self.add(where, f"'{value}' is not a date; write it as YYYY-MM-DD")
            return None

    def per_package(self, where: str, value: Any, packages: dict, read: Callable) -> dict:
        """A mapping with one value per package (tier): every tier listed, no other."""
        if value is _MISSING or not packages:  # no packages read: the packages say why
            return {}
        if not isinstance(value, dict):
            self.add(where, f"must be a mapping with one entry per package: {', '.join(packages)}")
            return {}
        for tier in value:
            if tier not in packages:
                self.add(where, f"unknown tier '{tier}'; the packages are: {', '.join(packages)}")
        for tier in packages:
            if tier not in value:
                self.add(where, f"missing tier '{tier}'")
        return {
            tier: read(f"{where}.{tier}", item, packages[tier])
            for tier, item in value.items()
            if tier in packages
        }

    def within_package(self, where: str, hours: Decimal | None, package: dict, cite: str) -> None:
        """Section 1: these hours count inside the package's hours, so cannot exceed them."""
        annual = package.get("annual_hours")
        if hours is not None and annual is not None and hours > annual:
            self.add(
                where,
                f"{hours} hours exceed the package's {annual} hours a year, "
                f"which include them ({cite})",
            )


# Time is logged in quarter hours unless a package says otherwise.
DEFAULT_HOUR_INCREMENT = Decimal("0.25")


def _terms(check: _Checker, where: str, value: Any, package: dict) -> dict | None:
    """One entitlement cell: 'monthly', 'up to 4 per year', '24 hours', 'included', ..."""
    options = {"note": "", "within_package_hours": True}
    if isinstance(value, dict):
        readers = {
            "terms": lambda _, raw: raw,
            "note": partial(check.text, max_length=_limit(Entitlement, "note"), blank=True),
            "within_package_hours": partial(check.boolean, default=True),
        }
        read = check.fields(where, value, readers, optional=("note", "within_package_hours"))
        value = _MISSING if read is None else read.pop("terms")
        if value is _MISSING:
            return None
        options |= read
    if not isinstance(value, str):
        check.add(where, f"must be text such as 'monthly' or '24 hours'; use one of: {_TERMS_HELP}")
        return None
    terms = {"kind": EntitlementKind.FREQUENCY, "frequency": "", "max_per_year": None}
    terms |= {"hours": None, **options}
    words = " ".join(value.lower().split())
    if words in _KIND_WORDS:
        return terms | {"kind": _KIND_WORDS[words]}
    if words in _FREQUENCIES:
        return terms | {"frequency": words}
    if match := _UP_TO_PER_YEAR.fullmatch(words):
        times = check.whole_number(where, match[1])
        return terms | {"frequency": Frequency.UP_TO_N_PER_YEAR, "max_per_year": times}
    if match := _HOURS.fullmatch(words):
        hours = check.hours(where, match[1])
        if terms["within_package_hours"]:
            check.within_package(where, hours, package, "Section 1")
        return terms | {"kind": EntitlementKind.HOUR_ALLOWANCE, "hours": hours}
    check.add(where, f"unknown frequency '{value}'; use one of: {_TERMS_HELP}")
    return None


def _expansion_pack(check: _Checker, where: str, value: Any, package: dict) -> dict | None:
    if _is_none(value):
        return None
    readers = {
        "level": partial(check.choice, choices=ExpansionPack.Level.values),
        "deployments": check.whole_number,
        "hours": check.hours,
        "within_package_hours": partial(check.boolean, default=True),
    }
    pack = check.fields(where, value, readers, optional=("within_package_hours",))
    if pack and pack["within_package_hours"]:
        check.within_package(f"{where}.hours", pack["hours"], package, "Table 9")
    return pack


def _packages(check: _Checker, value: Any) -> list[tuple[str, dict]]:
    """Section 1: each package's hours per contract quarter and per contract year."""
    readers = {
        "code": partial(check.code, max_length=_limit(Package, "code")),
        "name": partial(check.text, max_length=_limit(Package, "name")),
        "rank": check.whole_number,
        "quarterly_hours": check.hours,
        "annual_hours": check.hours,
        "hour_increment": check.hours,
    }
    packages = check.entries("packages", value, readers, optional=("hour_increment",))
    if value is not _MISSING and not packages:
        check.add("packages", "must list at least one package")
    ranks: dict[int, str] = {}
    for label, package in packages:
        quarterly, annual = package["quarterly_hours"], package["annual_hours"]
        if None not in (quarterly, annual) and annual < quarterly:
            check.add(
                f"{label}.annual_hours",
                f"annual hours ({annual}) are lower than quarterly hours ({quarterly})",
            )
        if package["rank"] in ranks:
            check.add(
                f"{label}.rank", f"rank {package['rank']} is also used by {ranks[package['rank']]}"
            )
        ranks.setdefault(package["rank"], label)
        if package["hour_increment"] is None:
            package["hour_increment"] = DEFAULT_HOUR_INCREMENT
        elif not 0 < package["hour_increment"] <= 8:
            check.add(f"{label}.hour_increment", "must be more than 0 and at most 8 hours")
    return packages


def _deliverables(
    check: _Checker, value: Any, packages: dict[str, dict], programs: list[str]
) -> list[tuple[str, dict]]:
    """Tables 2-6 and 10: each deliverable and what every package gets of it."""
    readers = {
        "code": partial(check.code, max_length=_limit(Deliverable, "code")),
        "name": partial(check.text, max_length=_limit(Deliverable, "name")),
        "definition": partial(check.text, blank=True),
        "category": partial(check.choice, choices=Deliverable.Category.values),
        "program": partial(check.choice, choices=programs, nullable=True),
        "source_table": check.whole_number,
        "is_review": check.boolean,
        "entitlements": partial(check.per_package, packages=packages, read=partial(_terms, check)),
    }
    deliverables = check.entries("deliverables", value, readers, optional=("is_review",))
    per_table: dict[int, int] = {}
    for _, deliverable in deliverables:  # rank: the row's place in its table
        table = deliverable["source_table"]
        per_table[table] = deliverable["rank"] = per_table.get(table, 0) + 1
    return deliverables


def _expansion_uses(check: _Checker, value: Any) -> list[tuple[str, dict]]:
    """Section 9: what expansion pack hours can and cannot be used for."""
    if value is not _MISSING:
        check.mapping("expansion_uses", value, ("allowed", "not_allowed"))
    readers = {
        "code": partial(check.code, max_length=_limit(ExpansionUse, "code")),
        "description": partial(check.text, max_length=_limit(ExpansionUse, "description")),
    }
    uses, first = [], {}
    for group, allowed in (("allowed", True), ("not_allowed", False)):
        raw = value.get(group, _MISSING) if isinstance(value, dict) else _MISSING
        for label, use in check.entries(f"expansion_uses.{group}", raw, readers):
            other = first.setdefault(use["code"], label)
            if use["code"] and not other.startswith(f"expansion_uses.{group}["):
                check.add(f"{label}.code", f"duplicate code '{use['code']}' (also {other})")
            uses.append((label, use | {"allowed": allowed}))
    return uses


_TOP_LEVEL = ("version", "effective_from", "source", "packages", "programs", "deliverables")
_TOP_LEVEL += ("expansion_packs", "expansion_uses", "severities")


def catalog_parse(data: dict) -> ParsedCatalog:
    """Check a whole catalog (as read from its YAML file); raise one CatalogError listing all."""
    check = _Checker()
    if check.mapping("catalog file", data, _TOP_LEVEL) is None:
        raise CatalogError(check.problems)
    section = {key: data.get(key, _MISSING) for key in _TOP_LEVEL}
    version = check.text("version", section["version"], _limit(CatalogVersion, "version"))
    effective_from = check.day("effective_from", section["effective_from"])
    source = check.text("source", section["source"], _limit(CatalogVersion, "source"))
    packages = _packages(check, section["packages"])
    by_code = {package["code"]: package for _, package in packages if package["code"]}
    program_readers = {
        "code": partial(check.code, max_length=_limit(Program, "code")),
        "name": partial(check.text, max_length=_limit(Program, "name")),
        "description": partial(check.text, blank=True),
    }
    programs = check.entries(
        "programs", section["programs"], program_readers, optional=("description",)
    )
    program_codes = [program["code"] for _, program in programs if program["code"]]
    deliverables = _deliverables(check, section["deliverables"], by_code, program_codes)
    expansion_packs = check.per_package(
        "expansion_packs", section["expansion_packs"], by_code, partial(_expansion_pack, check)
    )
    expansion_uses = _expansion_uses(check, section["expansion_uses"])
    severity_readers = {
        "code": partial(check.code, max_length=_limit(Severity, "code")),
        "definition": check.text,
    }
    severities = check.entries("severities", section["severities"], severity_readers)
    if check.problems:
        raise CatalogError(check.problems)
    return ParsedCatalog(
        version=version,
        effective_from=effective_from,
        source=source,
        packages=[package for _, package in packages],
        programs=[program for _, program in programs],
        deliverables=[deliverable for _, deliverable in deliverables],
        expansion_packs=expansion_packs,
        expansion_uses=[use for _, use in expansion_uses],
        severities=[severity for _, severity in severities],
    )


class _CatalogYamlLoader(yaml.BaseLoader):
    """Every scalar stays text, so hours reach Decimal unrounded; a repeated key is an error."""

    def construct_mapping(self, node, deep=False):
        keys = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, str) and key in keys:
                raise yaml.constructor.ConstructorError(
                    "while reading a mapping",
                    node.start_mark,
                    f"found duplicate key '{key}'",
                    key_node.start_mark,
                )
            if isinstance(key, str):
                keys.add(key)
        return super().construct_mapping(node, deep=deep)


def catalog_read(path: Path) -> tuple[Any, str]:
    """The file's YAML content and its sha256 checksum."""
    try:
        content = path.read_bytes()
    except OSError as error:
        raise CatalogError([f"{path}: cannot be read ({error.strerror})"]) from error
    try:
        data = yaml.load(content.decode("utf-8"), Loader=_CatalogYamlLoader)
    except UnicodeDecodeError as error:
        raise CatalogError([f"{path.name}: byte {error.start} is not UTF-8 text"]) from error
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f"{path.name}, line {mark.line + 1}, column {mark.column + 1}"
        raise CatalogError(
            [f"{where}: not valid YAML ({error.problem or error.context})"]
        ) from error
    except yaml.YAMLError as error:
        raise CatalogError([f"{path.name}: not valid YAML ({error})"]) from error
    return data, hashlib.sha256(content).hexdigest()
