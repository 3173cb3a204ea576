"""A notice's email tells each recipient its times in their own zone: rendered once per zone."""

from datetime import UTC, datetime

import pytest
from django.core import mail
from django.utils import timezone

from accounts.models import Organisation
from rollout.models import NoticeDelivery
from rollout.services import notice_delivery as delivery_service
from rollout.services.cohorts import cohort_members_add
from rollout.services.notice_delivery import notice_deliveries_send, notices_publish_due
from tests.factories import UserFactory
from tests.rollout.notice_fixtures import make_notice, make_scene

pytestmark = pytest.mark.django_db

EFFECTIVE = datetime(2027, 1, 11, 8, 30, tzinfo=UTC)


def _effective_line(address: str) -> tuple[str, str]:
    message = next(m for m in mail.outbox if m.to == [address])
    text = next(line for line in message.body.splitlines() if line.startswith("Takes effect"))
    html, _ = message.alternatives[0]
    return text, html


def test_two_recipients_in_different_zones_get_their_own_local_times():
    scene = make_scene()
    Organisation.objects.create(pk=1, default_time_zone="America/New_York")
    scene.amy.time_zone = "Europe/Paris"
    scene.amy.save(update_fields=["time_zone"])
    # Cat chose no zone: she reads in the organisation's default.
    notice = make_notice(scene, effective_at=EFFECTIVE)
    notices_publish_due()

    notice_deliveries_send()

    amy_text, amy_html = _effective_line("amy@example.com")
    cat_text, cat_html = _effective_line("cat@example.com")
    assert amy_text == "Takes effect: 11 Jan 2027, 09:30 CET"
    assert "11 Jan 2027, 09:30 CET" in amy_html
    assert cat_text == "Takes effect: 11 Jan 2027, 03:30 EST"
    assert "11 Jan 2027, 03:30 EST" in cat_html
    assert NoticeDelivery.objects.filter(notice=notice, channel="email", status="sent").count() == 2


def test_the_email_is_rendered_once_per_zone_not_per_recipient(monkeypatch):
    scene = make_scene()
    paris = [UserFactory(time_zone="Europe/Paris") for _ in range(3)]
    tokyo = [UserFactory(time_zone="Asia/Tokyo") for _ in range(2)]
    cohort_members_add(cohort=scene.uk, users=[*paris, *tokyo], actor=scene.owner)
    make_notice(scene, effective_at=EFFECTIVE)
    notices_publish_due()
    renders = []
    render = delivery_service._notice_email

    def counting_render(notice, **kwargs):
        renders.append(timezone.get_current_timezone_name())
        return render(notice, **kwargs)

    monkeypatch.setattr(delivery_service, "_notice_email", counting_render)

    notice_deliveries_send()

    assert len(mail.outbox) == 7  # Amy, Cat and the five above (Ben: no email)
    # Amy and Cat read in the organisation's default: the deployment's UTC here.
    assert sorted(renders) == ["Asia/Tokyo", "Europe/Paris", "UTC"]
    for person in tokyo:
        text, _ = _effective_line(person.email)
        assert text == "Takes effect: 11 Jan 2027, 17:30 JST"
