"""The trainer's view of the chain: datasets by id or name, anchored manifests, consent changed since."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from backend.chain.blocks import block_header
from backend.chain.deployment import Deployment
from backend.chain.registry import RegistryClient
from backend.chain.releases import ReleaseClient
from backend.chain.voting import VotingClient
from backend.ipfs import ContentStore
from backend.release import fetch_manifest
from backend.release.fetch import FetchedManifest
from backend.session import open_session
from backend.settings import Settings
from curation.batches import leaf_item_id
from curation.consent import format_consent, gate
from curation.events import ItemConsentChanged, LeafConsentChanged
from curation.manifest_read import ManifestItem
from curation.state import UnknownDataset

__all__ = ["ConsentChange", "TrainerClient"]


@dataclass(frozen=True)
class ConsentChange:
    """An item whose consent no longer covers the dataset's use at the chain head, and why."""

    item_id: int
    reason: str  # the manifest's exclusion codes (curation.consent.gate): revoked | consent-mismatch | consent-expired
    detail: str
    block_number: int | None  # block of the change (None for an expiry)


class TrainerClient:
    """Chain and content store of one deployment, for pulling and checking releases."""

    def __init__(self, w3: Any, deployment: Deployment, store: ContentStore) -> None:
        deployment.check_chain(w3)
        self.w3 = w3
        self.deployment = deployment
        self.store = store
        self.voting = VotingClient(w3, deployment.address("CurationVoting"))
        self.registry = RegistryClient(w3, deployment.address("ContentRegistry"))
        self.releases = ReleaseClient(w3, deployment.address("ReleaseRegistry"))

    @classmethod
    def from_settings(cls, settings: Settings) -> TrainerClient:
        """The deployment `settings` name, with its content store (closed by `close`)."""
        session = open_session(settings, signer=False, store=True, needs_rpc_for="pulling")
        return cls(session.w3, session.deployment, session.need_store())

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> TrainerClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- datasets and releases ------------------------------------------------------------------------
    def dataset_id(self, ref: str | int) -> int:
        """A dataset by id (`3`) or exact name; UnknownDataset lists what exists."""
        count = self.voting.dataset_count()
        text = str(ref).strip()
        if text.isdigit():
            number = int(text)
            if 1 <= number <= count:
                return number
            raise UnknownDataset(f"dataset {number} does not exist ({_known(count)})")
        matches = [i for i in range(1, count + 1) if self.voting.get_dataset(i).name == text]
        if len(matches) == 1:
            return matches[0]
        if matches:
            ids = ", ".join(str(i) for i in matches)
            raise UnknownDataset(f"several datasets are named {text!r} (ids {ids}): give the id")
        raise UnknownDataset(f"no dataset is named {text!r} ({_known(count)})")

    def fetch(self, dataset_id: int, release: int | None = None) -> FetchedManifest:
        """Resolve the release on-chain, fetch the manifest by CID, check the anchored sha256 (parts too)."""
        return fetch_manifest(self.w3, self.deployment, self.store, dataset_id, release)

    # --- consent at the head --------------------------------------------------------------------------
    def head(self) -> tuple[int, int]:
        """(number, timestamp) of the latest block."""
        header = block_header(self.w3)
        return header.number, header.timestamp

    def consent_changes(
        self, items: Iterable[ManifestItem], state_block: int, use: int, head: tuple[int, int]
    ) -> dict[int, ConsentChange]:
        """Items whose consent, read from the chain at `head`, no longer covers `use`.

        Every consent change emits ItemConsentChanged or LeafConsentChanged, so the logs after the state
        block name every item that can have changed; the last change of each item is its consent now. An
        expiry that has passed by the head block's timestamp ends consent too.
        """
        wanted = {i.item_id: i for i in items}
        head_block, head_time = head
        latest: dict[int, tuple[int, int, int]] = {}  # item id -> (consent, expiry, block)
        if head_block > state_block:
            for ic in self.registry.event_logs(ItemConsentChanged, state_block + 1, head_block):
                latest[ic.item_id] = (ic.consent, ic.expiry, ic.at.block_number)
            for lc in self.registry.event_logs(LeafConsentChanged, state_block + 1, head_block):
                latest[leaf_item_id(lc.batch_id, lc.leaf_index)] = (lc.consent, lc.expiry, lc.at.block_number)
        out: dict[int, ConsentChange] = {}
        for item_id, item in wanted.items():
            consent, expiry, block = latest.get(item_id, (item.consent, item.consent_expiry, -1))
            reason = gate(consent, expiry, use, head_time)
            at = block if block >= 0 else None
            if reason == "revoked":
                out[item_id] = ConsentChange(item_id, reason, f"revoked in block {block}", at)
            elif reason == "consent-mismatch":
                detail = (
                    f"consent narrowed to {format_consent(consent)} in block {block}, the dataset needs "
                    f"{format_consent(use)}"
                )
                out[item_id] = ConsentChange(item_id, reason, detail, at)
            elif reason is not None:
                out[item_id] = ConsentChange(item_id, reason, f"consent expired at unix time {expiry}", None)
        return dict(sorted(out.items()))

    def license_classes(self) -> dict[str, int]:
        """SPDX id -> license class flags, as the registry's allowlist records them now."""
        return {rec.spdx: rec.classes for rec in self.registry.licenses()}


def _known(count: int) -> str:
    return f"datasets are numbered 1..{count}" if count else "there are no datasets yet"
