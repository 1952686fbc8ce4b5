"""Run the whole portal locally: web app, Celery worker and beat, with demo data.

One process tree that Ctrl-C stops cleanly. On the embedded default it needs no server at all
(SQLite and Kombu's filesystem broker); with DATABASE_URL and REDIS_URL it uses PostgreSQL and
Redis instead.
"""

import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management import BaseCommand, call_command

from portal.demo import DEMO_LOGINS


class Command(BaseCommand):
    help = (
        "Migrate, load the catalog, SLA policies and demo data, then run the web app, a worker "
        "and beat."
    )

    def add_arguments(self, parser):
        parser.add_argument("--host", default=os.environ.get("PORTAL_HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument(
            "--no-demo", action="store_true", help="Do not create demo customers and logins."
        )

    def handle(self, *args, host: str, port: int, no_demo: bool, **options):
        settings.VAR_DIR.mkdir(parents=True, exist_ok=True)
        call_command("migrate", interactive=False, verbosity=0)
        call_command("load_catalog", if_changed=True, verbosity=1)
        call_command("load_sla_policies", verbosity=1)
        if not no_demo:
            call_command("load_demo", verbosity=0)

        python = sys.executable
        children = [
            subprocess.Popen(
                [python, "manage.py", "runserver", "--noreload", f"{host}:{port}"],
                cwd=settings.BASE_DIR,
            ),
            subprocess.Popen(
                [
                    python,
                    "-m",
                    "celery",
                    "-A",
                    "portal",
                    "worker",
                    "--beat",
                    "--pool=solo",
                    "--loglevel=INFO",
                ],
                cwd=settings.BASE_DIR,
            ),
        ]
        self._print_banner(host, port, no_demo)
        stopping = False

        def stop(signum, frame):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        try:
            while not stopping and all(child.poll() is None for child in children):
                time.sleep(0.5)
        finally:
            self._stop(children)
        failed = [child for child in children if child.returncode not in (0, -2, -15, None)]
        if not stopping and failed:
            raise SystemExit("A portal process stopped unexpectedly; see the log above.")
        self.stdout.write("Portal stopped.")

    def _print_banner(self, host: str, port: int, no_demo: bool) -> None:
        database = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
        broker = "Redis" if settings.REDIS_URL else "filesystem broker (no server)"
        lines = [
            "",
            f"Customer Success Portal: http://{host}:{port}/",
            f"  admin (CSMs, finance): http://{host}:{port}/admin/",
            f"  API docs:              http://{host}:{port}/api/docs/",
            f"  database: {database}; background jobs: Celery worker + beat on {broker}",
        ]
        if not no_demo:
            lines.append("  demo logins:")
            lines += [f"    {x.role:<16} {x.email:<28} {x.password}" for x in DEMO_LOGINS]
        lines += ["Press Ctrl-C to stop.", ""]
        self.stdout.write("\n".join(lines))

    @staticmethod
    def _stop(children: list[subprocess.Popen]) -> None:
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 15
        for child in children:
            try:
                child.wait(timeout=max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
