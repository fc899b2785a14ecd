"""The one chain -> index -> fold path: sync (or only read) a deployment's index, fold its logs at a block.

Stable interface (backend/api codes against it): `fold_at(session, block=None, *, sync) -> FoldedChain`,
`admit_accepted_batches(session, state) -> list[str]`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from backend.chain.blocks import block_header
from backend.chain.decode import EventDecoder
from backend.errors import Retryable, StoreError
from backend.index import IndexEmptyError, Indexer, SyncProgress, indexed_contracts, open_indexer
from backend.ipfs import ContentStore
from backend.ipfs.checks import BatchJob, read_batches
from backend.partition import Partitioner, chunked
from backend.session import Session
from curation.cid import CID
from curation.errors import InvalidInput
from curation.manifest import ChainContext
from curation.selection import needed_batches
from curation.state import ChainState, admit_leaves, fold_events

__all__ = [
    "BatchUnavailable",
    "FoldedChain",
    "StateBlockAhead",
    "admit_accepted_batches",
    "admit_dataset_batches",
    "chain_context",
    "fold_at",
    "fold_index",
]


class StateBlockAhead(InvalidInput, Retryable):
    """The block asked for is above the block the index is complete to (head minus confirmations)."""


class BatchUnavailable(StoreError):
    """A batch that a dataset's accepted proposal includes has a manifest no store here can give."""


@dataclass(frozen=True)
class FoldedChain:
    """The chain state at one block, with what a manifest records about that block (ChainContext)."""

    state: ChainState
    context: ChainContext

    @property
    def block(self) -> int:
        return self.context.state_block


def chain_context(session: Session, block: int) -> ChainContext:
    """The chain id, the indexed contracts and block `block`'s hash and timestamp, as a manifest records them."""
    header = block_header(session.w3, block)
    return ChainContext(
        chain_id=session.deployment.chain_id,
        contracts={name: address.lower() for name, address in indexed_contracts(session.deployment).items()},
        state_block=block,
        state_block_hash=header.hash,
        state_timestamp=header.timestamp,
    )


def fold_index(session: Session, indexer: Indexer, block: int) -> ChainState:
    """Decode the logs `indexer` holds up to `block` and fold them (no content is read: batches stay headers)."""
    decoder = EventDecoder(indexed_contracts(session.deployment))
    return fold_events(decoder.decode_all(indexer.logs(block)), block)


def fold_at(
    session: Session,
    block: int | None = None,
    *,
    sync: bool,
    db_url: str | None = None,
    progress: Callable[[SyncProgress], None] | None = None,
) -> FoldedChain:
    """The chain state at `block` (default: the block the index is complete to), folded from the index.

    `sync=True` first brings the index up to `block` (or to the head minus the confirmations); `sync=False`
    only reads the index another process keeps current, and never writes to it. `db_url` overrides the
    settings' database ("sqlite://": a fresh in-memory index). StateBlockAhead when `block` is above what
    the index holds; IndexEmptyError before the deployment block is indexed.
    """
    indexer = open_indexer(session, db_url, read_only=not sync)
    try:
        if sync:
            indexer.sync(progress=progress, to_block=block)
        cursor = indexer.state_block()
        if cursor is None:
            raise IndexEmptyError("the index is empty: the deployment block is not confirmed yet")
        at = cursor.number if block is None else block
        if at > cursor.number:
            raise StateBlockAhead(f"state block {at} is beyond the confirmed head {cursor.number}")
        state = fold_index(session, indexer, at)
    finally:
        indexer.close()
    return FoldedChain(state, chain_context(session, at))


def admit_dataset_batches(
    store: ContentStore,
    state: ChainState,
    dataset_id: int,
    *,
    max_bytes: int,
    only: int | None = None,
    partitioner: Partitioner | None = None,
    partition_batches: int = 8,
) -> None:
    """Read the manifests of the batches the dataset's accepted proposals include (and no other).

    A manifest that is not the batch's, malformed, or larger than the format allows for its leaf count marks
    the batch invalid (the same on every machine); one that no store here can give, or that is over the
    operator's `max_bytes`, stops the release with the batch, the proposal and the remedies. With a
    `partitioner`, manifests are read and verified `partition_batches` at a time where it runs them; leaves
    are admitted here, in batch order, so the state is the same wherever they were read.
    """
    needed = {
        batch_id: proposal_id
        for batch_id, proposal_id in needed_batches(state, dataset_id).items()
        if (only is None or batch_id == only) and not state.batches[batch_id].loaded
    }
    jobs = [
        BatchJob(b, state.batches[b].manifest_cid, state.batches[b].root, state.batches[b].count)
        for b in needed
    ]
    run = partitioner or Partitioner(workers=1)
    for read in run.map(read_batches, store, chunked(jobs, partition_batches), max_bytes):
        if read.unavailable is not None:
            cid = CID.parse(state.batches[read.batch_id].manifest_cid)
            raise BatchUnavailable(
                f"batch {read.batch_id}, included in dataset {dataset_id} by proposal {needed[read.batch_id]}, "
                f"has a manifest ({cid}) that cannot be read here: {read.unavailable}. A release is a pure "
                "function of chain logs and content verified by hash, so it waits for that manifest: add its "
                "bytes to the store (`curation ipfs add FILE`), point CURATION_IPFS at an IPFS node that has "
                f"it, or have the curators accept a REMOVE of batch {read.batch_id}"
            )
        admit_leaves(state, read.batch_id, read.manifest if read.manifest is not None else str(read.problem))


def admit_accepted_batches(session: Session, state: ChainState) -> list[str]:
    """For reading (the API): admit every batch some dataset needs; return why any could not be read.

    Unlike a release, a read model must not stop when one batch is unreadable: that batch stays a header
    (its leaves are not listed) and the reason is returned for the log.
    """
    store = session.need_store()
    problems: list[str] = []
    for dataset_id in sorted(state.datasets):
        for batch_id in needed_batches(state, dataset_id):
            if state.batches[batch_id].loaded:
                continue
            try:
                admit_dataset_batches(
                    store,
                    state,
                    dataset_id,
                    max_bytes=session.settings.max_batch_manifest_bytes,
                    only=batch_id,
                )
            except BatchUnavailable as exc:
                problems.append(str(exc))
    return problems
