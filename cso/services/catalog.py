"""Loading the CSO catalog from its file (`cso/catalog/cso.yaml`, `manage.py load_catalog`).

The whole file is checked before anything is written and every problem is reported at once,
naming the entry and field, so whoever edits the file can fix it in one pass. Then everything is
written in one transaction, matched by code: loading the same file again changes nothing, and
loading an edited file updates just what changed. Signed contracts keep the terms they copied at
signing, so an edit only affects contracts signed afterwards.

Rows the file no longer lists:
- a deliverable keeps its row (signed contracts refer to it) but loses its catalog entitlements,
  so no package offers it any more;
- a package, program or severity is refused: contracts, logged time and tickets refer to them,
  and a package left out would stay on sale with stale terms;
- an expansion use is deleted (nothing refers to it).
"""

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from django.db import transaction
from django.utils import timezone

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
from .catalog_parse import CatalogError, ParsedCatalog, catalog_parse, catalog_read

__all__ = [
    "CatalogError",
    "CatalogLoadResult",
    "catalog_load",
    "catalog_loaded_before",
    "catalog_parse",
    "catalog_read",
]


@dataclass
class CatalogLoadResult:
    version: str
    checksum: str
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    changes: list[str] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated or self.removed)

    def upsert(self, model, existing: dict, key, label: str, values: dict, **lookup):
        """Create the row, or update just the fields whose values differ."""
        row = existing.get(key)
        if row is None:
            self.created += 1
            self.changes.append(f"created {label}")
            return model.objects.create(**lookup, **values)
        changed = [name for name, value in values.items() if getattr(row, name) != value]
        if not changed:
            self.unchanged += 1
            return row
        for name in changed:
            setattr(row, name, values[name])
        row.save(update_fields=changed)
        self.updated += 1
        self.changes.append(f"updated {label}: {', '.join(changed)}")
        return row

    def upsert_by_code(self, model, entries: list[dict], noun: str, **extra) -> dict:
        existing = {row.code: row for row in model.objects.all()}
        return {
            entry["code"]: self.upsert(
                model,
                existing,
                entry["code"],
                f"{noun} '{entry['code']}'",
                {name: value for name, value in entry.items() if name != "code"} | extra,
                code=entry["code"],
            )
            for entry in entries
        }


def _refuse_removals(catalog: ParsedCatalog) -> None:
    problems = []
    for section, model, entries, refers in (
        ("packages", Package, catalog.packages, "contracts are signed for it"),
        ("programs", Program, catalog.programs, "deliverables and logged time refer to it"),
        ("severities", Severity, catalog.severities, "tickets refer to it"),
    ):
        kept = [entry["code"] for entry in entries]
        for code in model.objects.exclude(code__in=kept).values_list("code", flat=True):
            problems.append(f"{section}: '{code}' is no longer in the file; keep it ({refers})")
    if problems:
        raise CatalogError(problems)


def catalog_loaded_before(*, path: Path) -> bool:
    """Whether this exact file (by checksum) has been loaded into the portal already."""
    try:
        _, checksum = catalog_read(path)
    except CatalogError:
        return False  # let the load itself report the problem
    return CatalogVersion.objects.filter(checksum=checksum).exists()


def catalog_load(*, path: Path, now: datetime | None = None) -> CatalogLoadResult:
    """Check the catalog file whole, then write it in one transaction (or nothing at all)."""
    data, checksum = catalog_read(path)
    catalog = catalog_parse(data)
    result = CatalogLoadResult(version=catalog.version, checksum=checksum)
    with transaction.atomic():
        _refuse_removals(catalog)
        version = result.upsert(
            CatalogVersion,
            {row.version: row for row in CatalogVersion.objects.all()},
            catalog.version,
            f"catalog version '{catalog.version}'",
            {"effective_from": catalog.effective_from, "source": catalog.source}
            | {"checksum": checksum},
            version=catalog.version,
        )
        if result.changed:
            CatalogVersion.objects.filter(pk=version.pk).update(loaded_at=now or timezone.now())
        packages = result.upsert_by_code(
            Package, catalog.packages, "package", catalog_version_id=version.pk
        )
        programs = result.upsert_by_code(Program, catalog.programs, "program")
        _write_deliverables(result, catalog, packages, programs)
        _write_expansion(result, catalog, packages)
        result.upsert_by_code(Severity, catalog.severities, "severity")
    result.rows = {
        "packages": len(catalog.packages),
        "programs": len(catalog.programs),
        "deliverables": len(catalog.deliverables),
        "entitlements": sum(len(entry["entitlements"]) for entry in catalog.deliverables),
        "expansion packs": sum(pack is not None for pack in catalog.expansion_packs.values()),
        "expansion uses": len(catalog.expansion_uses),
        "severities": len(catalog.severities),
    }
    return result


def _write_deliverables(result: CatalogLoadResult, catalog, packages, programs) -> None:
    entries = [
        {name: value for name, value in entry.items() if name not in ("program", "entitlements")}
        | {"program_id": programs[entry["program"]].pk if entry["program"] else None}
        for entry in catalog.deliverables
    ]
    deliverables = result.upsert_by_code(Deliverable, entries, "deliverable")
    existing = {(row.package_id, row.deliverable_id): row for row in Entitlement.objects.all()}
    for entry in catalog.deliverables:
        deliverable = deliverables[entry["code"]]
        for tier, terms in entry["entitlements"].items():
            result.upsert(
                Entitlement,
                existing,
                (packages[tier].pk, deliverable.pk),
                f"entitlement of '{tier}' to '{entry['code']}'",
                terms,
                package=packages[tier],
                deliverable=deliverable,
            )
    # A deliverable left out of the file is withdrawn from every package; its row stays because
    # signed contracts keep their copied entitlements to it.
    gone = Entitlement.objects.exclude(deliverable__code__in=list(deliverables))
    for code in sorted(set(gone.values_list("deliverable__code", flat=True))):
        result.changes.append(f"withdrew deliverable '{code}' from every package (row kept)")
    result.removed += gone.delete()[0]


def _write_expansion(result: CatalogLoadResult, catalog, packages) -> None:
    existing = {row.package_id: row for row in ExpansionPack.objects.all()}
    for tier, pack in catalog.expansion_packs.items():
        package = packages[tier]
        if pack is None and package.pk in existing:
            existing[package.pk].delete()
            result.removed += 1
            result.changes.append(f"removed the expansion pack of '{tier}'")
        elif pack is not None:
            label = f"expansion pack of '{tier}'"
            result.upsert(ExpansionPack, existing, package.pk, label, pack, package=package)
    uses = result.upsert_by_code(ExpansionUse, catalog.expansion_uses, "expansion use")
    stale = ExpansionUse.objects.exclude(code__in=list(uses))
    for code in stale.values_list("code", flat=True):
        result.changes.append(f"removed expansion use '{code}'")
    result.removed += stale.delete()[0]
