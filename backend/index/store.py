"""The index database: raw logs, reorg-check blocks and the cursor, each change in one transaction."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Connection,
    Table,
    delete,
    func,
    insert,
    inspect,
    select,
    text,
    update,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from backend.chain.logs import BlockRef, LogBatch, RawLog
from backend.db import open_engine
from backend.index import schema
from backend.index.errors import IndexDatabaseError, IndexEmptyError, IndexMismatchError

__all__ = ["DeploymentKey", "IndexDb", "canonical_dump"]

#: PostgreSQL advisory lock (per database) every write transaction of the index takes first. Any constant
#: works; this one is the first 8 bytes of sha256(b"curation-commons backend.index writer") as a signed int.
WRITER_LOCK = -0x2EFC_5503_01A6_F76B


@dataclass(frozen=True)
class DeploymentKey:
    """What a database is built for: chain, contract addresses (sorted, lowercase) and first block."""

    chain_id: int
    addresses: tuple[str, ...]
    start_block: int

    def describe(self) -> str:
        shown = ", ".join(self.addresses)
        return (
            f"chain {self.chain_id}, {len(self.addresses)} contracts ({shown}), from block {self.start_block}"
        )


#: The columns of a raw_logs row, in the order _log_row gives their values (the table's, so that SQLite's
#: statement takes the rows as they are).
_LOG_COLUMNS = (
    "block_number",
    "log_index",
    "chain_id",
    "block_hash",
    "tx_hash",
    "tx_index",
    "address",
    "topic0",
    "topic1",
    "topic2",
    "topic3",
    "data",
)
_BLOCK_COLUMNS = ("block_number", "block_hash", "parent_hash")
_NO_TOPICS = (None, None, None, None)


def _log_row(log: RawLog, chain_id: int) -> tuple[Any, ...]:
    """The values of `log`'s row, in _LOG_COLUMNS order (absent topics NULL)."""
    topics = log.topics
    return (
        log.block_number,
        log.log_index,
        chain_id,
        log.block_hash,
        log.tx_hash,
        log.tx_index,
        log.address,
        *topics,
        *_NO_TOPICS[len(topics) :],
        log.data,
    )


def _insert_many(
    conn: Connection, table: Table, columns: tuple[str, ...], rows: Sequence[tuple[Any, ...]]
) -> None:
    """INSERT `rows` (values in `columns` order) with one driver executemany, skipping SQLAlchemy's per-row
    parameter processing.

    That processing costs more than the inserts themselves here; it does nothing for these columns
    (integers and strings only, no type conversions), so the driver gets the same values either way. Rows
    go to a positional driver (SQLite) as they are when the statement takes the columns in that order.
    """
    compiled = insert(table).compile(dialect=conn.dialect, column_keys=list(columns))
    if compiled.positional:
        order = tuple(compiled.positiontup or ())
        if order != columns:
            where = [columns.index(k) for k in order]
            rows = [tuple(row[i] for i in where) for row in rows]
        conn.exec_driver_sql(compiled.string, list(rows))
    else:
        conn.exec_driver_sql(compiled.string, [dict(zip(columns, row, strict=True)) for row in rows])


def _raw_log(row: Any) -> RawLog:
    topics = tuple(t for t in (row.topic0, row.topic1, row.topic2, row.topic3) if t is not None)
    return RawLog(
        block_number=int(row.block_number),
        block_hash=row.block_hash,
        tx_hash=row.tx_hash,
        tx_index=int(row.tx_index),
        log_index=int(row.log_index),
        address=row.address,
        topics=topics,
        data=row.data,
    )


def canonical_dump(cursor: BlockRef | None, blocks: Sequence[BlockRef], logs: Sequence[RawLog]) -> bytes:
    """One JSON object per line (keys sorted): the cursor, then blocks, then logs, each in order."""
    lines = [json.dumps({"cursor": None if cursor is None else [cursor.number, cursor.hash]})]
    lines += [json.dumps({"block": [b.number, b.hash, b.parent_hash]}) for b in blocks]
    lines += [
        json.dumps(
            {
                "log": [
                    log.block_number,
                    log.log_index,
                    log.block_hash,
                    log.tx_hash,
                    log.tx_index,
                    log.address,
                ],
                "topics": list(log.topics),
                "data": log.data,
            },
            sort_keys=True,
        )
        for log in logs
    ]
    return ("\n".join(lines) + "\n").encode()


class IndexDb:
    """All reads and writes of the index database; every write is one transaction.

    `read_only` opens a database another process writes: nothing is created, bound or written.
    """

    def __init__(self, db_url: str, *, read_only: bool = False) -> None:
        self.url = db_url
        self.read_only = read_only
        self.engine = open_engine(db_url)
        self._postgres = self.engine.dialect.name == "postgresql"
        # Reads of several statements (dump) see one snapshot. SQLite's read transactions already do;
        # PostgreSQL's READ COMMITTED gives each statement its own, so those reads use REPEATABLE READ.
        self._snapshot_engine = (
            self.engine.execution_options(isolation_level="REPEATABLE READ")
            if self._postgres
            else self.engine
        )
        self._shown = make_url(db_url).render_as_string(hide_password=True)
        if not read_only:
            with self._tx("create the index tables") as conn:
                self._serialize(conn)
                schema.metadata.create_all(conn)

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def _tx(self, what: str, snapshot: bool = False) -> Iterator[Connection]:
        try:
            with (self._snapshot_engine if snapshot else self.engine).begin() as conn:
                yield conn
        except SQLAlchemyError as exc:
            raise IndexDatabaseError(
                f"could not {what} in {self._shown}: {exc.__class__.__name__}: {exc}"
            ) from None

    def _serialize(self, conn: Connection) -> None:
        """Make write transactions on one database run one at a time (PostgreSQL; SQLite already does).

        SQLite lets one transaction write at a time, and a writer whose reads went stale fails instead of
        committing. PostgreSQL's READ COMMITTED would let two indexers both pass the cursor check and then
        both write the same blocks (the later one silently deleting and redoing the other's batch), and two
        first starts race on CREATE TABLE. Taking one transaction-scoped advisory lock first queues them:
        the next writer's statements then see the previous commit, so its cursor check fails cleanly.
        """
        if self._postgres:
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": WRITER_LOCK})

    # --- deployment key -------------------------------------------------------------------------------------
    def bind(self, key: DeploymentKey) -> None:
        """Record `key` in a new database, or refuse a database built for another deployment.

        Read-only, a database that holds no index yet is IndexEmptyError (nothing is recorded).
        """
        with self._tx("read the deployment key") as conn:
            if self.read_only and not inspect(conn).has_table(schema.deployment.name):
                raise IndexEmptyError(
                    f"database {self._shown} holds no index yet: run `curation index` first"
                )
            if not self.read_only:
                self._serialize(conn)
            row = conn.execute(select(schema.deployment).where(schema.deployment.c.id == 1)).first()
            if row is None and self.read_only:
                raise IndexEmptyError(
                    f"database {self._shown} holds no index yet: run `curation index` first"
                )
            if row is None:
                conn.execute(
                    insert(schema.deployment).values(
                        id=1,
                        schema_version=schema.SCHEMA_VERSION,
                        chain_id=key.chain_id,
                        start_block=key.start_block,
                        addresses=",".join(key.addresses),
                    )
                )
                return
        if row.schema_version != schema.SCHEMA_VERSION:
            raise IndexMismatchError(
                f"database {self._shown} has index schema {row.schema_version}, this version writes "
                f"{schema.SCHEMA_VERSION}: point --db at a new database and index again"
            )
        stored = DeploymentKey(int(row.chain_id), tuple(row.addresses.split(",")), int(row.start_block))
        if stored != key:
            raise IndexMismatchError(
                f"database {self._shown} indexes {stored.describe()}, not {key.describe()}: "
                "use another --db for this deployment (or delete that database)"
            )

    # --- reads ----------------------------------------------------------------------------------------------
    def cursor(self) -> BlockRef | None:
        with self._tx("read the cursor") as conn:
            return self._cursor(conn)

    @staticmethod
    def _cursor(conn: Connection) -> BlockRef | None:
        c, b = schema.cursor, schema.blocks
        row = conn.execute(
            select(c.c.block_number, c.c.block_hash, b.c.parent_hash)
            .select_from(c.outerjoin(b, b.c.block_number == c.c.block_number))
            .where(c.c.id == 1)
        ).first()
        if row is None:
            return None
        return BlockRef(int(row.block_number), row.block_hash, row.parent_hash or "")

    def recorded_blocks(self) -> list[BlockRef]:
        """The blocks kept for reorg checks, ascending."""
        b = schema.blocks
        with self._tx("read the recorded blocks") as conn:
            rows = conn.execute(select(b).order_by(b.c.block_number)).all()
        return [BlockRef(int(r.block_number), r.block_hash, r.parent_hash) for r in rows]

    def logs(self, to_block: int | None = None) -> list[RawLog]:
        t = schema.raw_logs
        query = select(t).order_by(t.c.block_number, t.c.log_index)
        if to_block is not None:
            query = query.where(t.c.block_number <= to_block)
        with self._tx("read the stored logs") as conn:
            return [_raw_log(row) for row in conn.execute(query)]

    def count_logs(self) -> int:
        with self._tx("count the stored logs") as conn:
            return int(conn.execute(select(func.count()).select_from(schema.raw_logs)).scalar_one())

    def dump(self) -> bytes:
        """The canonical dump of everything stored (see canonical_dump), read in one transaction."""
        t, b = schema.raw_logs, schema.blocks
        with self._tx("dump the index", snapshot=True) as conn:
            cur = self._cursor(conn)
            blocks = [
                BlockRef(int(r.block_number), r.block_hash, r.parent_hash)
                for r in conn.execute(select(b).order_by(b.c.block_number))
            ]
            logs = [_raw_log(r) for r in conn.execute(select(t).order_by(t.c.block_number, t.c.log_index))]
        return canonical_dump(cur, blocks, logs)

    # --- writes ---------------------------------------------------------------------------------------------
    def _expect_cursor(self, conn: Connection, expected: BlockRef | None) -> None:
        found = self._cursor(conn)
        if (found and (found.number, found.hash)) != (expected and (expected.number, expected.hash)):
            raise IndexDatabaseError(
                f"the cursor in {self._shown} moved underneath this indexer (another indexer writing?)"
            )

    def _set_cursor(self, conn: Connection, ref: BlockRef | None, chain_id: int) -> None:
        c = schema.cursor
        if ref is None:
            conn.execute(delete(c))
            return
        values = {"chain_id": chain_id, "block_number": ref.number, "block_hash": ref.hash}
        if conn.execute(update(c).where(c.c.id == 1).values(**values)).rowcount == 0:
            conn.execute(insert(c).values(id=1, **values))

    def commit(self, batch: LogBatch, chain_id: int, previous: BlockRef | None) -> None:
        """Store a whole batch and move the cursor to its last block, all or nothing."""
        t, b = schema.raw_logs, schema.blocks
        with self._tx(f"store blocks {batch.from_block}..{batch.to_block}") as conn:
            self._serialize(conn)
            self._expect_cursor(conn, previous)
            # Anything at or above the batch's first block is stale (a crash can leave none, a bug could).
            conn.execute(delete(t).where(t.c.block_number >= batch.from_block))
            conn.execute(delete(b).where(b.c.block_number >= batch.from_block))
            if batch.logs:
                _insert_many(conn, t, _LOG_COLUMNS, [_log_row(log, chain_id) for log in batch.logs])
            keep = {ref.number: ref for ref in batch.blocks}
            keep[batch.last.number] = batch.last
            _insert_many(conn, b, _BLOCK_COLUMNS, [(r.number, r.hash, r.parent_hash) for r in keep.values()])
            if previous is not None:
                # The old cursor block stays only while a stored log needs it for reorg checks.
                has_logs = conn.execute(
                    select(t.c.log_index).where(t.c.block_number == previous.number).limit(1)
                )
                if has_logs.first() is None:
                    conn.execute(delete(b).where(b.c.block_number == previous.number))
            self._set_cursor(conn, batch.last, chain_id)

    def rollback(self, ancestor: BlockRef | None, chain_id: int, previous: BlockRef | None) -> int:
        """Forget everything above `ancestor` (everything, when None); returns how many logs went."""
        t, b = schema.raw_logs, schema.blocks
        floor = -1 if ancestor is None else ancestor.number
        with self._tx(f"roll back to block {floor}") as conn:
            self._serialize(conn)
            self._expect_cursor(conn, previous)
            removed = conn.execute(delete(t).where(t.c.block_number > floor)).rowcount
            conn.execute(delete(b).where(b.c.block_number > floor))
            self._set_cursor(conn, ancestor, chain_id)
        return int(removed)

    def reset(self) -> None:
        """Forget every log, block and the cursor (the deployment key stays)."""
        with self._tx("reset the index") as conn:
            self._serialize(conn)
            for table in (schema.raw_logs, schema.blocks, schema.cursor):
                conn.execute(delete(table))
