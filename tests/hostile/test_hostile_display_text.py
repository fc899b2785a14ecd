"""Attack: text from the chain rewrites what a reader of the dataset card or the report sees.

A dataset name or a contributor's profile URI may hold any characters. A newline or `|` broke the card's
tables, `<script>` reached renderers, a bidi override (U+202E) reversed what followed, and a quote with a
newline ended the card's YAML `pretty_name`. Promised: rendered documents show such text literally on one
line (hidden characters as U+FFFD in Markdown, escaped in YAML); the manifest keeps the exact text.
"""

from __future__ import annotations

from curation.display import markdown_text, yaml_string

HOSTILE = 'Essays | <script>alert(1)</script>\n# Fake heading\u202egnp.exe\x00"\\'


def test_markdown_text_is_one_literal_line() -> None:
    shown = markdown_text(HOSTILE)
    assert "\n" not in shown
    assert "\u202e" not in shown
    assert "\x00" not in shown
    assert "<script>" not in shown
    assert "&lt;script&gt;" in shown
    assert "\\|" in shown
    assert shown.count("\ufffd") == 2


def test_yaml_string_round_trips_through_a_yaml_parser() -> None:
    import json

    quoted = yaml_string(HOSTILE)
    assert "\n" not in quoted
    assert "\u202e" not in quoted
    # A YAML double-quoted scalar with these escapes is also a JSON string literal: parse it back.
    assert json.loads(quoted) == HOSTILE
