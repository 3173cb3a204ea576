from django.db import migrations, models


def keep_pending_emails(apps, schema_editor):
    """A notification whose email was still to go out (its recipient had email on) keeps going
    out, as a workflow update: the sweep now sends only notifications that name their email."""
    Notification = apps.get_model("rollout", "Notification")
    Notification.objects.filter(
        emailed_at__isnull=True, email_error="", recipient__email_updates=True
    ).update(email_category="updates")


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0006_email_preferences"),
        ("rollout", "0013_delivery_queued"),
    ]

    operations = [
        migrations.AddField(
            model_name="notification",
            name="email_category",
            field=models.CharField(
                blank=True,
                choices=[
                    ("notices", "Change notices"),
                    ("reminders", "Reminders to acknowledge a notice"),
                    ("feedback", "Feedback updates"),
                    ("updates", "Workflow alerts and updates"),
                    ("escalations", "Escalation pages"),
                    ("approvals", "Approval requests"),
                ],
                default="",
                max_length=20,
            ),
        ),
        migrations.RunPython(keep_pending_emails, migrations.RunPython.noop),
    ]
