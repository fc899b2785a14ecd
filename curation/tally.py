"""CurationVoting's outcome rule in exact integers (mirrors contracts/libraries/VotingTally.sol)."""

from __future__ import annotations

__all__ = ["approved", "passes", "quorum_met"]

BPS = 10_000


def quorum_met(for_votes: int, abstain_votes: int, quorum_bps: int, supply: int) -> bool:
    """For + Abstain reach `quorum_bps` of the past total supply at the snapshot (Against does not count)."""
    return (for_votes + abstain_votes) * BPS >= quorum_bps * supply


def approved(for_votes: int, against_votes: int, approval_bps: int) -> bool:
    """For > 0 and For reach `approval_bps` of For + Against."""
    return for_votes != 0 and for_votes * BPS >= approval_bps * (for_votes + against_votes)


def passes(
    for_votes: int, against_votes: int, abstain_votes: int, supply: int, quorum_bps: int, approval_bps: int
) -> bool:
    """What `finalize` would decide: Accepted when both quorum and approval hold."""
    return quorum_met(for_votes, abstain_votes, quorum_bps, supply) and approved(
        for_votes, against_votes, approval_bps
    )
