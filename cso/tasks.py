"""Celery adapters for the CSO domain: load ids, call a service, retry on database hiccups."""

from celery import shared_task
from django.db import OperationalError
from django.utils import timezone

from .services.renewals import renewal_reminders_send


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5, acks_late=True)
def send_renewal_reminders() -> int:
    return renewal_reminders_send(now=timezone.now())
