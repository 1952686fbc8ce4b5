"""Loading the catalog file: idempotent, all-or-nothing, and every problem named at once."""

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from io import StringIO

import pytest
import yaml
from django.conf import settings
from django.core.management import CommandError, call_command

from cso.models import (
    CatalogVersion,
    Deliverable,
    Entitlement,
    ExpansionPack,
    ExpansionUse,
    Package,
    Program,
    Severity,
    SubscriptionEntitlement,
)
from cso.services.catalog import CatalogError, catalog_load
from cso.services.contracts import SubscriptionSpec, contract_create
from tests.factories import LineOfBusinessFactory

MODELS = [
    CatalogVersion,
    Package,
    Program,
    Deliverable,
    Entitlement,
    ExpansionPack,
    ExpansionUse,
    Severity,
]


def shipped() -> dict:
    """The shipped catalog as plain data (no shared YAML anchors, so edits stay local)."""
    data = yaml.safe_load(settings.CATALOG_FILE.read_text(encoding="utf-8"))
    return json.loads(json.dumps(data, default=str))


def write(tmp_path, data: dict, name: str = "catalog.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def deliverable(data: dict, code: str) -> tuple[int, dict]:
    return next((i, d) for i, d in enumerate(data["deliverables"]) if d["code"] == code)


def row_counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in MODELS}


def snapshot() -> list:
    return [list(model.objects.order_by("pk").values()) for model in MODELS]


def sign_premier_contract():
    line = LineOfBusinessFactory()
    return contract_create(
        organization=line.organization,
        term_start=date(2026, 1, 1),
        overage_rate="150",
        subscriptions=[SubscriptionSpec(package="premier", lines_of_business=[line])],
    )


@pytest.mark.django_db
def test_loading_the_same_file_twice_changes_nothing():
    first_time = datetime(2026, 1, 2, 9, 0, tzinfo=UTC)
    first = catalog_load(path=settings.CATALOG_FILE, now=first_time)
    counts, rows = row_counts(), snapshot()

    second = catalog_load(path=settings.CATALOG_FILE, now=datetime(2026, 2, 1, tzinfo=UTC))

    assert first.created == sum(counts.values()) and first.changed
    assert (second.created, second.updated, second.removed) == (0, 0, 0)
    assert not second.changed and second.unchanged == first.created
    assert row_counts() == counts and snapshot() == rows
    assert CatalogVersion.objects.get().loaded_at == first_time


@pytest.mark.django_db
def test_the_command_reports_what_it_loaded_and_then_that_nothing_changed():
    first, second = StringIO(), StringIO()

    call_command("load_catalog", stdout=first)
    call_command("load_catalog", str(settings.CATALOG_FILE), stdout=second)

    assert "Catalog 2026.1" in first.getvalue() and "5 packages" in first.getvalue()
    assert "Created" in first.getvalue()
    assert "No changes" in second.getvalue()


def _unknown_frequency(data):
    index, qbr = deliverable(data, "quarterly_business_review")
    qbr["entitlements"]["premier"] = "fortnightly"
    return (
        f"deliverables[{index}] (quarterly_business_review).entitlements.premier: "
        "unknown frequency 'fortnightly'; use one of: weekly, twice_monthly"
    )


def _negative_hours(data):
    data["packages"][2]["quarterly_hours"] = -5
    return "packages[2] (premier).quarterly_hours: must not be negative (-5)"


def _hours_not_a_number(data):
    data["packages"][1]["annual_hours"] = "lots"
    return "packages[1] (fundamentals).annual_hours: 'lots' is not a number of hours"


def _annual_below_quarterly(data):
    data["packages"][0]["annual_hours"] = 20
    return "packages[0] (foundations).annual_hours: annual hours (20) are lower than quarterly"


def _bad_hour_increment(data):
    data["packages"][3]["hour_increment"] = 0
    return "packages[3] (expert).hour_increment: must be more than 0 and at most 8 hours"


def _missing_tier(data):
    index, plan = deliverable(data, "customer_account_plan")
    del plan["entitlements"]["strategic"]
    return f"deliverables[{index}] (customer_account_plan).entitlements: missing tier 'strategic'"


def _unknown_tier(data):
    index, plan = deliverable(data, "customer_account_plan")
    plan["entitlements"]["platinum"] = "monthly"
    return (
        f"deliverables[{index}] (customer_account_plan).entitlements: unknown tier 'platinum'; "
        "the packages are: foundations, fundamentals, premier, expert, strategic"
    )


def _duplicate_code(data):
    index, review = deliverable(data, "customer_performance_review")
    review["code"] = "customer_account_plan"
    first, _ = deliverable(data, "customer_account_plan")
    return (
        f"deliverables[{index}] (customer_account_plan).code: duplicate code "
        f"'customer_account_plan' (also deliverables[{first}] (customer_account_plan))"
    )


def _unknown_program(data):
    index, web = deliverable(data, "web_support")
    web["program"] = "helpdesk"
    return f"deliverables[{index}] (web_support).program: unknown program 'helpdesk'"


def _missing_key(data):
    del data["severities"][1]["definition"]
    return "severities[1] (P2): missing key 'definition'"


def _allowance_beyond_package_hours(data):
    index, segmentation = deliverable(data, "segmentation_management")
    segmentation["entitlements"]["fundamentals"] = "300 hours"
    return (
        f"deliverables[{index}] (segmentation_management).entitlements.fundamentals: "
        "300 hours exceed the package's 260 hours a year"
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    "break_file",
    [
        _unknown_frequency,
        _negative_hours,
        _hours_not_a_number,
        _annual_below_quarterly,
        _missing_tier,
        _unknown_tier,
        _duplicate_code,
        _unknown_program,
        _missing_key,
        _allowance_beyond_package_hours,
        _bad_hour_increment,
    ],
)
def test_a_bad_file_names_the_entry_and_loads_nothing(tmp_path, break_file):
    data = shipped()
    expected = break_file(data)
    path = write(tmp_path, data)

    with pytest.raises(CatalogError) as raised:
        catalog_load(path=path)

    assert any(problem.startswith(expected) for problem in raised.value.problems), (
        raised.value.problems
    )
    assert set(row_counts().values()) == {0}


@pytest.mark.django_db
def test_malformed_yaml_gives_the_line_and_loads_nothing(tmp_path):
    path = tmp_path / "catalog.yaml"
    path.write_text('version: "2026.1"\npackages:\n  - code: foundations\n   name: Foundations\n')

    with pytest.raises(CatalogError) as raised:
        catalog_load(path=path)

    assert raised.value.problems == [
        "catalog.yaml, line 4, column 4: not valid YAML "
        "(expected <block end>, but found '<block mapping start>')"
    ]
    assert set(row_counts().values()) == {0}


@pytest.mark.django_db
def test_a_key_written_twice_is_refused(tmp_path):
    text = settings.CATALOG_FILE.read_text(encoding="utf-8")
    path = tmp_path / "catalog.yaml"
    path.write_text(
        text.replace(
            "      premier: twice_monthly\n",
            "      premier: twice_monthly\n      premier: weekly\n",
            1,
        )
    )

    with pytest.raises(CatalogError) as raised:
        catalog_load(path=path)

    assert "found duplicate key 'premier'" in raised.value.problems[0]
    assert "line " in raised.value.problems[0]


@pytest.mark.django_db
def test_every_problem_is_reported_at_once(tmp_path):
    data = shipped()
    expected = [_negative_hours(data), _unknown_frequency(data), _missing_key(data)]

    with pytest.raises(CatalogError) as raised:
        catalog_load(path=write(tmp_path, data))

    assert len(raised.value.problems) == 3
    for message, problem in zip(expected, raised.value.problems, strict=True):
        assert problem.startswith(message)


@pytest.mark.django_db
def test_a_bad_file_leaves_the_loaded_catalog_as_it_was(tmp_path):
    catalog_load(path=settings.CATALOG_FILE)
    before = snapshot()
    data = shipped()
    data["packages"][2]["quarterly_hours"] = 120  # a valid edit ...
    _unknown_frequency(data)  # ... in a file with one bad cell

    with pytest.raises(CatalogError):
        catalog_load(path=write(tmp_path, data))

    assert snapshot() == before
    assert Package.objects.get(code="premier").quarterly_hours == Decimal("113")


@pytest.mark.django_db
def test_hours_are_read_exactly_as_written(tmp_path):
    text = settings.CATALOG_FILE.read_text(encoding="utf-8")
    path = tmp_path / "catalog.yaml"
    path.write_text(text.replace("quarterly_hours: 113\n", "quarterly_hours: 113.35\n"))

    catalog_load(path=path)

    assert Package.objects.get(code="premier").quarterly_hours == Decimal("113.35")


@pytest.mark.django_db
def test_time_is_logged_in_quarter_hours_unless_a_package_sets_its_step(tmp_path):
    data = shipped()
    data["packages"][4]["hour_increment"] = "0.5"

    catalog_load(path=write(tmp_path, data))

    steps = dict(Package.objects.values_list("code", "hour_increment"))
    assert steps["strategic"] == Decimal("0.5")
    assert steps["premier"] == Decimal("0.25")


@pytest.mark.django_db
def test_an_edit_updates_the_catalog_but_not_a_contract_already_signed(tmp_path):
    catalog_load(path=settings.CATALOG_FILE)
    signed = sign_premier_contract().subscriptions.get()
    data = shipped()
    data["packages"][2].update(quarterly_hours=120, annual_hours=480)
    _, plan = deliverable(data, "customer_account_plan")
    plan["entitlements"]["premier"] = "weekly"

    result = catalog_load(path=write(tmp_path, data))

    assert (result.created, result.updated, result.removed) == (0, 3, 0)
    premier = Package.objects.get(code="premier")
    assert (premier.quarterly_hours, premier.annual_hours) == (Decimal("120"), Decimal("480"))
    assert premier.entitlements.get(deliverable__code="customer_account_plan").frequency == (
        "weekly"
    )
    signed.refresh_from_db()
    assert (signed.quarterly_hours, signed.annual_hours) == (Decimal("113"), Decimal("455"))
    kept = signed.entitlements.get(deliverable__code="customer_account_plan")
    assert kept.frequency == "twice_monthly"
    signed_later = sign_premier_contract().subscriptions.get()
    assert signed_later.quarterly_hours == Decimal("120")


@pytest.mark.django_db
def test_a_new_version_takes_over_and_signed_contracts_keep_theirs(tmp_path):
    catalog_load(path=settings.CATALOG_FILE)
    signed = sign_premier_contract().subscriptions.get()
    data = shipped()
    data.update(version="2027.1", effective_from="2027-01-01")

    catalog_load(path=write(tmp_path, data))

    assert list(CatalogVersion.objects.values_list("version", flat=True)) == ["2027.1", "2026.1"]
    assert set(Package.objects.values_list("catalog_version__version", flat=True)) == {"2027.1"}
    signed.refresh_from_db()
    assert signed.catalog_version == "2026.1"


@pytest.mark.django_db
def test_a_deliverable_left_out_is_withdrawn_but_kept_for_signed_contracts(tmp_path):
    catalog_load(path=settings.CATALOG_FILE)
    signed = sign_premier_contract().subscriptions.get()
    data = shipped()
    index, _ = deliverable(data, "product_roadmap_review")
    del data["deliverables"][index]

    result = catalog_load(path=write(tmp_path, data))
    again = catalog_load(path=write(tmp_path, data))

    assert result.removed == 5 and not again.changed
    assert Deliverable.objects.filter(code="product_roadmap_review").exists()
    assert not Entitlement.objects.filter(deliverable__code="product_roadmap_review").exists()
    assert SubscriptionEntitlement.objects.filter(
        subscription=signed, deliverable__code="product_roadmap_review"
    ).exists()


@pytest.mark.django_db
def test_a_package_left_out_is_refused(tmp_path):
    catalog_load(path=settings.CATALOG_FILE)
    before = snapshot()
    data = shipped()
    del data["packages"][0]
    del data["expansion_packs"]["foundations"]
    for entry in data["deliverables"]:
        del entry["entitlements"]["foundations"]

    with pytest.raises(CatalogError) as raised:
        catalog_load(path=write(tmp_path, data))

    assert raised.value.problems == [
        "packages: 'foundations' is no longer in the file; keep it (contracts are signed for it)"
    ]
    assert snapshot() == before


@pytest.mark.django_db
def test_the_command_lists_every_problem_and_fails(tmp_path):
    data = shipped()
    first, second = _negative_hours(data), _missing_tier(data)
    path = write(tmp_path, data)
    errors = StringIO()

    with pytest.raises(CommandError, match="was not loaded: fix the 2 problem"):
        call_command("load_catalog", str(path), stderr=errors)

    assert first in errors.getvalue() and second in errors.getvalue()
    assert Package.objects.count() == 0


def test_if_changed_keeps_admin_edits_until_the_file_changes(catalog):
    Package.objects.filter(code="expert").update(quarterly_hours=300)

    call_command("load_catalog", if_changed=True, verbosity=0)
    assert Package.objects.get(code="expert").quarterly_hours == 300

    call_command("load_catalog", verbosity=0)
    assert Package.objects.get(code="expert").quarterly_hours == 246
