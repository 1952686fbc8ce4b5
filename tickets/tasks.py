"""Celery adapters for the support desk: call a service with the clock, retry on database
hiccups."""

from dataclasses import asdict

from celery import shared_task
from django.db import OperationalError
from django.utils import timezone

from .services.sla_alerts import sla_alerts_sweep


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5, acks_late=True)
def sla_alerts_sweep_task() -> dict[str, int]:
    """Every minute (beat "sla-alerts"): the shortest targets run in minutes."""
    return asdict(sla_alerts_sweep(now=timezone.now()))
