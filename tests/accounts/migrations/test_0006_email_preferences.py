"""Migration 0006 replaces the one email switch by one per category: off stays off for every
category, on stays on for every one."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from accounts.models import User

BEFORE = [("accounts", "0005_time_zones_and_organisation")]
AFTER = [("accounts", "0006_email_preferences")]
CATEGORIES = ("email_notices", "email_reminders", "email_feedback", "email_updates")


@pytest.mark.django_db(transaction=True)
def test_off_stays_off_for_every_category_and_on_stays_on():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps.get_model("accounts", "User")
    old.objects.create(email="quiet@example.com", display_name="Quiet", notify_by_email=False)
    old.objects.create(email="loud@example.com", display_name="Loud", notify_by_email=True)

    executor = MigrationExecutor(connection)
    executor.migrate(AFTER)
    try:
        quiet = User.objects.values(*CATEGORIES).get(email="quiet@example.com")
        loud = User.objects.values(*CATEGORIES).get(email="loud@example.com")
        assert quiet == dict.fromkeys(CATEGORIES, False)
        assert loud == dict.fromkeys(CATEGORIES, True)
    finally:  # the next tests want the latest schema
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
