from django.template import Context, Template


def render(source: str, **context: object) -> str:
    return Template("{% load numbers %}" + source).render(Context(context))


def test_the_filters_write_numbers_by_the_one_rule():
    assert render("{{ n|count }}", n=2340) == "2,340"
    assert render("{{ n|number:1 }}", n=1234.56) == "1,234.6"
    assert render("{{ r|percent }}", r=0.625) == "62.5%"
    assert render("{{ r|percent:0 }}", r=0.625) == "63%"
    assert render("{{ v|percentage }}", v=50) == "50.0%"
    assert render("{{ p|p_value }}", p=8.8e-07) == "p &lt; 0.001"
    assert render("{{ p|significance }}", p=8.8e-07) == "significant (p &lt; 0.001)"
    assert render("{{ missing|percent }}") == "—"


def test_ago_says_just_now_within_the_minute_and_how_long_after():
    from datetime import timedelta

    from django.utils import timezone

    from rollout.templatetags.times import ago

    now = timezone.now()
    assert ago(None) == ""
    assert ago(now - timedelta(seconds=5)) == "just now"
    assert ago(now - timedelta(minutes=3, seconds=10)) == "3\xa0minutes ago"
    assert ago(now - timedelta(hours=5, minutes=1, seconds=5)) == "5\xa0hours, 1\xa0minute ago"
