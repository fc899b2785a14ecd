"""Tables of the index (SQLAlchemy Core, portable types: the same schema on SQLite and PostgreSQL)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, Integer, MetaData, String, Table, Text, UniqueConstraint

__all__ = ["SCHEMA_VERSION", "blocks", "cursor", "deployment", "metadata", "raw_logs"]

#: Bumped whenever a table changes shape; a database of another version is refused, not migrated.
SCHEMA_VERSION = 1

metadata = MetaData()

#: Which deployment this database indexes (one row, id 1): a database is never shared between two.
deployment = Table(
    "index_deployment",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("schema_version", Integer, nullable=False),
    Column("chain_id", BigInteger, nullable=False),
    Column("start_block", BigInteger, nullable=False),
    Column("addresses", Text, nullable=False),  # sorted lowercase 0x addresses joined by ","
)

#: Every log of the deployment's contracts on the canonical chain up to the cursor, undecoded.
#: Hashes, addresses, topics and data are lowercase 0x hex; absent topics are NULL.
raw_logs = Table(
    "raw_logs",
    metadata,
    Column("block_number", BigInteger, primary_key=True, autoincrement=False),
    Column("log_index", Integer, primary_key=True, autoincrement=False),
    Column("chain_id", BigInteger, nullable=False),
    Column("block_hash", String(66), nullable=False),
    Column("tx_hash", String(66), nullable=False),
    Column("tx_index", Integer, nullable=False),
    Column("address", String(42), nullable=False),
    Column("topic0", String(66)),
    Column("topic1", String(66)),
    Column("topic2", String(66)),
    Column("topic3", String(66)),
    Column("data", Text, nullable=False),
    UniqueConstraint("block_hash", "log_index", name="uq_raw_logs_block_hash_log_index"),
    Index("ix_raw_logs_address_topic0", "address", "topic0"),
)

#: The blocks the indexer must be able to re-check for reorgs: each block holding a stored log, plus the
#: cursor block. Nothing else, so the table grows with the logs, not with the chain.
blocks = Table(
    "blocks",
    metadata,
    Column("block_number", BigInteger, primary_key=True, autoincrement=False),
    Column("block_hash", String(66), nullable=False),
    Column("parent_hash", String(66), nullable=False),
)

#: How far the index is complete (one row, id 1): every log of blocks start_block..block_number is stored.
cursor = Table(
    "cursor",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("chain_id", BigInteger, nullable=False),
    Column("block_number", BigInteger, nullable=False),
    Column("block_hash", String(66), nullable=False),
)
