"""`check --deploy` with production settings passes, apart from what the README explains."""

import os
import subprocess
import sys

from django.conf import settings

PRODUCTION = {
    "DJANGO_DEBUG": "false",
    "DJANGO_SECRET_KEY": "k9#Qz7!vR2@xL5$wT8^bN3&mJ6*pY1(dF4)gH0_sA-eC+uI=oK~jZ",
    "DJANGO_ALLOWED_HOSTS": "portal.example.com",
    "DATABASE_URL": "sqlite:////tmp/deploy-check.sqlite3",
}


def deploy_check(**extra: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env.update(PRODUCTION, **extra)
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_only_the_hsts_choices_left_to_the_operator_are_reported():
    result = deploy_check()

    reported = sorted(
        line.split(")")[0].split("(")[1]
        for line in result.stderr.splitlines()
        if "(security." in line
    )
    assert reported == ["security.W005", "security.W021"], result.stderr


def test_with_hsts_for_subdomains_and_preload_the_check_is_clean():
    result = deploy_check(
        DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS="true", DJANGO_SECURE_HSTS_PRELOAD="true"
    )

    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_a_warning_share_outside_zero_to_one_stops_the_portal_with_the_reason():
    result = deploy_check(SLA_WARNING_SHARE="1.5")

    assert result.returncode != 0
    assert "SLA_WARNING_SHARE is '1.5': give a share above 0 and at most 1" in result.stderr
