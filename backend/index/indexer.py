"""The sync loop: fetch confirmed logs range by range, store them with the cursor, roll back on reorgs."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Protocol

from backend.chain.logs import BlockRef, LogBatch, RawLog
from backend.errors import ConfigError
from backend.index.errors import ChainUnsettledError, IndexerError, ReorgTooDeepError
from backend.index.store import DeploymentKey, IndexDb

__all__ = ["DEFAULT_MAX_REORG_DEPTH", "Indexer", "LogSource", "Reorg", "SyncProgress", "SyncResult"]

#: Turns without progress tolerated within one sync call before giving up: rollbacks, and re-reads after the
#: chain above the cursor changed between two answers (a node flapping between forks, or still syncing).
MAX_REORGS_PER_SYNC = 16
#: The deepest reorg rolled back without asking (settings.max_reorg_depth, CURATION_MAX_REORG_DEPTH). Ethereum
#: finalises after 64 blocks; Polygon PoS has reorganised 157 blocks deep. Anything deeper is more likely a
#: node on another chain (a restarted development node) than a reorg, so the indexer stops and says so.
DEFAULT_MAX_REORG_DEPTH = 256


class LogSource(Protocol):
    """What the indexer needs from a node (backend.chain.logs.RpcLogFetcher is the real one)."""

    def chain_id(self) -> int: ...

    def head(self) -> int: ...

    def block(self, number: int) -> BlockRef | None: ...

    def fetch(self, from_block: int, to_block: int) -> LogBatch: ...


@dataclass(frozen=True)
class Reorg:
    """A rollback: the cursor was at `old_block`, the highest still-canonical recorded block is `ancestor`."""

    old_block: int
    ancestor: int
    logs_removed: int

    @property
    def depth(self) -> int:
        return self.old_block - self.ancestor


@dataclass(frozen=True)
class SyncProgress:
    """Handed to the progress callback after every committed batch."""

    first_block: int
    target_block: int
    cursor_block: int
    logs_added: int

    @property
    def total(self) -> int:
        return max(0, self.target_block - self.first_block + 1)

    @property
    def done(self) -> int:
        return max(0, min(self.total, self.cursor_block - self.first_block + 1))


@dataclass
class SyncResult:
    """What one sync call did."""

    head: int
    target_block: int
    cursor_block: int | None
    logs_added: int = 0
    batches: int = 0
    reorgs: list[Reorg] = field(default_factory=list)
    #: First blocks of batches whose parentHash does not name the cursor block although the node still says
    #: the same hashes for both when asked again: not a reorg (Hardhat's `hardhat_mine` does this).
    unlinked: list[int] = field(default_factory=list)
    #: Times the chain above the cursor changed between two answers, so a batch was fetched again.
    refetches: int = 0

    @property
    def logs_removed(self) -> int:
        return sum(r.logs_removed for r in self.reorgs)


class Indexer:
    """Keeps a database of the raw logs of one deployment's contracts in step with the chain.

    `start_block` is the deployment block; only blocks at least `confirmations` deep are stored;
    each eth_getLogs asks for at most `max_range` blocks (the fetcher may ask for fewer); a reorg deeper
    than `max_reorg_depth` blocks stops the sync with ReorgTooDeepError instead of being rolled back.
    `owns_fetcher`: `close()` closes the fetcher too. `read_only`: only read a database another process
    writes (nothing is created or bound; sync and reset are refused).
    """

    def __init__(
        self,
        db_url: str,
        fetcher: LogSource,
        addresses: Iterable[str],
        start_block: int,
        confirmations: int = 0,
        max_range: int = 2000,
        chain_id: int | None = None,
        max_reorg_depth: int = DEFAULT_MAX_REORG_DEPTH,
        *,
        owns_fetcher: bool = False,
        read_only: bool = False,
    ) -> None:
        if start_block < 0 or confirmations < 0 or max_range < 1:
            raise ConfigError("start_block and confirmations must be >= 0 and max_range >= 1")
        if max_reorg_depth < 1:
            raise ConfigError(f"max_reorg_depth must be >= 1, got {max_reorg_depth}")
        addrs = tuple(sorted({a.lower() for a in addresses}))
        if not addrs:
            raise ConfigError("the indexer needs at least one contract address")
        theirs = getattr(fetcher, "addresses", None)
        if theirs is not None and tuple(sorted({a.lower() for a in theirs})) != addrs:
            raise ConfigError("the fetcher reads other contract addresses than the indexer stores")
        self.fetcher = fetcher
        self.start_block = start_block
        self.confirmations = confirmations
        self.max_range = max_range
        self.max_reorg_depth = max_reorg_depth
        self.chain_id = fetcher.chain_id() if chain_id is None else chain_id
        self.key = DeploymentKey(self.chain_id, addrs, start_block)
        self.read_only = read_only
        self._owns_fetcher = owns_fetcher
        self.db = IndexDb(db_url, read_only=read_only)
        try:
            self.db.bind(self.key)
        except BaseException:
            self.db.close()
            raise

    def close(self) -> None:
        self.db.close()
        close = getattr(self.fetcher, "close", None) if self._owns_fetcher else None
        if close is not None:
            close()

    def _writable(self, what: str) -> None:
        if self.read_only:
            raise IndexerError(f"this indexer only reads {self.db.url}: it cannot {what}")

    # --- reads ----------------------------------------------------------------------------------------------
    def state_block(self) -> BlockRef | None:
        """The block up to which the index is complete (None before the first batch)."""
        return self.db.cursor()

    def logs(self, to_block: int | None = None) -> list[RawLog]:
        """Stored logs up to `to_block` (default: all), ordered by (block, log index)."""
        return self.db.logs(to_block)

    def dump(self) -> bytes:
        """Canonical bytes of the whole index: equal for equal indexed states, whatever the history."""
        return self.db.dump()

    def reset(self) -> None:
        """Forget everything indexed; the next sync starts again at the start block."""
        self._writable("reset")
        self.db.reset()

    # --- sync -----------------------------------------------------------------------------------------------
    def sync(
        self, progress: Callable[[SyncProgress], None] | None = None, to_block: int | None = None
    ) -> SyncResult:
        """Catch up with the chain (up to its head minus the confirmations, or `to_block` if lower)."""
        self._writable("sync (it was opened read-only)")
        head = self.fetcher.head()
        target = head - self.confirmations
        if to_block is not None:
            target = min(target, to_block)
        cursor = self.db.cursor()
        result = SyncResult(head=head, target_block=target, cursor_block=cursor.number if cursor else None)
        cursor = self._reconcile(cursor, result)
        first = cursor.number + 1 if cursor else self.start_block
        if progress is not None:
            progress(SyncProgress(first, target, first - 1, 0))
        while True:
            nxt = cursor.number + 1 if cursor else self.start_block
            if nxt > target:
                break
            batch = self.fetcher.fetch(nxt, min(target, nxt + self.max_range - 1))
            if batch.from_block != nxt or not nxt <= batch.to_block <= target:
                raise IndexerError(
                    f"the log source broke its contract: it answered blocks {batch.from_block}.."
                    f"{batch.to_block} when asked for {nxt}..{min(target, nxt + self.max_range - 1)}"
                )
            if cursor is not None and batch.first.parent_hash != cursor.hash:
                moved = self._relink(cursor, batch.first, result)
                if moved is not None:
                    cursor = moved.cursor
                    continue
            self.db.commit(batch, self.chain_id, cursor)
            cursor = batch.last
            result.cursor_block = cursor.number
            result.logs_added += len(batch.logs)
            result.batches += 1
            if progress is not None:
                progress(SyncProgress(first, target, cursor.number, result.logs_added))
        return result

    def follow(
        self,
        poll_interval: float = 2.0,
        progress: Callable[[SyncProgress], None] | None = None,
        on_sync: Callable[[SyncResult], None] | None = None,
        stop: Callable[[], bool] | None = None,
    ) -> None:
        """Sync, then keep syncing every `poll_interval` seconds until `stop()` says so (or forever)."""
        while True:
            result = self.sync(progress)
            if on_sync is not None:
                on_sync(result)
            if stop is not None and stop():
                return
            time.sleep(poll_interval)

    # --- reorgs ---------------------------------------------------------------------------------------------
    def _canonical(self, ref: BlockRef, seen: dict[int, BlockRef | None] | None = None) -> bool:
        node = self.fetcher.block(ref.number)
        if seen is not None:
            seen[ref.number] = node
        return node is not None and node.hash == ref.hash

    def _relink(self, cursor: BlockRef, first: BlockRef, result: SyncResult) -> _Moved | None:
        """The batch's first block does not name the cursor as its parent: reorg, moving chain, or neither?

        Both hashes are read again by number. The cursor's changed: a reorg, roll back. The first block's
        changed: the chain above the cursor moved between two answers, fetch the batch again. Neither: the
        node's parentHash does not link its blocks (Hardhat's `hardhat_mine` reports a zero parentHash for
        most blocks it mines in one go) but its chain is the one we read, so the batch stands (None).
        Every turn without progress counts against MAX_REORGS_PER_SYNC: this never loops for ever.
        """
        if not self._canonical(cursor):
            return _Moved(self._reconcile(cursor, result, known_stale=True))
        node = self.fetcher.block(first.number)
        if node is not None and node.hash == first.hash:
            result.unlinked.append(first.number)
            return None
        result.refetches += 1
        now = "no such block" if node is None else node.hash
        self._check_turns(
            result,
            f"block {first.number} was {first.hash} in one answer and {now} in the next, above the "
            f"unchanged block {cursor.number} {cursor.hash}",
        )
        return _Moved(cursor)

    def _check_turns(self, result: SyncResult, last: str) -> None:
        turns = len(result.reorgs) + result.refetches
        if turns >= MAX_REORGS_PER_SYNC:
            raise ChainUnsettledError(
                f"the chain changed {turns} times during one sync ({len(result.reorgs)} rollbacks, "
                f"{result.refetches} batches read again; last: {last}). Is the node flapping between forks "
                "or still syncing? Check its eth_syncing and its peers, or point --rpc at a settled node"
            )

    def _reconcile(
        self, cursor: BlockRef | None, result: SyncResult, known_stale: bool = False
    ) -> BlockRef | None:
        """Roll back to the highest recorded block still on the node's chain, if the cursor is not."""
        if cursor is None or (not known_stale and self._canonical(cursor)):
            return cursor
        self._check_turns(result, f"block {cursor.number} {cursor.hash} left the node's chain")
        recorded = self.db.recorded_blocks()
        ancestor = self._highest_canonical(recorded, cursor)
        if ancestor is not None and ancestor.number == cursor.number:
            # The cursor is canonical after all (a passing fork seen by one answer): count the turn.
            result.refetches += 1
            return cursor
        removed = self.db.rollback(ancestor, self.chain_id, cursor)
        floor = ancestor.number if ancestor else self.start_block - 1
        result.reorgs.append(Reorg(cursor.number, floor, removed))
        result.cursor_block = ancestor.number if ancestor else None
        return ancestor

    def _highest_canonical(self, recorded: list[BlockRef], cursor: BlockRef) -> BlockRef | None:
        """Gallop down from the top, then bisect: O(log depth) block lookups.

        A recorded block on the node's chain implies every lower one is (blocks chain by parent hash),
        so the canonical ones form a prefix of `recorded`. A recorded block off the node's chain more than
        `max_reorg_depth` blocks below the cursor stops the search with ReorgTooDeepError.
        """
        seen: dict[int, BlockRef | None] = {}
        top = len(recorded) - 1
        lo, hi, step = -1, top + 1, 1
        while top - step + 1 >= 0:
            j = top - step + 1
            if self._canonical(recorded[j], seen):
                lo = j
                break
            self._check_depth(cursor, recorded[j], seen)
            hi = j
            step *= 2
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if self._canonical(recorded[mid], seen):
                lo = mid
            else:
                self._check_depth(cursor, recorded[mid], seen)
                hi = mid
        return recorded[lo] if lo >= 0 else None

    def _check_depth(self, cursor: BlockRef, gone: BlockRef, seen: dict[int, BlockRef | None]) -> None:
        """ReorgTooDeepError when the recorded block `gone`, off the node's chain, is too far below the cursor.

        Only blocks with logs (and the cursor) are recorded, so `cursor - gone + 1` is a lower bound of the
        reorg's depth: the limit never stops a shallower reorg.
        """
        depth = cursor.number - gone.number + 1
        if depth <= self.max_reorg_depth:
            return
        node = seen.get(gone.number)
        now = "has no such block" if node is None else f"has {node.hash}"
        raise ReorgTooDeepError(
            f"the index recorded block {gone.number} as {gone.hash}, but the node {now} there: a reorg at least "
            f"{depth} blocks deep below the index's block {cursor.number} {cursor.hash}, more than "
            f"max_reorg_depth ({self.max_reorg_depth}). Check that --rpc points at the chain this index was "
            "built from (a restarted development node is a new chain: index it into a new --db); if the chain "
            "really reorganised this deep, raise CURATION_MAX_REORG_DEPTH and sync again"
        )


@dataclass(frozen=True)
class _Moved:
    """Where the sync loop goes on after a parent-hash mismatch that was not a quirk of the node."""

    cursor: BlockRef | None
