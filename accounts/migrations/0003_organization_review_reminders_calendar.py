import secrets

from django.db import migrations, models

import accounts.models


def give_each_customer_a_token(apps, schema_editor):
    Organization = apps.get_model("accounts", "Organization")
    for organization in Organization.objects.filter(calendar_token=""):
        organization.calendar_token = secrets.token_urlsafe(32)
        organization.save(update_fields=["calendar_token"])


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_organization_time_zone_validated"),
    ]

    operations = [
        migrations.AddField(
            model_name="organization",
            name="review_reminder_days",
            field=models.PositiveSmallIntegerField(
                default=7,
                help_text="Days before a review is due that the first reminder goes out.",
            ),
        ),
        migrations.AddField(
            model_name="organization",
            name="review_reminder_last_days",
            field=models.PositiveSmallIntegerField(
                default=1,
                help_text="Days before a review is due that the last reminder goes out.",
            ),
        ),
        # Each existing customer gets its own secret, then the column becomes unique.
        migrations.AddField(
            model_name="organization",
            name="calendar_token",
            field=models.CharField(default="", max_length=64),
            preserve_default=False,
        ),
        migrations.RunPython(give_each_customer_a_token, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="organization",
            name="calendar_token",
            field=models.CharField(
                default=accounts.models.new_calendar_token,
                help_text="Secret in the address of the customer's review calendar feed.",
                max_length=64,
                unique=True,
            ),
        ),
        migrations.AddConstraint(
            model_name="organization",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("review_reminder_last_days__lte", models.F("review_reminder_days"))
                ),
                name="organization_reminder_days_in_order",
                violation_error_message=(
                    "The last reminder comes after the first: give it fewer days before the "
                    "due date."
                ),
            ),
        ),
    ]
