"""Markdown to HTML that is safe to show to anyone: change-notice bodies (rollout.services.notices).

Markdown passes raw HTML through, so the rendered HTML is sanitised with nh3 against a small
allow-list. Anything not on it is dropped: <script>, <iframe>, event-handler attributes (onerror=),
style attributes, and links other than http, https and mailto (no javascript: or data:).
"""

import re

import markdown as md
import nh3

ALLOWED_TAGS = frozenset(
    {
        "p", "br", "strong", "em", "ul", "ol", "li", "a", "code", "pre", "blockquote",
        "h2", "h3", "h4", "hr", "table", "thead", "tbody", "tr", "th", "td",
    }
)  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href"}}
URL_SCHEMES = frozenset({"http", "https", "mailto"})
# Their content goes too, not only the tags: a script's source must never appear as text.
DROP_WITH_CONTENT = frozenset({"script", "style", "iframe", "object", "noscript"})
EXTENSIONS = ["tables", "fenced_code", "sane_lists"]
# The notice's title is the page's heading: a "# Heading" in the body becomes a level-2 heading,
# and levels 5 and 6 become 4, so headings survive the allow-list instead of turning into text.
_HEADING = re.compile(r"<(/?)h([1-6])\b")
_HEADING_LEVEL = {"1": "2", "5": "4", "6": "4"}


def render_markdown(text: str) -> str:
    """The Markdown `text` as sanitised HTML (links get rel="noopener noreferrer")."""
    html = md.markdown(text or "", extensions=EXTENSIONS, output_format="html")
    html = _HEADING.sub(lambda m: f"<{m[1]}h{_HEADING_LEVEL.get(m[2], m[2])}", html)
    return nh3.clean(
        html,
        tags=set(ALLOWED_TAGS),
        clean_content_tags=set(DROP_WITH_CONTENT),
        attributes={tag: set(attrs) for tag, attrs in ALLOWED_ATTRIBUTES.items()},
        url_schemes=set(URL_SCHEMES),
        link_rel="noopener noreferrer",
        strip_comments=True,
    ).strip()
