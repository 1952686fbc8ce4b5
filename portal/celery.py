"""The Celery app and its beat schedule.

Periodic jobs are idempotent sweeps over database state, so the schedule only says how often each
sweep looks; what is due is decided by the rows themselves.
"""

import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

app = Celery("portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

app.conf.beat_schedule = {
    "renewal-reminders": {
        "task": "cso.tasks.send_renewal_reminders",
        "schedule": crontab(minute=15),
    },
}
