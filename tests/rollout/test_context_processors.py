from django.template import engines
from django.test import RequestFactory

from rollout.models import PhaseStatus

COMPARE = "{% if status == PhaseStatus.PAUSED %}paused{% else %}not paused{% endif %}"


def test_a_template_compares_with_the_enum_member():
    template = engines["django"].from_string(COMPARE)
    request = RequestFactory().get("/")

    assert template.render({"status": "paused"}, request) == "paused"
    assert template.render({"status": PhaseStatus.ACTIVE}, request) == "not paused"
