"""`python -m backend.index`: run the indexer on an RPC URL without the CLI (scripts, crash tests)."""

from __future__ import annotations

import argparse
import sys

from backend.chain.rpc import DEFAULT_MAX_ANSWER_BYTES, RpcLimits
from backend.index.indexer import DEFAULT_MAX_REORG_DEPTH
from backend.index.opener import DEFAULT_MAX_RANGE, IndexParts, open_indexer
from curation.errors import CurationError

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    """Sync once (or follow) and print one summary line; errors become one line on stderr and exit 1."""
    parser = argparse.ArgumentParser(prog="python -m backend.index", description=__doc__)
    parser.add_argument("--rpc", required=True, help="EVM JSON-RPC URL")
    parser.add_argument("--db", required=True, help="database URL (sqlite:///path or postgresql://...)")
    parser.add_argument("--address", action="append", required=True, help="contract address (repeatable)")
    parser.add_argument("--start-block", type=int, required=True)
    parser.add_argument("--confirmations", type=int, default=0)
    parser.add_argument("--max-range", type=int, default=DEFAULT_MAX_RANGE)
    parser.add_argument("--verify", choices=["receipts", "bloom", "none"], default="bloom")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for each read")
    parser.add_argument("--connect-timeout", type=float, default=5.0, help="seconds to connect")
    parser.add_argument("--retry-time", type=float, default=60.0, help="most seconds one call may take")
    parser.add_argument("--max-answer-bytes", type=int, default=DEFAULT_MAX_ANSWER_BYTES)
    parser.add_argument("--max-reorg-depth", type=int, default=DEFAULT_MAX_REORG_DEPTH)
    parser.add_argument("--follow", action="store_true")
    parser.add_argument("--poll-interval", type=float, default=2.0)
    args = parser.parse_args(argv)
    try:
        limits = RpcLimits(args.connect_timeout, args.timeout, args.retry_time, args.max_answer_bytes)
        parts = IndexParts(
            args.rpc,
            args.address,
            args.start_block,
            args.db,
            args.confirmations,
            max_reorg_depth=args.max_reorg_depth,
            limits=limits,
        )
        indexer = open_indexer(parts, verify=args.verify, max_range=args.max_range)
        try:
            if args.follow:
                indexer.follow(args.poll_interval)
                return 0
            result = indexer.sync()
        finally:
            indexer.close()
    except CurationError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 1
    sys.stdout.write(
        f"indexed to block {result.cursor_block}: {result.logs_added} logs added "
        f"in {result.batches} batches, {len(result.reorgs)} reorgs\n"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
