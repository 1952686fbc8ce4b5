"""The loaded catalog says what the CSO terms say, cell by cell.

The tables below are transcribed from the CSO Terms and Conditions (shared/seeds/001_*.txt) in the
terms' own words ("Twice Monthly", "2x/Quarter", "Up to 24 Hours*", "–"), independently of
cso/catalog/cso.yaml, and `seed_cell` translates those words into entitlement terms. A typo in
the catalog file therefore fails here.
"""

import re
from decimal import Decimal

import pytest

from cso.models import (
    CatalogVersion,
    Deliverable,
    Entitlement,
    ExpansionPack,
    ExpansionUse,
    Package,
    Program,
    Severity,
)

PACKAGES = ["foundations", "fundamentals", "premier", "expert", "strategic"]
DASH = "–"
# Table 4 has blank cells where the text lost its marks; see test_table_4_check_marks.
CHECK = "✓"

# Section 1: "<Package> includes up to N hours per quarter, for a total of M hours per year".
SECTION_1 = {
    "foundations": ("Foundations", 1, "25", "100"),
    "fundamentals": ("Fundamentals", 2, "65", "260"),
    "premier": ("Premier", 3, "113", "455"),
    "expert": ("Expert", 4, "246", "985"),
    "strategic": ("Strategic", 5, "500", "2000"),
}

TABLE_2 = [
    ("general_account_consulting", "General Account Consulting", ["Included"] * 5),
    (
        "customer_account_plan",
        "Customer Account Plan",
        ["Monthly", "Monthly", "Twice Monthly", "Twice Monthly", "Weekly"],
    ),
    (
        "customer_performance_review",
        "Customer Performance Review",
        ["Monthly", "Monthly", "Twice Monthly", "Twice Monthly", "Weekly"],
    ),
    (
        "industry_kpi_analysis",
        "Industry KPI Analysis",
        [DASH, "Annual", "Annual", "Semi-Annual", "Quarterly"],
    ),
    (
        "quarterly_business_review",
        "Quarterly Business Review",
        [DASH] + ["Up to 4x Per Year"] * 4,
    ),
    (
        "target_analysis_reports",
        "Access to Target Analysis Reports",
        [DASH, "Twice Yearly", "Quarterly", "Quarterly", "Monthly"],
    ),
    ("monthly_business_review", "Monthly Business Review", [DASH] * 4 + ["Monthly"]),
    ("strategic_roadmap", "Strategic Roadmap", [DASH] * 4 + ["Quarterly"]),
    ("product_release_review", "Product Release Review", [DASH] * 4 + ["Semi-Annual"]),
    ("product_roadmap_review", "Product Roadmap Review", [DASH] * 4 + ["Semi-Annual"]),
]

TABLE_3 = [
    (
        "transcript_analysis",
        "Transcript Analysis (Agent Level)",
        [DASH, "Quarterly", "Quarterly", "Quarterly", "2x/Quarter"],
    ),
    (
        "onsite_operations_monitoring",
        "On-Site Operations Monitoring and Diagnostics",
        ["At Additional Costs"] * 3 + ["Semi-Annually"] * 2,
    ),
    (
        "missed_opportunity_analysis",
        "Missed Opportunity Analysis",
        [DASH, "Quarterly", "Quarterly", "Quarterly", "2x/Quarter"],
    ),
    (
        "agent_effectiveness",
        "Agent Effectiveness",
        [DASH, "Quarterly", "Quarterly", "Quarterly", "2x/Quarter"],
    ),
    (
        "discretionary_operational_consulting_allowance",
        "Discretionary Operational Consulting Allowance",
        [DASH, DASH, "24 hours", "36 hours", "48 hours"],
    ),
]

TABLE_4 = [
    (
        "segmentation_management",
        "Segmentation Management",
        [DASH, "Up to 24 Hours*", "Up to 40 Hours*", "Up to 50 Hours*", "Up to 240 Hours*"],
    ),
    ("integrations", "Integrations", [DASH, DASH, CHECK, CHECK, CHECK]),
    ("reporting_customization", "Reporting Customization", [DASH, DASH, DASH, CHECK, CHECK]),
    ("plugin_taglet_creation", "Plugin/Taglet Creation", [DASH, DASH, DASH, CHECK, CHECK]),
    ("customization", "Customization", [DASH, DASH, DASH, DASH, CHECK]),
]

EXPERT_UP = [DASH, DASH, DASH, "Included", "Included"]
TABLE_5 = [
    ("global_premium_support_access", "Global Premium Support group Access", EXPERT_UP),
    ("proactive_case_management", "Proactive Support: Case management", EXPERT_UP),
    (
        "change_management_control",
        "Change Management Control: Maintenance activity communication",
        EXPERT_UP,
    ),
    (
        "escalation_brand_specific_rca",
        "Escalation Management: Brand specific Root Cause Analysis (“RCA”)",
        EXPERT_UP,
    ),
    (
        "escalation_high_severity_ownership",
        "Escalation Management: High severity issues ownership",
        EXPERT_UP,
    ),
    (
        "launch_readiness_peak_time_operations",
        "Launch Readiness Planning: Peak time operations",
        EXPERT_UP,
    ),
    ("primary_tech_support_engineer", "Primary Tech support Engineer", EXPERT_UP),
    ("direct_web_case_creation", "Direct Web case creation", [DASH, DASH] + ["Included"] * 3),
    (
        "messaging_channel_primary_engineer",
        "Messaging channel to your Tech support primary engineer",
        EXPERT_UP,
    ),
]

TABLE_6 = [
    (
        "business_critical_support_24x7",
        "24x7 Business Critical Support (English Only)",
        ["Included"] * 5,
    ),
    ("phone_support", "Phone Support", [DASH] + ["Included"] * 4),
    ("web_support", "Web Support", ["Included"] * 5),
    ("chat_support", "Chat Support", ["Included"] * 5),
    ("direct_tier_2_access", "Direct Access to Tier 2 Support", EXPERT_UP),
    ("enhanced_support_slas", "Enhanced Support SLAs", [DASH, DASH] + ["Included"] * 3),
]

TABLE_10 = [
    ("self_service_web_training", "Self-Service/Web-Based Training", ["Included"] * 5),
]

# Table number: (rows, Deliverable.Category, program code).
TABLES = {
    2: (TABLE_2, "performance_management", "performance_management"),
    3: (TABLE_3, "operational_consulting", "operational_consulting"),
    4: (TABLE_4, "solutions_engineering", "solutions_engineering"),
    5: (TABLE_5, "premium_support", "premium_technical_support"),
    6: (TABLE_6, "standard_support", "premium_technical_support"),
    10: (TABLE_10, "training", None),
}

REVIEWS = {
    "customer_account_plan",
    "customer_performance_review",
    "quarterly_business_review",
    "monthly_business_review",
    "strategic_roadmap",
    "product_release_review",
    "product_roadmap_review",
}

# Table 9: "1 Basic Deployment (includes up to 36 hours*)" and so on; Foundations has none.
TABLE_9 = {
    "foundations": None,
    "fundamentals": ("basic", 1, Decimal("36")),
    "premier": ("intermediate", 2, Decimal("60")),
    "expert": ("intermediate", 2, Decimal("60")),
    "strategic": ("advanced", 2, Decimal("120")),
}

TABLE_7 = {
    "P1": (
        "P1 severity issues include situations where LivePerson’s products/services are "
        "unavailable or severely degraded and such unavailability or degradation has a "
        "significant impact on the customer's business functions and practices and a workaround "
        "is not available. Security incidents (availability of service due to Denial of Service "
        "(DOS) or Distributed Denial of Service (DDOS) attack, suspected/actual data compromise)."
    ),
    "P2": (
        "LivePerson products/services are available but degraded and the impact on customer's "
        "business functions and practices is moderate. Workaround might be available."
    ),
    "P3": (
        "System performance issue or bug affecting some but not all users/website visitors. "
        "Short-term workaround is available, but not scalable."
    ),
}

SECTION_9_ALLOWED = [
    "Expansions to new lines-of-business",
    "Updates of existing lines-of-business",
    "Deployment of new LivePerson products and services (except those specifically listed as "
    "out of scope)",
    "Configuration of standard system integrations that are part of LiveEngage",
    "New plug-in or taglet development",
    "Support for development by the brand using LivePerson’s APIs or SDKs",
    "Deployment optimization activities that require technical resources from LivePerson",
]
SECTION_9_NOT_ALLOWED = [
    "Operational tuning",
    "Training",
    "Custom development by LivePerson (including API or SDK development)",
    "Deploying LivePerson Insights (Insights implementations are managed by a separate team)",
]

SEED_FREQUENCIES = {
    "weekly": "weekly",
    "twice monthly": "twice_monthly",
    "monthly": "monthly",
    "2x/quarter": "twice_per_quarter",
    "quarterly": "quarterly",
    "semi-annual": "semi_annual",
    "semi-annually": "semi_annual",
    "twice yearly": "twice_yearly",
    "annual": "annual",
}


def seed_cell(cell: str) -> tuple:
    """(kind, frequency, max_per_year, hours) of a table cell as the CSO terms word it."""
    words = cell.lower()
    if cell == DASH:
        return ("not_available", "", None, None)
    if words == "included" or cell == CHECK:
        return ("included", "", None, None)
    if words == "at additional costs":
        return ("additional_cost", "", None, None)
    if words in SEED_FREQUENCIES:
        return ("frequency", SEED_FREQUENCIES[words], None, None)
    if match := re.fullmatch(r"up to (\d+)x per year", words):
        return ("frequency", "up_to_n_per_year", int(match[1]), None)
    if match := re.fullmatch(r"(?:up to )?(\d+) hours\*?", words):
        return ("hour_allowance", "", None, Decimal(match[1]))
    raise AssertionError(f"The test does not know the seed's wording {cell!r}")


def loaded_terms(entitlement: Entitlement) -> tuple:
    return (
        entitlement.kind,
        entitlement.frequency,
        entitlement.max_per_year,
        entitlement.hours,
    )


def test_the_catalog_version_names_its_source(catalog):
    version = CatalogVersion.objects.get()

    assert version.version == "2026.1"
    assert str(version.effective_from) == "2026-01-01"
    assert "Section 1" in version.source
    assert len(version.checksum) == 64


def test_packages_have_the_hours_of_section_1(catalog):
    loaded = {
        package.code: (
            package.name,
            package.rank,
            package.quarterly_hours,
            package.annual_hours,
        )
        for package in Package.objects.all()
    }

    assert loaded == {
        code: (name, rank, Decimal(quarterly), Decimal(annual))
        for code, (name, rank, quarterly, annual) in SECTION_1.items()
    }


def test_programs_are_the_key_elements_of_table_1_and_expansion(catalog):
    codes = list(Program.objects.values_list("code", flat=True))

    assert codes == [
        "performance_management",
        "onboarding_deployment",
        "solutions_engineering",
        "operational_consulting",
        "premium_technical_support",
        "expansion",
    ]
    assert Program.objects.get(code="premium_technical_support").description == (
        "Enhanced technical support programs built around your mission critical needs."
    )


@pytest.mark.parametrize("table", TABLES)
def test_each_table_lists_its_rows_in_order(catalog, table):
    rows, category, program = TABLES[table]

    deliverables = Deliverable.objects.filter(source_table=table).select_related("program")

    assert [(d.code, d.name) for d in deliverables] == [(code, name) for code, name, _ in rows]
    assert {d.category for d in deliverables} == {category}
    assert {d.program.code if d.program else None for d in deliverables} == {program}
    assert [d.rank for d in deliverables] == list(range(1, len(rows) + 1))


@pytest.mark.parametrize("table", TABLES)
def test_every_cell_of_the_table_is_loaded(catalog, table):
    rows, _, _ = TABLES[table]

    for code, _, cells in rows:
        entitlements = Entitlement.objects.filter(deliverable__code=code).select_related("package")
        loaded = {e.package.code: loaded_terms(e) for e in entitlements}
        expected = dict(zip(PACKAGES, map(seed_cell, cells), strict=True))
        assert loaded == expected, code


def test_no_deliverable_outside_the_tables(catalog):
    transcribed = {code for rows, _, _ in TABLES.values() for code, _, _ in rows}

    assert set(Deliverable.objects.values_list("code", flat=True)) == transcribed
    assert Entitlement.objects.count() == len(transcribed) * len(PACKAGES)


def test_hour_allowances_count_inside_the_section_1_hours(catalog):
    allowances = Entitlement.objects.filter(kind="hour_allowance")

    assert allowances.count() == 7  # Table 3: three packages; Table 4: four.
    assert all(allowance.within_package_hours for allowance in allowances)


def test_table_4_check_marks_are_included_with_a_note(catalog):
    marked = Entitlement.objects.filter(
        deliverable__source_table=4, kind="included"
    ).select_related("package", "deliverable")

    assert sorted((e.deliverable.code, e.package.code) for e in marked) == sorted(
        (code, package)
        for code, _, cells in TABLE_4
        for package, cell in zip(PACKAGES, cells, strict=True)
        if cell == CHECK
    )
    assert all("Blank in the text of Table 4" in entitlement.note for entitlement in marked)


def test_reviews_are_the_seven_scheduled_reviews(catalog):
    reviews = set(Deliverable.objects.filter(is_review=True).values_list("code", flat=True))

    assert reviews == REVIEWS


def test_expansion_packs_of_table_9(catalog):
    packs = {
        pack.package.code: (pack.level, pack.deployments, pack.hours)
        for pack in ExpansionPack.objects.select_related("package")
    }

    assert packs == {code: pack for code, pack in TABLE_9.items() if pack is not None}
    assert all(pack.within_package_hours for pack in ExpansionPack.objects.all())


def test_expansion_uses_of_section_9_verbatim(catalog):
    allowed = list(ExpansionUse.objects.filter(allowed=True).values_list("description", flat=True))
    not_allowed = list(
        ExpansionUse.objects.filter(allowed=False).values_list("description", flat=True)
    )

    assert allowed == SECTION_9_ALLOWED
    assert not_allowed == SECTION_9_NOT_ALLOWED


def test_severities_of_table_7_verbatim(catalog):
    severities = {severity.code: severity.definition for severity in Severity.objects.all()}

    assert severities == TABLE_7
    assert list(Severity.objects.values_list("code", flat=True)) == ["P1", "P2", "P3"]
