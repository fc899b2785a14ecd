"""CID parsing, encoding and normalisation."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from curation.batches import build_batch_manifest, verify_batch_manifest
from curation.cid import CID, DAG_PB, RAW, cid_text, cid_v0, cid_v1_raw, normalize_cid, parse_cid
from curation.errors import InvalidInput
from curation.merkle import Leaf, merkle_root
from curation.multiformats import b58_decode, b58_encode, read_varint, varint

HELLO = b"hello IPFS\n"
HELLO_V0 = "QmYDAmHsFu5oWsJU21esKnN4ZRyE8txJNvrZxvxXLymC2L"
HELLO_V1 = "bafkreicouv3sksjuzxb3rbb6rziy6duakk2aikegsmtqtz5rsuppjorxsa"
EMPTY_V1 = "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"


def test_cid_v1_raw_of_sha256_matches_kubo_vectors() -> None:
    assert str(cid_v1_raw(hashlib.sha256(HELLO).digest())) == HELLO_V1
    assert str(cid_v1_raw(hashlib.sha256(b"").digest())) == EMPTY_V1


def test_parse_v1_exposes_version_codec_digest() -> None:
    cid = parse_cid(HELLO_V1)
    assert (cid.version, cid.codec, cid.digest) == (1, RAW, hashlib.sha256(HELLO).digest())
    assert cid.to_bytes() == b"\x01\x55\x12\x20" + hashlib.sha256(HELLO).digest()


def test_parse_v0_round_trips_and_converts_to_v1() -> None:
    cid = CID.parse(HELLO_V0)
    assert (cid.version, cid.codec) == (0, DAG_PB)
    assert str(cid) == HELLO_V0
    assert cid.to_bytes()[:2] == b"\x12\x20"
    v1 = cid.to_v1()
    assert str(v1).startswith("bafybei")
    assert v1.to_v0() == cid
    assert cid_v0(cid.digest) == cid


@pytest.mark.parametrize("base", ["base32", "base58btc", "base16"])
def test_every_multibase_normalises_to_base32(base: str) -> None:
    text = parse_cid(HELLO_V1).encode(base)
    assert normalize_cid(text) == HELLO_V1
    assert normalize_cid(text.upper() if base == "base32" else text) == HELLO_V1


def test_binary_and_ipfs_path_forms_parse() -> None:
    cid = parse_cid(HELLO_V1)
    assert CID.parse(cid.to_bytes()) == cid
    assert CID.parse(bytearray(cid.to_bytes())) == cid
    assert CID.parse(f"/ipfs/{HELLO_V1}") == cid
    assert CID.parse(cid) is cid


def test_raw_cid_has_no_v0_form() -> None:
    with pytest.raises(InvalidInput, match="no CIDv0"):
        parse_cid(HELLO_V1).to_v0()


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("", "empty"),
        ("Qm123", "multibase"),
        ("bafkreicouv3sksjuzxb3rbb6rziy6duakk2aikegsmtqtz5rsuppjor", "truncated"),
        (HELLO_V0[:-1] + "0", "base58"),
        ("xyz", "multibase"),
        ("b" + "a" * 10, "version|varint"),
        ("f01559920" + "00" * 32, "codec|multihash"),
    ],
)
def test_invalid_cid_strings_raise_invalid_input_naming_the_input(text: str, why: str) -> None:
    with pytest.raises(InvalidInput, match=why):
        parse_cid(text)


def test_trailing_bytes_and_wrong_digest_length_are_rejected() -> None:
    raw = parse_cid(HELLO_V1).to_bytes()
    with pytest.raises(InvalidInput, match="trailing"):
        CID.parse(raw + b"\0")
    with pytest.raises(InvalidInput, match="32 bytes"):
        CID(1, RAW, 0x12, b"\0" * 31)


def test_pydantic_field_validates_and_serialises_as_text() -> None:
    from pydantic import BaseModel, ValidationError

    class Item(BaseModel):
        cid: CID

    item = Item.model_validate({"cid": parse_cid(HELLO_V1).encode("base58btc")})
    assert item.model_dump(mode="json") == {"cid": HELLO_V1}
    with pytest.raises(ValidationError):
        Item.model_validate({"cid": "nope"})


@given(st.integers(min_value=0, max_value=2**63 - 1))
def test_varint_round_trips(value: int) -> None:
    encoded = varint(value)
    assert read_varint(encoded) == (value, len(encoded))


@given(st.binary(max_size=64))
def test_base58_round_trips(data: bytes) -> None:
    assert b58_decode(b58_encode(data)) == data


@given(st.binary(min_size=32, max_size=32), st.sampled_from([RAW, DAG_PB]))
def test_any_sha256_cid_round_trips_through_text_and_bytes(digest: bytes, codec: int) -> None:
    cid = CID(1, codec, 0x12, digest)
    assert CID.parse(str(cid)) == cid
    assert CID.parse(cid.to_bytes()) == cid
    assert str(cid).startswith("b")


# --- cid_text: the one formatter of CID bytes read from chain or written into manifests -----------------------


@given(st.binary(min_size=32, max_size=32), st.sampled_from([RAW, DAG_PB]))
def test_cid_text_fast_path_equals_the_general_formatter(digest: bytes, codec: int) -> None:
    raw = bytes([1, codec, 0x12, 0x20]) + digest
    assert cid_text(raw) == str(CID.parse(raw))
    assert CID.parse(cid_text(raw)).to_bytes() == raw


def test_cid_text_keeps_v0_and_unknown_bytes_readable() -> None:
    v1 = cid_v1_raw(b"\x00" * 32)
    v0 = bytes([0x12, 0x20]) + b"\x00" * 32
    assert cid_text(v1.to_bytes()) == str(v1)
    assert cid_text(v0) == str(cid_v0(b"\x00" * 32))
    assert cid_text(v0).startswith("Qm")
    assert cid_text(b"\x99junk") == "0x" + b"\x99junk".hex()
    assert cid_text(v1.to_bytes() + b"\x00") == "0x" + (v1.to_bytes() + b"\x00").hex()  # trailing bytes


def test_cid_text_of_no_bytes_is_empty() -> None:
    """An unset CID field (a dataset or proposal without a description) is "" in manifests and the API."""
    assert cid_text(b"") == ""


def test_a_batch_manifest_writes_no_bytes_as_0x_so_the_leaf_reads_back() -> None:
    digest = hashlib.sha256(b"x").digest()
    leaves = [Leaf(0, b"", digest, 1, 1, 1), Leaf(1, cid_v1_raw(digest).to_bytes(), digest, 1, 1, 1)]
    data = build_batch_manifest(leaves)
    assert b'"cid":"0x"' in data
    assert verify_batch_manifest(data, merkle_root(leaves), 2).leaves == tuple(leaves)
