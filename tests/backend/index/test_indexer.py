"""Indexer basics on the embedded chain: ordering, idempotency, confirmations, deployment keying, reset."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from backend.chain.logs import RpcLogFetcher
from backend.chain.token import TokenClient
from backend.errors import ConfigError
from backend.index import Indexer, IndexMismatchError
from tests.conftest import Chain


def _indexer(chain: Chain, db: Path, **kwargs: int) -> Indexer:
    addresses = list(chain.deployment.contracts.values())
    fetcher = RpcLogFetcher.from_web3(chain.w3, addresses)
    return Indexer(f"sqlite:///{db}", fetcher, addresses, chain.deployment.deploy_block, **kwargs)


def _traffic(chain: Chain, mints: int) -> TokenClient:
    token = TokenClient(chain.w3, chain.deployment.address("CurationToken"), chain.admin)
    for i in range(mints):
        token.mint(chain.signers[1 + i % 3].address, 100 + i)
    return token


def test_logs_are_stored_in_chain_order_with_their_blocks(chain: Chain, tmp_path: Path) -> None:
    _traffic(chain, 4)
    indexer = _indexer(chain, tmp_path / "i.sqlite", max_range=2)
    result = indexer.sync()
    logs = indexer.logs()
    assert result.batches > 1
    assert result.logs_added == len(logs) >= 4
    assert [(x.block_number, x.log_index) for x in logs] == sorted(
        (x.block_number, x.log_index) for x in logs
    )
    transfer = "0x" + "ddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"
    assert sum(1 for x in logs if x.topics[0] == transfer) == 4
    head = chain.w3.eth.block_number
    state = indexer.state_block()
    assert state is not None
    assert state.number == head
    assert state.hash == "0x" + bytes(chain.w3.eth.get_block(head)["hash"]).hex()
    assert indexer.logs(to_block=logs[0].block_number) == [
        x for x in logs if x.block_number == logs[0].block_number
    ]


def test_syncing_again_changes_nothing(chain: Chain, tmp_path: Path) -> None:
    _traffic(chain, 3)
    indexer = _indexer(chain, tmp_path / "i.sqlite")
    indexer.sync()
    before = indexer.dump()
    again = indexer.sync()
    assert again.logs_added == 0
    assert again.batches == 0
    assert indexer.dump() == before


def test_confirmations_hold_back_the_newest_blocks(chain: Chain, tmp_path: Path) -> None:
    _traffic(chain, 3)
    indexer = _indexer(chain, tmp_path / "i.sqlite", confirmations=2)
    result = indexer.sync()
    assert result.cursor_block == chain.w3.eth.block_number - 2
    assert all(x.block_number <= result.cursor_block for x in indexer.logs())
    _traffic(chain, 2)
    assert indexer.sync().cursor_block == chain.w3.eth.block_number - 2


def test_a_database_of_another_deployment_is_refused(chain: Chain, tmp_path: Path) -> None:
    db = tmp_path / "i.sqlite"
    _indexer(chain, db).sync()
    addresses = list(chain.deployment.contracts.values())
    fetcher = RpcLogFetcher.from_web3(chain.w3, addresses)
    with pytest.raises(
        IndexMismatchError, match=r"indexes chain \d+, \d+ contracts .* not chain \d+, \d+ contracts"
    ):
        Indexer(f"sqlite:///{db}", fetcher, addresses, chain.deployment.deploy_block + 1)
    with pytest.raises(IndexMismatchError, match="use another --db"):
        Indexer(f"sqlite:///{db}", fetcher, addresses, chain.deployment.deploy_block, chain_id=1)


def test_reset_forgets_everything_and_the_next_sync_rebuilds_it(chain: Chain, tmp_path: Path) -> None:
    _traffic(chain, 2)
    indexer = _indexer(chain, tmp_path / "i.sqlite")
    indexer.sync()
    before = indexer.dump()
    indexer.reset()
    assert indexer.logs() == []
    assert indexer.state_block() is None
    indexer.sync()
    assert indexer.dump() == before


def test_bad_configuration_is_refused_with_a_reason(chain: Chain, tmp_path: Path) -> None:
    addresses = list(chain.deployment.contracts.values())
    fetcher = RpcLogFetcher.from_web3(chain.w3, addresses)
    with pytest.raises(ConfigError, match="max_range"):
        Indexer(f"sqlite:///{tmp_path / 'a.sqlite'}", fetcher, addresses, 0, max_range=0)
    with pytest.raises(ConfigError, match="other contract addresses"):
        Indexer(f"sqlite:///{tmp_path / 'a.sqlite'}", fetcher, addresses[:1], 0)
    with pytest.raises(ConfigError, match="not a database URL"):
        Indexer("not a url", fetcher, addresses, 0)
    with pytest.raises(ConfigError, match="verify must be"):
        RpcLogFetcher("http://127.0.0.1:1", addresses, verify="maybe")  # type: ignore[arg-type]


def test_cli_index_command_syncs_and_reports(chain: Chain, tmp_path: Path) -> None:
    import typer

    from backend.cli import index_cmd

    app = typer.Typer()
    index_cmd.register(app)
    app.command("noop")(lambda: None)  # a second command keeps `index` a sub-command
    runner = CliRunner()
    missing = runner.invoke(
        app, ["index", "--rpc", "http://127.0.0.1:1", "--deployment", str(tmp_path / "no.json")]
    )
    assert missing.exit_code == 1
    assert "no deployment record" in missing.output
    assert "Traceback" not in missing.output
