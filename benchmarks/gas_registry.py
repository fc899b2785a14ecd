"""Gas of ContentRegistry operations beside their floor (21,000 + 22,100 per fresh storage slot)."""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from dataclasses import asdict, dataclass

from backend.chain.accounts import dev_signers
from backend.chain.connection import connect
from backend.chain.deployment import deploy_all
from backend.chain.registry import RegistryClient
from curation.cid import cid_v1_raw
from curation.consent import Consent
from curation.merkle import Leaf, MerkleTree

BASE = 21_000
FRESH_SLOT = 22_100  # cold SSTORE of a zero slot to non-zero (20,000 + 2,100 cold access)
ITEM_TARGET_RATIO = 1.3
BATCH_TARGET_PER_ITEM = 100  # at 1,000 leaves


@dataclass
class Row:
    operation: str
    gas: int
    fresh_slots: int
    leaves: int = 1
    target: str = ""
    ok: bool = True

    @property
    def floor(self) -> int:
        return BASE + FRESH_SLOT * self.fresh_slots

    @property
    def ratio(self) -> float:
        return self.gas / self.floor

    @property
    def per_item(self) -> float:
        return self.gas / self.leaves


def _digest(tag: str) -> bytes:
    return hashlib.sha256(tag.encode()).digest()


def measure() -> list[Row]:
    w3 = connect(None)
    signers = dev_signers(w3)
    deployment = deploy_all(w3, signers[0])
    reg = RegistryClient(w3, deployment.address("ContentRegistry"), signers[1])
    license_id = reg.license_id_of("CC-BY-4.0")
    consent = int(Consent.TRAIN | Consent.COMMERCIAL | Consent.GENERATIVE)
    rows = [
        Row(
            "register",
            reg.register("ipfs://bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi").gas_used,
            2,
        )
    ]

    # Steady state: the counters' slot is already non-zero, as it is after the first submission.
    d = _digest("warm-up")
    reg.submit_item(cid_v1_raw(d), d, 1, license_id, consent)
    d = _digest("item")
    expiry = int(w3.eth.get_block("latest")["timestamp"]) + 365 * 86_400
    item = reg.submit_item(cid_v1_raw(d), d, 123_456_789, license_id, consent, expiry)
    item_id = reg.submitted_id(item)
    ratio_ok = item.gas_used <= ITEM_TARGET_RATIO * (BASE + 2 * FRESH_SLOT)
    rows.append(Row("submit item", item.gas_used, 2, target=f"<= {ITEM_TARGET_RATIO}x floor", ok=ratio_ok))

    batch_leaves: list[Leaf] = []
    for n in (1, 100, 1000):
        leaves = []
        for i in range(n):
            digest = _digest(f"batch{n}-{i}")
            leaves.append(Leaf(i, cid_v1_raw(digest).to_bytes(), digest, 1000 + i, license_id, consent, 0))
        receipt = reg.submit_batch(leaves, cid_v1_raw(_digest(f"manifest{n}")), shared=True)
        target, ok = "", True
        if n == 1000:
            target, ok = f"<= {BATCH_TARGET_PER_ITEM} gas/item", receipt.gas_used / n <= BATCH_TARGET_PER_ITEM
        rows.append(Row(f"submit batch ({n} leaves)", receipt.gas_used, 2, leaves=n, target=target, ok=ok))
        batch_leaves = leaves
    batch_id = reg.batch_count()

    rows.append(
        Row("narrow item consent", reg.narrow_consent(item_id, int(Consent.TRAIN), expiry - 1).gas_used, 0)
    )
    rows.append(Row("revoke item", reg.revoke_consent(item_id).gas_used, 0))
    tree = MerkleTree.from_leaves(batch_leaves)
    leaf = batch_leaves[500]
    narrowed = reg.narrow_leaf(batch_id, leaf, tree.proof(500), int(Consent.TRAIN), 0)
    rows.append(Row(f"narrow leaf (proof of {len(tree.proof(500))})", narrowed.gas_used, 1))
    rows.append(Row("revoke leaf (fresh bitmap word)", reg.revoke_leaf(batch_id, 7).gas_used, 1))
    rows.append(Row("revoke leaf (same word)", reg.revoke_leaf(batch_id, 8).gas_used, 0))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", action="store_true", help="print only the JSON summary line")
    args = parser.parse_args(argv)
    rows = measure()
    if not args.json:
        print(f"{'operation':34} {'gas':>9} {'floor':>9} {'ratio':>6} {'gas/item':>9}  target")
        for r in rows:
            status = ("ok" if r.ok else "MISSED") if r.target else ""
            print(
                f"{r.operation:34} {r.gas:>9,} {r.floor:>9,} {r.ratio:>6.3f} {r.per_item:>9,.1f}  "
                f"{r.target} {status}"
            )
    summary = {
        "contract": "ContentRegistry",
        "floor": {"base": BASE, "fresh_slot": FRESH_SLOT},
        "operations": [
            {**asdict(r), "floor": r.floor, "ratio": round(r.ratio, 4), "per_item": round(r.per_item, 2)}
            for r in rows
        ],
        "targets_met": all(r.ok for r in rows),
    }
    print(json.dumps(summary, separators=(",", ":")))
    return 0 if summary["targets_met"] else 1


if __name__ == "__main__":
    sys.exit(main())
