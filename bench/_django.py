"""Django for the benchmark scripts: production-like settings on the PostgreSQL bench database.

Import this module before anything from the portal: it fills in the environment (a scratch
database, `DJANGO_DEBUG=false` so no query is kept in memory, Redis as Celery's broker as in
production) and calls `django.setup()`.
"""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/portal_bench")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/13")
os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "testserver")
os.environ.setdefault("DJANGO_DEBUG", "false")
os.environ.setdefault("DJANGO_SECURE_SSL_REDIRECT", "false")
os.environ.setdefault("LOG_LEVEL", "WARNING")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402

ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def database_name() -> str:
    return settings.DATABASES["default"]["NAME"]


def database_exists() -> bool:
    from psycopg import connect

    with connect(ADMIN_URL, autocommit=True) as admin:
        found = admin.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [database_name()]
        ).fetchone()
    return found is not None


def database_create(drop: bool) -> None:
    """Create the bench database (dropping it first when asked); the caller migrates."""
    from django.db import connection
    from psycopg import connect

    connection.close()
    name = database_name()
    with connect(ADMIN_URL, autocommit=True) as admin:
        if drop:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')


def server_description() -> str:
    """'PostgreSQL 15.20, 2 cores': where the figures were measured."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        version = cursor.fetchone()[0].split()[0]
    return f"PostgreSQL {version}, {os.cpu_count()} cores"
