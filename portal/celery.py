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


@app.on_after_configure.connect
def _make_broker_folders(sender, **kwargs) -> None:
    """The filesystem broker (the no-server default) needs its folders to exist."""
    options = sender.conf.broker_transport_options or {}
    for key in ("data_folder_in", "data_folder_out", "processed_folder", "control_folder"):
        if options.get(key):
            os.makedirs(options[key], exist_ok=True)


app.conf.beat_schedule = {
    "renewal-reminders": {
        "task": "cso.tasks.send_renewal_reminders",
        "schedule": crontab(minute=15),
    },
    "consumption-alerts": {
        "task": "cso.tasks.sweep_consumption_alerts",
        "schedule": crontab(minute="*/30"),
    },
    # Every 15 minutes: a customer's day starts on the quarter hour in some time zones.
    "review-reminders": {
        "task": "cso.tasks.send_review_reminders",
        "schedule": crontab(minute="*/15"),
    },
    # Every minute: some SLA targets run in minutes (a critical acknowledgement in 15).
    "sla-alerts": {
        "task": "tickets.tasks.sla_alerts_sweep_task",
        "schedule": crontab(),
    },
}
