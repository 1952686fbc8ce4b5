"""`manage.py run_portal` on the embedded default: SQLite, filesystem broker, no servers.

Starts the whole portal as a newcomer would, signs in as the demo customer admin, has the
embedded worker run a task, then stops it with Ctrl-C.
"""

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path

import pytest
from django.conf import settings

pytestmark = pytest.mark.services


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_for(url: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except OSError:
            time.sleep(0.3)
    raise AssertionError(f"{url} did not answer within {seconds} s")


def _sqlite_value(path: Path, sql: str):
    with sqlite3.connect(path) as db:
        return db.execute(sql).fetchone()[0]


def test_run_portal_serves_runs_jobs_and_stops_cleanly(tmp_path):
    port = _free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE"}
    }
    env.update(PORTAL_VAR_DIR=str(tmp_path), PORT=str(port), PYTHONUNBUFFERED="1")
    log_path = tmp_path / "portal.log"
    with log_path.open("w") as log:
        portal = subprocess.Popen(
            [sys.executable, "manage.py", "run_portal"],
            cwd=settings.BASE_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            _wait_for(f"http://127.0.0.1:{port}/accounts/login/", 120)
            banner = log_path.read_text()
            assert f"Customer Success Portal: http://127.0.0.1:{port}/" in banner
            for login in (
                "csm@demo.example",
                "admin@northwind.example",
                "member@northwind.example",
                "finance@demo.example",
            ):
                assert login in banner

            # A signed-in customer admin sees the package dashboard.
            opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
            page = opener.open(f"http://127.0.0.1:{port}/accounts/login/").read().decode()
            token = page.split('name="csrfmiddlewaretoken" value="')[1].split('"')[0]
            form = (
                f"csrfmiddlewaretoken={token}&login=admin%40northwind.example"
                "&password=portal-demo-2026"
            ).encode()
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}/accounts/login/",
                data=form,
                headers={"Referer": f"http://127.0.0.1:{port}/accounts/login/"},
            )
            dashboard = opener.open(request).read().decode()
            assert "Northwind Traders" in dashboard and "Expert package" in dashboard
            assert "Contoso Bank" not in dashboard

            # The embedded worker takes a task from the filesystem broker.
            subprocess.run(
                [
                    sys.executable,
                    "manage.py",
                    "shell",
                    "-c",
                    "from cso.tasks import send_renewal_reminders; send_renewal_reminders.delay()",
                ],
                cwd=settings.BASE_DIR,
                env=env,
                check=True,
                timeout=60,
            )
            database = tmp_path / "portal.sqlite3"
            sql = "select count(*) from cso_contract where renewal_reminder_sent_at is not null"
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and not _sqlite_value(database, sql):
                time.sleep(0.5)
            assert _sqlite_value(database, sql) == 1, log_path.read_text()
        finally:
            portal.send_signal(signal.SIGINT)
            try:
                portal.wait(timeout=40)
            except subprocess.TimeoutExpired:
                portal.kill()
                raise
    output = log_path.read_text()
    assert portal.returncode == 0, output
    assert "Portal stopped." in output
