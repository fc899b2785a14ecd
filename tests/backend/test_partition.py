"""The partitioned release build: the same bytes in this process, on local processes and on a Dask cluster."""

from __future__ import annotations

import hashlib
import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from distributed import LocalCluster

import backend.release.build as build_module
from backend.errors import ConfigError
from backend.ipfs import EmbeddedStore, StoreSpec
from backend.ipfs.checks import ItemJob, check_items
from backend.partition import Partitioner, PartitionError, chunked
from backend.release import ContentUnavailable, build_release
from backend.settings import Settings
from curation.batches import item_ref
from curation.unixfs import compute_cid
from tests.backend.release.release_helpers import governed
from tests.conftest import Chain


@pytest.fixture(scope="module")
def cluster() -> Iterator[str]:
    """A real Dask LocalCluster (two worker processes) on 127.0.0.1, for this module's tests."""
    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
    ) as local:
        yield str(local.scheduler_address)


def _record_partitioners(monkeypatch: pytest.MonkeyPatch) -> list[Partitioner]:
    opened: list[Partitioner] = []
    real = build_module.open_partitioner

    def recording(settings: Settings) -> Partitioner:
        opened.append(real(settings))
        return opened[-1]

    monkeypatch.setattr(build_module, "open_partitioner", recording)
    return opened


def test_a_release_has_the_same_bytes_wherever_its_partitions_ran(
    chain: Chain, tmp_path: Path, cluster: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    s, ids = governed(chain, tmp_path / "store")
    bob = s.contributor(6)
    extra = [s.batch(bob, [f"leaf {b}.{i} ".encode() * (i + 3) for i in range(5)])[0] for b in range(3)]
    s.decide(ids["ds"], [], {s.signer(1): 1}, batches=extra)
    opened = _record_partitioners(monkeypatch)
    small = {"partition_items": 2, "partition_batches": 1}
    here = build_release(s.session(build_workers=1), ids["ds"])
    local = build_release(s.session(build_workers=2, **small), ids["ds"])
    dask = build_release(s.session(dask_scheduler=cluster, **small), ids["ds"])

    assert [p.ran for p in opened] == [
        ["this process", "this process"],
        ["2 local processes", "2 local processes"],
        [f"Dask cluster at {cluster}", f"Dask cluster at {cluster}"],
    ]
    assert here.manifest.doc["totals"]["items"] > 2 * small["partition_items"]
    for other in (local, dask):
        assert other.manifest_bytes == here.manifest_bytes
        assert [p.data for p in other.manifest.parts] == [p.data for p in here.manifest.parts]
        assert other.report == here.report


def _drop_block(store: EmbeddedStore, content: bytes) -> None:
    """Delete a small item's one block, so no store here can give it (a fault, not a hostile peer)."""
    store._path(compute_cid(content).cid).unlink()


def test_the_first_unavailable_item_in_order_stops_the_build_wherever_it_ran(
    chain: Chain, tmp_path: Path
) -> None:
    s, ids = governed(chain, tmp_path / "store")
    alice = s.contributor(6)
    contents = [f"item {i} ".encode() * 9 for i in range(6)]
    items = [s.item(alice, c) for c in contents]
    s.decide(ids["ds"], items, {s.signer(1): 1})
    for i in (4, 2):  # two missing: the earlier one in order must be named
        _drop_block(s.store, contents[i])
    messages = []
    for settings in ({"build_workers": 1}, {"build_workers": 2, "partition_items": 1}):
        with pytest.raises(ContentUnavailable) as caught:
            build_release(s.session(**settings), ids["ds"])
        messages.append(str(caught.value))
    assert messages[0] == messages[1]
    assert item_ref(items[2]) in messages[0]
    assert item_ref(items[4]) not in messages[0]


class _Wrapper(EmbeddedStore):
    """A store a test gave: another process could not reproduce it, so its reads stay here."""


def test_a_store_another_process_cannot_open_is_read_in_this_process(tmp_path: Path) -> None:
    store = _Wrapper(tmp_path / "blocks")
    assert store.spec() is None
    assert EmbeddedStore(tmp_path / "blocks").spec() == StoreSpec(
        "embedded", str((tmp_path / "blocks").absolute())
    )
    data = [f"content {i}".encode() for i in range(4)]
    jobs = []
    for i, d in enumerate(data):
        put = store.put_bytes(d)
        jobs.append(ItemJob(i + 1, put.cid.to_bytes(), len(d), hashlib.sha256(d).digest()))
    with Partitioner(workers=2) as partitioner:
        reads = list(partitioner.map(check_items, store, chunked(jobs, 1)))
    assert partitioner.ran == ["this process"]
    assert [r.item_id for r in reads] == [1, 2, 3, 4]
    assert all(r.check is not None and r.check.ok for r in reads)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_an_unreachable_scheduler_stops_with_a_clear_error(tmp_path: Path) -> None:
    store = EmbeddedStore(tmp_path / "blocks")
    jobs = [ItemJob(i, b"", 1, b"") for i in (1, 2)]
    address = f"tcp://127.0.0.1:{_free_port()}"
    with (
        Partitioner(scheduler=address, connect_timeout=1) as partitioner,
        pytest.raises(PartitionError) as caught,
    ):
        list(partitioner.map(check_items, store, chunked(jobs, 1)))
    assert address in str(caught.value)
    assert "CURATION_DASK_SCHEDULER" in str(caught.value)


def _die(source: Any, part: list[int]) -> list[int]:
    os._exit(3)  # a worker process killed mid-partition (out of memory, a signal): a fault, not an input


def test_a_worker_process_that_dies_stops_the_map_with_a_partition_error(tmp_path: Path) -> None:
    store = EmbeddedStore(tmp_path / "blocks")
    with Partitioner(workers=2) as partitioner, pytest.raises(PartitionError, match="worker process died"):
        list(partitioner.map(_die, store, [[1], [2]]))


def test_chunked_keeps_order_and_refuses_empty_partitions() -> None:
    assert chunked([1, 2, 3, 4, 5], 2) == [[1, 2], [3, 4], [5]]
    assert chunked([], 3) == []
    with pytest.raises(ConfigError):
        chunked([1], 0)


def test_a_spec_of_an_unknown_kind_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown content store kind"):
        StoreSpec("s3", str(tmp_path)).open()
