"""Celery adapters for the CSO domain: load ids, call a service, retry on database hiccups."""

from celery import shared_task
from django.db import OperationalError
from django.utils import timezone

from .services.consumption_alerts import consumption_alerts_send, consumption_alerts_sweep
from .services.renewals import renewal_reminders_send
from .services.review_reminders import review_reminders_send


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5, acks_late=True)
def send_renewal_reminders() -> int:
    return renewal_reminders_send(now=timezone.now())


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5, acks_late=True)
def check_consumption_alerts(subscription_id: int) -> int:
    """Queued after every change to a subscription's entries."""
    return consumption_alerts_send(subscription_id=subscription_id, now=timezone.now())


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5, acks_late=True)
def sweep_consumption_alerts() -> int:
    return consumption_alerts_sweep(now=timezone.now())


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5, acks_late=True)
def send_review_reminders() -> int:
    return review_reminders_send(now=timezone.now())
