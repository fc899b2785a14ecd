"""Connect to the embedded chain (py-evm through EthereumTesterProvider) or to any EVM JSON-RPC URL."""

from __future__ import annotations

from urllib.parse import urlparse

from web3 import EthereumTesterProvider, Web3
from web3.providers.rpc import HTTPProvider

from backend.chain.devchain import embedded_provider
from backend.errors import ChainError, ConfigError

__all__ = ["connect", "is_embedded", "mine"]


def connect(rpc: str | None = None, timeout: float = 10.0) -> Web3:
    """`rpc=None` gives a fresh in-process chain; a URL must answer `eth_chainId` or ChainError is raised."""
    if rpc is None or rpc == "embedded":
        return Web3(embedded_provider())
    parsed = urlparse(rpc)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ConfigError(f"RPC URL {rpc!r} is not an http(s) URL (for example http://127.0.0.1:8545)")
    w3 = Web3(HTTPProvider(rpc, request_kwargs={"timeout": timeout}))
    try:
        w3.eth.chain_id  # noqa: B018 - the probe itself is the point
    except Exception as exc:  # any transport failure means the same thing to the user
        raise ChainError(f"RPC URL {rpc} does not answer ({type(exc).__name__}: {exc})") from None
    return w3


def is_embedded(w3: Web3) -> bool:
    return isinstance(w3.provider, EthereumTesterProvider)


def mine(w3: Web3, blocks: int) -> None:
    """Advance a development chain by `blocks` empty blocks (embedded chain or a node with `evm_mine`)."""
    if blocks <= 0:
        return
    if is_embedded(w3):
        w3.testing.mine(blocks)  # type: ignore[attr-defined]
        return
    for _ in range(blocks):
        try:
            w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
        except Exception as exc:
            raise ChainError(
                f"this node cannot mine on demand (evm_mine failed: {exc}); wait for {blocks} blocks instead"
            ) from None
