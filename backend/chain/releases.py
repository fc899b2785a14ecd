"""Typed wrapper of ReleaseRegistry: publish and read the numbered releases of each dataset."""

from __future__ import annotations

from dataclasses import dataclass

from backend.chain.contract import ContractClient, Receipt
from backend.chain.voting import cid_bytes
from backend.errors import ChainError
from curation.cid import CID, cid_text
from curation.errors import InvalidInput

__all__ = ["ReleaseClient", "ReleaseInfo"]


@dataclass(frozen=True)
class ReleaseInfo:
    dataset_id: int
    number: int
    manifest_cid: str
    manifest_sha256: bytes
    state_block: int
    published_block: int
    publisher: str
    scheme_id: str


def _digest(value: bytes | str) -> bytes:
    raw = bytes.fromhex(value.removeprefix("0x")) if isinstance(value, str) else bytes(value)
    if len(raw) != 32:
        raise InvalidInput(f"a manifest sha256 is 32 bytes, got {len(raw)}")
    return raw


class ReleaseClient(ContractClient):
    artifact = "ReleaseRegistry"

    def set_publisher(self, account: str, allowed: bool) -> Receipt:
        return self._transact("setPublisher", account, allowed, gas=100_000)

    def is_publisher(self, account: str) -> bool:
        return bool(self._call("isPublisher", account))

    def admin(self) -> str:
        return str(self._call("admin"))

    def voting(self) -> str:
        return str(self._call("voting"))

    def publish_release(
        self,
        dataset_id: int,
        manifest_cid: str | bytes | CID,
        manifest_sha256: bytes | str,
        state_block: int,
        scheme_id: str,
    ) -> Receipt:
        """Anchor a release (publisher only); its number is in the ReleasePublished event.

        Refused before anything is sent (InvalidInput) when the state block is not in the past, or is older
        than the state block of the dataset's latest release (ReleaseRegistry refuses both too).
        """
        self.check_state_block(dataset_id, state_block)
        return self._transact(
            "publishRelease",
            dataset_id,
            cid_bytes(manifest_cid),
            _digest(manifest_sha256),
            state_block,
            scheme_id,
            gas=400_000,
        )

    def check_state_block(self, dataset_id: int, state_block: int) -> None:
        """InvalidInput unless `state_block` may be anchored now as the next release of `dataset_id`."""
        try:
            head = int(self.w3.eth.block_number)
        except (ConnectionError, OSError) as exc:
            raise ChainError(f"could not read the chain head: the node does not answer ({exc})") from None
        if state_block < 0 or state_block > head:
            raise InvalidInput(
                f"state block {state_block} is not in the past: the chain is at block {head}, and a release "
                f"anchors the state of a block before the one that publishes it; build the release at block "
                f"{head} or earlier"
            )
        count = self.release_count(dataset_id)
        if count:
            latest = self.get_release(dataset_id, count)
            if state_block < latest.state_block:
                raise InvalidInput(
                    f"state block {state_block} is older than block {latest.state_block}, the state of release "
                    f"{count} of dataset {dataset_id}: a newer release cannot go back in time; build it at "
                    f"block {latest.state_block} or later"
                )

    def release_count(self, dataset_id: int) -> int:
        return int(self._call("releaseCount", dataset_id))

    def get_release(self, dataset_id: int, number: int) -> ReleaseInfo:
        return self._info(dataset_id, number, self._call("getRelease", dataset_id, number))

    def latest_release(self, dataset_id: int) -> ReleaseInfo:
        number, raw = self._call("latestRelease", dataset_id)
        return self._info(dataset_id, int(number), raw)

    @staticmethod
    def _info(dataset_id: int, number: int, raw: tuple[bytes, bytes, int, int, str, str]) -> ReleaseInfo:
        cid, digest, state_block, published, publisher, scheme = raw
        return ReleaseInfo(
            dataset_id,
            number,
            cid_text(bytes(cid)),
            bytes(digest),
            int(state_block),
            int(published),
            str(publisher),
            str(scheme),
        )
