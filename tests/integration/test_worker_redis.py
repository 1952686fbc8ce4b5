"""A task travels through a real Redis broker to a real Celery worker process."""

import os
import subprocess
import sys
import time
import uuid
from datetime import date, timedelta

import pytest
from celery import Celery
from django.conf import settings
from django.db import connection
from django.utils import timezone

from cso.models import Contract
from tests.factories import ContractFactory, CsmFactory, OrganizationFactory

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def _database_url() -> str:
    db = connection.settings_dict
    host, port = db.get("HOST") or "127.0.0.1", db.get("PORT") or 5432
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{host}:{port}/{db['NAME']}"


@pytest.fixture
def worker_queue(tmp_path):
    """Start `celery worker` on a queue of its own, on Redis and the test database."""
    queue = f"test-{uuid.uuid4().hex}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "DATABASE_URL": _database_url(),
        "REDIS_URL": settings.TEST_REDIS_URL,
        "PORTAL_VAR_DIR": str(tmp_path),
        "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
    }
    log = (tmp_path / "worker.log").open("w")
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "portal",
            "worker",
            "--pool=solo",
            "--loglevel=INFO",
            "-Q",
            queue,
            "--without-gossip",
            "--without-mingle",
        ],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        yield queue
    finally:
        worker.terminate()
        worker.wait(timeout=30)
        log.close()
        print((tmp_path / "worker.log").read_text())


def test_renewal_sweep_runs_on_a_real_worker_through_redis(worker_queue):
    csm = CsmFactory()
    organization = OrganizationFactory()
    organization.csms.add(csm)
    today = timezone.localdate()
    contract = ContractFactory(
        organization=organization,
        term_start=today - timedelta(days=300),
        term_end=today + timedelta(days=30),
    )
    producer = Celery("probe", broker=settings.TEST_REDIS_URL)

    producer.send_task("cso.tasks.send_renewal_reminders", queue=worker_queue)

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        contract.refresh_from_db()
        if contract.renewal_reminder_sent_at is not None:
            break
        time.sleep(0.25)
    assert contract.renewal_reminder_sent_at is not None, "the worker did not run the sweep"
    assert contract.renewal_reminder_sent_at.date() >= date(2026, 1, 1)
    assert Contract.objects.filter(renewal_reminder_sent_at__isnull=True).count() == 0
