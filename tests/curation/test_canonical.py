"""Canonical JSON: the fast writer is byte-identical to the rfc8785 reference on any document."""

from __future__ import annotations

import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from curation.canonical import MAX_SAFE_INT, canonical_bytes
from curation.cid import CID, cid_v1_raw
from curation.consent import format_consent
from curation.manifest import _cid_text

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


@given(st.binary(min_size=32, max_size=32), st.sampled_from([0x55, 0x70]))
def test_fast_cid_text_equals_the_general_formatter(digest: bytes, codec: int) -> None:
    raw = bytes([1, codec, 0x12, 0x20]) + digest
    assert _cid_text(raw) == str(CID.parse(raw))


def test_cid_text_keeps_v0_and_unknown_bytes_readable() -> None:
    v1 = cid_v1_raw(b"\x00" * 32)
    v0 = bytes([0x12, 0x20]) + b"\x00" * 32
    assert _cid_text(v1.to_bytes()) == str(v1)
    assert _cid_text(v0).startswith("Qm")
    assert _cid_text(b"\x99junk") == "0x" + b"\x99junk".hex()


def test_format_consent_is_stable_under_its_cache() -> None:
    assert format_consent(3) == "train,commercial"
    assert format_consent(3) == "train,commercial"
    assert format_consent(0) == "none"
