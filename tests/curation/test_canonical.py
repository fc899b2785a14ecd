"""Canonical JSON: the fast writer is byte-identical to the rfc8785 reference; parsing is bounded."""

from __future__ import annotations

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from curation.canonical import MAX_SAFE_INT, canonical_bytes, parse_canonical
from curation.consent import format_consent
from curation.errors import InvalidInput
from curation.events import ChainText
from curation.safejson import JsonRejected

_text = st.text(st.characters(exclude_categories=["Cs"]), max_size=12)
_scalars = st.none() | st.booleans() | st.integers(-MAX_SAFE_INT, MAX_SAFE_INT) | _text
_docs = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_text, inner, max_size=4),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(_docs)
def test_fast_canonical_writer_equals_the_rfc8785_reference(doc: object) -> None:
    assert canonical_bytes(doc) == bytes(rfc8785.dumps(doc))


def test_keys_outside_the_bmp_sort_by_utf16_like_rfc8785() -> None:
    doc = {"\U0001f600": 1, "\ufb33": 2, "a": 3}
    assert canonical_bytes(doc) == bytes(rfc8785.dumps(doc))
    assert canonical_bytes(doc).index("\U0001f600".encode()) < canonical_bytes(doc).index("\ufb33".encode())


def test_control_characters_are_escaped_in_lowercase_hex() -> None:
    assert canonical_bytes({"k": "\x01\n\x1f\u2028"}) == '{"k":"\\u0001\\n\\u001f\u2028"}'.encode()


def test_format_consent_is_stable_under_its_cache() -> None:
    assert format_consent(3) == "train,commercial"
    assert format_consent(3) == "train,commercial"
    assert format_consent(0) == "none"


@settings(max_examples=200, deadline=None)
@given(_docs)
def test_parse_canonical_reads_back_every_canonical_document(doc: object) -> None:
    data = canonical_bytes(doc)
    assert parse_canonical(data, max_bytes=len(data)) == doc


def test_parse_canonical_refuses_untrusted_bytes_with_a_typed_error_before_parsing() -> None:
    doc = canonical_bytes({"a": [[1]], "t": "\u00e9 ChainText"})
    with pytest.raises(
        JsonRejected, match=f"part is {len(doc)} bytes, over the limit of {len(doc) - 1} bytes"
    ):
        parse_canonical(doc, "part", max_bytes=len(doc) - 1)
    with pytest.raises(JsonRejected, match="deeper than 2 levels"):
        parse_canonical(doc, "part", max_depth=2)
    assert parse_canonical(doc, "part", max_depth=3) == {"a": [[1]], "t": "\u00e9 ChainText"}
    with pytest.raises(JsonRejected, match="doc is not UTF-8"):
        parse_canonical(b'"\xff"', "doc")
    with pytest.raises(JsonRejected, match="doc is refused: its brackets do not balance"):
        parse_canonical(b"[" * 65_536, "doc")
    with pytest.raises(JsonRejected, match="doc is refused: it nests arrays/objects deeper than 64 levels"):
        parse_canonical(b"[" * 65_536 + b"]" * 65_536, "doc")
    with pytest.raises(InvalidInput, match="not in canonical form"):
        parse_canonical(b'{"b":1, "a":2}')


def test_chain_text_canonicalises_as_its_display_text() -> None:
    bad, good = ChainText(b"x\xff"), ChainText("\u00e9".encode())
    assert canonical_bytes({"p": bad, "q": good}) == canonical_bytes({"p": "x\ufffd", "q": "\u00e9"})
    assert canonical_bytes([bad]) == bytes(rfc8785.dumps([bad]))
