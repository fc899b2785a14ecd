"""Attack: a batch manifest with malformed fields, to crash or stall whoever parses it.

Anyone can submit a batch and name any bytes as its manifest. The parser used `str.isdigit` (true for
`"²"`, which `int()` then refuses with a ValueError), took integers of thousands of digits, accepted hex with
spaces, and ran the C JSON parser on 200 kB of nested brackets (a RecursionError, or a segfault once web3
has raised the recursion limit to 100,000).

Promised: every malformed shape is a BatchManifestMismatch (an InvalidInput: the batch is invalid by
content, the same on every machine) whose message names the leaf and the field; no ValueError, TypeError,
KeyError or RecursionError ever escapes, and the process never crashes. A manifest larger than
`batch_manifest_max_bytes(count)`, the most a valid manifest of that many leaves can take, is refused
before it is parsed.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from curation.batches import (
    BATCH_MANIFEST_OVERHEAD_BYTES,
    MAX_LEAF_JSON_BYTES,
    BatchManifestMismatch,
    batch_manifest_max_bytes,
    build_batch_manifest,
    leaf_for_bytes,
    parse_batch_manifest,
    verify_batch_manifest,
)
from curation.merkle import Leaf, merkle_root

LEAVES = [leaf_for_bytes(i, f"leaf {i}".encode(), 1, 1) for i in range(3)]
ROOT = merkle_root(LEAVES)
GOOD = build_batch_manifest(LEAVES)
BIG = 1_000_000  # a leaf count whose format size limit (512 MB) lets every case below through


def edited(change: Callable[[dict[str, Any]], object]) -> bytes:
    doc = json.loads(GOOD)
    change(doc)
    return json.dumps(doc).encode()


def leaf_field(pos: int, name: str, value: object) -> bytes:
    return edited(lambda d: d["leaves"][pos].__setitem__(name, value))


CASES: dict[str, tuple[bytes, str]] = {
    "superscript digit": (leaf_field(1, "size", "²"), r"leaf 1: size must be a decimal integer"),
    "arabic-indic digits": (leaf_field(1, "size", "١٢"), r"leaf 1: size must be a decimal integer"),
    "5,000-digit integer": (
        GOOD.replace(b'"size":"6"', b'"size":' + b"9" * 5000, 1),
        r"leaf 0: size is a 5000-digit number",
    ),
    "4,000-digit integer": (
        GOOD.replace(b'"size":"6"', b'"size":' + b"9" * 4000, 1),
        r"leaf 0: size must be in 0\.\.18446744073709551615, got a 4000-digit number",
    ),
    "5,000-digit string": (leaf_field(2, "expiry", "9" * 5000), r"leaf 2: expiry must be a decimal integer"),
    "float": (leaf_field(1, "size", 1.5), r"leaf 1: size must be an integer .* got 1\.5"),
    "bool": (leaf_field(0, "index", True), r"leaf 0: index must be an integer"),
    "list": (leaf_field(0, "consent", [1]), r"leaf 0: consent must be an integer .* a JSON array"),
    "null": (leaf_field(0, "license_id", None), r"leaf 0: license_id must be an integer"),
    "negative integer": (leaf_field(1, "consent", -1), r"leaf 1: consent must be in 0\.\.65535, got -1"),
    "negative string": (leaf_field(1, "size", "-1"), r"leaf 1: size must be a decimal integer"),
    "leading zero": (leaf_field(1, "size", "007"), r"leaf 1: size must be a decimal integer"),
    "consent out of range": (leaf_field(2, "consent", 1 << 16), r"leaf 2: consent must be in 0\.\.65535"),
    "license out of range": (
        leaf_field(2, "license_id", "65536"),
        r"leaf 2: license_id must be in 0\.\.65535",
    ),
    "expiry out of range": (leaf_field(2, "expiry", str(1 << 64)), r"leaf 2: expiry must be in 0\.\."),
    "index out of range": (leaf_field(0, "index", 1 << 32), r"leaf 0: index must be in 0\.\.4294967295"),
    "missing field": (edited(lambda d: d["leaves"][1].pop("size")), r"leaf 1: size is missing"),
    "missing sha256": (edited(lambda d: d["leaves"][1].pop("sha256")), r"leaf 1: sha256 is missing"),
    "bad CID text": (leaf_field(0, "cid", "bafynotacid"), r"leaf 0: cid 'bafynotacid' is not a CID"),
    "hex CID with spaces": (leaf_field(0, "cid", "0x01 55"), r"leaf 0: cid '0x01 55' is not 0x followed by"),
    "odd hex CID": (leaf_field(0, "cid", "0x015"), r"leaf 0: cid '0x015' is not 0x followed by"),
    "CID not a string": (leaf_field(0, "cid", 12), r"leaf 0: cid must be a CID string"),
    "CID too long": (leaf_field(0, "cid", "0x" + "00" * 200), r"leaf 0: cid is 402 characters"),
    "sha256 with spaces": (leaf_field(1, "sha256", " " + "a" * 64), r"leaf 1: sha256 must be 64 hex digits"),
    "sha256 too short": (leaf_field(1, "sha256", "ab"), r"leaf 1: sha256 must be 64 hex digits"),
    "duplicate index": (
        leaf_field(2, "index", 1),
        r"leaf 2: index is 1, but repeats an earlier leaf's index",
    ),
    "skipped index": (leaf_field(1, "index", 2), r"leaf 1: index is 2, but skips indexes"),
    "leaf not an object": (
        edited(lambda d: d["leaves"].__setitem__(1, "x")),
        r"leaf 1 must be a JSON object",
    ),
    "count contradicts leaves": (edited(lambda d: d.__setitem__("count", "3")), r"says count '3'"),
    "root contradicts leaves": (
        edited(lambda d: d.__setitem__("root", "0x" + "00" * 32)),
        r"says root 0x0+, but its leaves hash to",
    ),
    "no leaves": (edited(lambda d: d.__setitem__("leaves", {})), r"at least one leaf"),
    "wrong schema": (edited(lambda d: d.__setitem__("schema", "x")), r"schema"),
    "not UTF-8": (b"\xff" + GOOD, r"not UTF-8"),
    "not JSON": (GOOD[:-1], r"not JSON"),
    "nested brackets": (
        b'{"schema":"curation-commons/batch/v1","leaves":' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        r"nests arrays/objects deeper than 8 levels",
    ),
}


def test_the_good_manifest_verifies() -> None:
    assert verify_batch_manifest(GOOD, ROOT, 3).leaves == tuple(LEAVES)
    assert b'"size":"6"' in GOOD  # the edits above rely on it


@pytest.mark.parametrize("name", list(CASES))
def test_each_malformed_shape_is_a_batch_manifest_mismatch(name: str) -> None:
    data, message = CASES[name]
    with pytest.raises(BatchManifestMismatch, match=message):
        parse_batch_manifest(data)
    # The fold's call: the attacker declares a batch large enough for the format size limit to let it through.
    with pytest.raises(BatchManifestMismatch):
        verify_batch_manifest(data, ROOT, BIG)
    if len(data) <= batch_manifest_max_bytes(3):
        with pytest.raises(BatchManifestMismatch, match=message):
            verify_batch_manifest(data, ROOT, 3)


def test_nested_json_does_not_crash_with_web3s_recursion_limit() -> None:
    """In a fresh process with the recursion limit web3 sets, the C parser would overflow the C stack."""
    data, _ = CASES["nested brackets"]
    code = (
        "import sys\n"
        "sys.setrecursionlimit(100_000)\n"
        "from curation.batches import BatchManifestMismatch, verify_batch_manifest\n"
        "try:\n"
        f"    verify_batch_manifest(sys.stdin.buffer.read(), bytes(32), {BIG})\n"
        "except BatchManifestMismatch as exc:\n"
        "    print('refused:', exc)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], input=data, capture_output=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr.decode()[-500:]
    assert done.stdout.startswith(b"refused: ")
    assert b"deeper than 8 levels" in done.stdout


def test_format_size_limit_refuses_before_parsing() -> None:
    assert batch_manifest_max_bytes(3) == BATCH_MANIFEST_OVERHEAD_BYTES + 3 * MAX_LEAF_JSON_BYTES
    assert batch_manifest_max_bytes(1_000_000) == 512_004_096
    padded = GOOD[:-1] + b',"pad":"' + b"x" * batch_manifest_max_bytes(3) + b'"}'
    with pytest.raises(BatchManifestMismatch, match=r"more than the 5632 bytes a valid manifest of 3 leaves"):
        verify_batch_manifest(padded, ROOT, 3)
    with pytest.raises(ValueError, match=r"0\.\.2\*\*32"):
        batch_manifest_max_bytes(-1)


def test_the_largest_canonical_leaf_fits_the_per_leaf_budget() -> None:
    top = (1 << 64) - 1

    def widest(index: int) -> Leaf:  # a 127-byte non-CID is written as 256 characters of 0x hex
        return Leaf(index, b"\xab" * 127, b"\xcd" * 32, top, 65535, 65535, top)

    one = build_batch_manifest([widest(0)])
    per_leaf = len(build_batch_manifest([widest(0), widest(1)])) - len(one)
    assert per_leaf + 9 <= MAX_LEAF_JSON_BYTES  # + the digits of the widest index (10 instead of 1)
    assert len(one) - per_leaf <= BATCH_MANIFEST_OVERHEAD_BYTES
    with pytest.raises(ValueError, match="256 a batch manifest allows"):
        build_batch_manifest([Leaf(0, b"\xab" * 128, b"\xcd" * 32, 1, 1, 1)])


_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False),
    st.text(max_size=30),
    st.sampled_from(["²", "0x", "0x0", "١", "18446744073709551616", "Qm", "bafy", " 1", "1 "]),
)
_JSON = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
)


@settings(max_examples=300, derandomize=True, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(pos=st.integers(0, 2), name=st.sampled_from(["index", "cid", "sha256", "size", "license_id",
       "consent", "expiry", "extra"]), value=_JSON)  # fmt: skip
def test_any_value_in_any_field_is_accepted_or_a_mismatch(pos: int, name: str, value: object) -> None:
    data = leaf_field(pos, name, value)
    with contextlib.suppress(BatchManifestMismatch):
        verify_batch_manifest(data, ROOT, 3)
