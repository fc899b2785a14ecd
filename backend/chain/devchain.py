"""The embedded chain: py-evm made reproducible (fixed genesis time, 12 s blocks, derived prevrandao)."""

from __future__ import annotations

from typing import Any

from eth_tester import EthereumTester, PyEVMBackend
from eth_utils.crypto import keccak
from web3 import EthereumTesterProvider

__all__ = ["BLOCK_TIME", "GENESIS_TIMESTAMP", "DeterministicBackend", "embedded_provider"]

#: 2026-01-01T00:00:00Z: the embedded chain's genesis time, so block hashes and timestamps are the same
#: on every run and every machine (eth-tester's default uses the wall clock and a random prevrandao).
GENESIS_TIMESTAMP = 1_767_225_600
BLOCK_TIME = 12
_ZERO_ADDRESS = b"\x00" * 20


class DeterministicBackend(PyEVMBackend):  # type: ignore[misc]
    """PyEVMBackend whose blocks are a pure function of the transactions sent to it."""

    def __init__(self) -> None:
        params = PyEVMBackend.generate_genesis_params(overrides={"timestamp": GENESIS_TIMESTAMP})
        super().__init__(genesis_parameters=params)
        self._pin_pending_timestamp()

    def _pin_pending_timestamp(self) -> None:
        parent = self.chain.get_canonical_head()
        self.chain.header = self.chain.header.copy(timestamp=parent.timestamp + BLOCK_TIME)

    def mine_blocks(self, num_blocks: int = 1, coinbase: bytes = _ZERO_ADDRESS) -> tuple[bytes, ...]:
        hashes = []
        for _ in range(num_blocks):
            number = int(self.chain.header.block_number)
            mix_hash = keccak(b"curation-commons/prevrandao" + number.to_bytes(32, "big"))
            block = self.chain.mine_block(coinbase=coinbase, mix_hash=mix_hash)
            hashes.append(bytes(block.hash))
            self._pin_pending_timestamp()
        return tuple(hashes)

    def revert_to_snapshot(self, snapshot: Any) -> None:
        super().revert_to_snapshot(snapshot)
        self._pin_pending_timestamp()


def embedded_provider() -> EthereumTesterProvider:
    """A fresh in-process chain with ten funded, unlocked dev accounts (eth-tester's fixed keys)."""
    return EthereumTesterProvider(EthereumTester(backend=DeterministicBackend()))
