import pytest

from rollout.lib.markdown import render_markdown


def test_markdown_is_rendered():
    html = render_markdown("## What changes\n\n- **Replies** are *drafted*\n- `code`\n\n> quoted")
    assert html == (
        "<h2>What changes</h2>\n<ul>\n<li><strong>Replies</strong> are <em>drafted</em></li>\n"
        "<li><code>code</code></li>\n</ul>\n<blockquote>\n<p>quoted</p>\n</blockquote>"
    )


def test_tables_and_rules_survive():
    html = render_markdown("| a | b |\n|---|---|\n| 1 | 2 |\n\n---")
    assert "<table>" in html and "<td>1</td>" in html and "<hr>" in html


def test_top_level_heading_becomes_a_section_heading():
    assert render_markdown("# Title\n\n###### Small") == "<h2>Title</h2>\n<h4>Small</h4>"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hi <script>alert(1)</script>", "<p>Hi </p>"),
        ("<script>alert(1)</script>", ""),
        ('<iframe src="https://evil.example">x</iframe>', ""),
        ('<img src="x" onerror="alert(1)">', "<p></p>"),
        ('<a href="https://ok.example" onclick="alert(1)">ok</a>', None),
        ('<p style="color:red">styled</p>', "<p>styled</p>"),
        ("[x](javascript:alert(1))", '<p><a rel="noopener noreferrer">x</a></p>'),
        ('<a href="JaVaScRiPt:alert(1)">x</a>', '<p><a rel="noopener noreferrer">x</a></p>'),
        ("[x](data:text/html;base64,PHNjcmlwdD4=)", '<p><a rel="noopener noreferrer">x</a></p>'),
        ("<object data='x.swf'></object><embed src='x'>", "<p></p>"),
    ],
)
def test_nothing_dangerous_gets_through(text, expected):
    html = render_markdown(text)
    for bad in (
        "<script",
        "<iframe",
        "onerror",
        "onclick",
        "javascript:",
        "data:",
        "style=",
        "<img",
    ):
        assert bad not in html.lower(), html
    if expected is not None:
        assert html == expected


def test_safe_links_keep_their_href_and_get_rel():
    html = render_markdown("[docs](https://example.com/a?b=1) and [mail](mailto:ops@example.com)")
    assert html == (
        '<p><a href="https://example.com/a?b=1" rel="noopener noreferrer">docs</a> and '
        '<a href="mailto:ops@example.com" rel="noopener noreferrer">mail</a></p>'
    )


def test_code_blocks_are_escaped_not_run():
    assert render_markdown("```\n<script>x</script>\n```") == (
        "<pre><code>&lt;script&gt;x&lt;/script&gt;\n</code></pre>"
    )


def test_empty_text():
    assert render_markdown("") == ""
