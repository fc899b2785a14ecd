"""curation.merkle: leaf encoding, tree shape, proofs, CID keys and leaf admissibility (pure)."""

from __future__ import annotations

import hashlib
import random

import pytest
from eth_abi import encode as abi_encode
from eth_utils import keccak

from curation.cid import cid_v0, cid_v1_dag_pb, cid_v1_raw
from curation.errors import InvalidInput
from curation.merkle import (
    LEAF_ABI_TYPES,
    Leaf,
    MerkleTree,
    cid_key,
    hash_pair,
    leaf_problem,
    merkle_proof,
    merkle_root,
    process_proof,
    split_cid,
    verify_proof,
)


def _leaf(i: int, consent: int = 1, license_id: int = 1, expiry: int = 0) -> Leaf:
    d = hashlib.sha256(f"item-{i}".encode()).digest()
    return Leaf(i, cid_v1_raw(d).to_bytes(), d, 10 + i, license_id, consent, expiry)


def test_leaf_hash_is_double_keccak_of_the_documented_abi_encoding() -> None:
    leaf = _leaf(3, consent=5, license_id=2, expiry=1_700_000_000)
    inner = abi_encode(
        ["uint256", "bytes", "bytes32", "uint64", "uint16", "uint16", "uint64"],
        [3, leaf.cid, leaf.sha256, 13, 2, 5, 1_700_000_000],
    )
    assert leaf.encode() == inner
    assert leaf.hash() == keccak(keccak(inner))
    assert leaf.as_tuple() == (3, leaf.cid, leaf.sha256, 13, 2, 5, 1_700_000_000)


def test_the_hand_written_encoding_is_eth_abis_on_random_leaves() -> None:
    # Seeded, so the same 500 leaves every run: CIDs of every length a leaf may have (0 to 100 bytes, so
    # padding of 0..31 bytes and multi-word tails) and every field at random up to its type's top.
    rng = random.Random(20261203)
    for _ in range(500):
        fields = [
            rng.randrange(2**32),
            rng.randbytes(rng.randrange(101)),
            rng.randbytes(32),
            rng.choice([0, 2**64 - 1, rng.randrange(2**64)]),
            rng.randrange(2**16),
            rng.randrange(2**16),
            rng.choice([0, 2**64 - 1, rng.randrange(2**64)]),
        ]
        leaf = Leaf(*fields)
        expected = abi_encode(list(LEAF_ABI_TYPES), fields)
        assert leaf.encode() == expected
        assert leaf.hash() == keccak(keccak(expected))


def test_known_leaf_hash_vector() -> None:
    # The encoding spelled out word by word (index, offset of cid, sha256, size, license, consent, expiry,
    # cid length, cid padded), and the hash pinned, so a change of encoding cannot go unnoticed.
    cid = bytes.fromhex("01551220") + b"\xab" * 32
    leaf = Leaf(7, cid, b"\xcd" * 32, 1, 2, 3, 4)

    def word(n: int) -> bytes:
        return n.to_bytes(32, "big")

    expected = word(7) + word(0xE0) + b"\xcd" * 32 + word(1) + word(2) + word(3) + word(4) + word(36)
    expected += cid + b"\x00" * 28
    assert leaf.encode() == expected
    zero = Leaf(0, bytes.fromhex("01551220") + b"\x00" * 32, b"\x00" * 32, 1, 1, 1, 0)
    assert zero.hash().hex() == "a522afed5343ac840e1e13ecb5d6380194f05c7b9072fc3920a99100e75c442d"


def test_hash_pair_is_commutative_and_sorted() -> None:
    a, b = b"\x01" * 32, b"\x02" * 32
    assert hash_pair(a, b) == hash_pair(b, a) == keccak(a + b)


def test_tree_shape_pairs_in_index_order_and_carries_an_odd_node_up() -> None:
    hs = [_leaf(i).hash() for i in range(5)]
    l1 = [hash_pair(hs[0], hs[1]), hash_pair(hs[2], hs[3]), hs[4]]
    l2 = [hash_pair(l1[0], l1[1]), l1[2]]
    assert MerkleTree(hs).root == hash_pair(l2[0], l2[1])
    assert MerkleTree(hs).proof(4) == [l2[0]]
    assert MerkleTree(hs).proof(0) == [hs[1], l1[1], l1[2]]


def test_single_leaf_root_is_its_hash_with_an_empty_proof() -> None:
    leaf = _leaf(0)
    assert merkle_root([leaf]) == leaf.hash()
    assert merkle_proof([leaf], 0) == []
    assert verify_proof(leaf, [], leaf.hash())


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 33])
def test_every_proof_verifies_and_no_proof_fits_another_leaf(n: int) -> None:
    leaves = [_leaf(i) for i in range(n)]
    tree = MerkleTree.from_leaves(leaves)
    assert len(tree) == n
    for leaf in leaves:
        proof = tree.proof(leaf.index)
        assert verify_proof(leaf, proof, tree.root)
        assert process_proof(leaf.hash(), proof) == tree.root
        if n > 1:
            other = leaves[(leaf.index + 1) % n]
            assert not verify_proof(other, proof, tree.root)
        if proof:
            assert not verify_proof(leaf, [b"\x00" * 32, *proof[1:]], tree.root)


def test_changing_any_leaf_field_changes_the_root() -> None:
    leaves = [_leaf(i) for i in range(4)]
    root = merkle_root(leaves)
    base = leaves[2]
    variants = [
        Leaf(2, base.cid + b"", base.sha256, base.size + 1, base.license_id, base.consent, base.expiry),
        Leaf(2, base.cid, base.sha256, base.size, base.license_id + 1, base.consent, base.expiry),
        Leaf(2, base.cid, base.sha256, base.size, base.license_id, base.consent | 2, base.expiry),
        Leaf(2, base.cid, base.sha256, base.size, base.license_id, base.consent, 1),
        Leaf(2, base.cid, b"\x01" * 32, base.size, base.license_id, base.consent, base.expiry),
        Leaf(2, cid_v0(base.sha256).to_bytes(), base.sha256, base.size, base.license_id, base.consent, 0),
    ]
    for v in variants:
        assert merkle_root([*leaves[:2], v, leaves[3]]) != root


def test_root_depends_on_leaf_order_through_the_index() -> None:
    a, b = _leaf(0), _leaf(1)
    swapped = [Leaf(0, b.cid, b.sha256, b.size, 1, 1, 0), Leaf(1, a.cid, a.sha256, a.size, 1, 1, 0)]
    assert merkle_root([a, b]) != merkle_root(swapped)


def test_tree_rejects_bad_indices_and_empty_input() -> None:
    with pytest.raises(InvalidInput, match="at least one leaf"):
        MerkleTree([])
    with pytest.raises(InvalidInput, match="position 1 has index 2"):
        MerkleTree.from_leaves([_leaf(0), _leaf(2)])
    with pytest.raises(InvalidInput, match="32 bytes"):
        MerkleTree([b"short"])
    with pytest.raises(InvalidInput, match=r"outside 0\.\.2"):
        MerkleTree.from_leaves([_leaf(0), _leaf(1), _leaf(2)]).proof(3)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("index", -1),
        ("index", 2**32),
        ("size", 2**64),
        ("license_id", 2**16),
        ("consent", -1),
        ("expiry", 2**64),
    ],
)
def test_leaf_fields_must_fit_their_abi_types(field: str, value: int) -> None:
    args = {
        "index": 0,
        "cid": b"",
        "sha256": b"\x00" * 32,
        "size": 1,
        "license_id": 1,
        "consent": 1,
        "expiry": 0,
    }
    args[field] = value
    with pytest.raises(InvalidInput, match=f"leaf {field} must be an integer"):
        Leaf(**args)  # type: ignore[arg-type]


def test_leaf_sha256_must_be_32_bytes_and_cid_bytes() -> None:
    with pytest.raises(InvalidInput, match="sha256 must be 32 bytes"):
        Leaf(0, b"", b"\x00" * 31, 1, 1, 1)
    with pytest.raises(InvalidInput, match="binary CID"):
        Leaf(0, "bafy", b"\x00" * 32, 1, 1, 1)  # type: ignore[arg-type]


def test_cid_key_identifies_v0_with_v1_dag_pb_only() -> None:
    d = hashlib.sha256(b"x").digest()
    v0, pb, raw = cid_v0(d).to_bytes(), cid_v1_dag_pb(d).to_bytes(), cid_v1_raw(d).to_bytes()
    assert cid_key(v0) == cid_key(pb) == keccak(pb)
    assert cid_key(raw) == keccak(raw) != cid_key(pb)
    assert split_cid(v0) == (0x70, d)
    assert split_cid(raw) == (0x55, d)
    with pytest.raises(InvalidInput, match="not a CIDv0"):
        cid_key(b"\x01\x71\x12\x20" + d)


def test_leaf_problem_names_what_the_indexer_drops() -> None:
    good = _leaf(0)
    assert leaf_problem(good) is None
    assert leaf_problem(good, shared=(1, 1, 0)) is None
    d = good.sha256
    cases = {
        "malformed CID": Leaf(0, b"\x01\x02", d, 1, 1, 1),
        "raw CID digest differs": Leaf(0, cid_v1_raw(b"\x09" * 32).to_bytes(), d, 1, 1, 1),
        "size is 0": Leaf(0, good.cid, d, 0, 1, 1),
        "license id 0": Leaf(0, good.cid, d, 1, 0, 1),
        "consent 0": Leaf(0, good.cid, d, 1, 1, 0),
        "unknown bits": Leaf(0, good.cid, d, 1, 1, 0x41),
    }
    for expected, leaf in cases.items():
        problem = leaf_problem(leaf)
        assert problem is not None
        assert expected in problem
    assert "shared" in (leaf_problem(good, shared=(2, 1, 0)) or "")
    assert leaf_problem(Leaf(0, cid_v1_dag_pb(b"\x09" * 32).to_bytes(), d, 1, 1, 1)) is None
