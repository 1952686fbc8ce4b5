"""Subscriptions signed before schedules existed get theirs, as signing now writes them."""

from datetime import timedelta

from django.db import migrations
from django.utils import timezone

from cso.reminders import reminder_next, reminder_plan
from cso.schedules import schedule_slots


def write_schedules(apps, schema_editor):
    PackageSubscription = apps.get_model("cso", "PackageSubscription")
    Occurrence = apps.get_model("cso", "Occurrence")
    today = timezone.now().date()
    subscriptions = PackageSubscription.objects.filter(occurrences__isnull=True).select_related(
        "contract__organization"
    )
    for subscription in subscriptions:
        contract = subscription.contract
        organization = contract.organization
        rows = []
        for entitlement in subscription.entitlements.filter(kind="frequency").select_related(
            "deliverable"
        ):
            for slot in schedule_slots(
                frequency=entitlement.frequency,
                term_start=contract.term_start,
                term_end=contract.term_end,
                max_per_year=entitlement.max_per_year,
            ):
                kind, day = (None, None)
                if entitlement.deliverable.is_review:
                    plan = reminder_plan(
                        slot.due_on,
                        organization.review_reminder_days,
                        organization.review_reminder_last_days,
                    )
                    kind, day = reminder_next(plan, today - timedelta(days=1))
                rows.append(
                    Occurrence(
                        subscription=subscription,
                        entitlement=entitlement,
                        year_index=slot.year,
                        period_start=slot.start,
                        period_end=slot.end,
                        due_on=slot.due_on,
                        optional=slot.optional,
                        is_review=entitlement.deliverable.is_review,
                        next_reminder_on=day,
                        next_reminder_kind=kind or "",
                    )
                )
        Occurrence.objects.bulk_create(rows, batch_size=1000)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_organization_review_reminders_calendar"),
        ("cso", "0004_deliverable_schedules"),
    ]

    operations = [migrations.RunPython(write_schedules, migrations.RunPython.noop)]
