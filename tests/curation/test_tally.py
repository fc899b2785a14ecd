"""The Python outcome rule agrees with CurationVoting's at the edges (exactly at, one below)."""

from __future__ import annotations

from curation.tally import approved, passes, quorum_met


def test_quorum_counts_for_and_abstain_exactly_at_the_threshold() -> None:
    assert quorum_met(15, 5, 2000, 100)  # 20 of 100 at 20 %
    assert not quorum_met(15, 4, 2000, 100)  # one below
    assert not quorum_met(0, 0, 2000, 100)


def test_approval_is_for_over_for_plus_against_and_needs_a_for_vote() -> None:
    assert approved(6, 4, 6000)  # exactly 60 %
    assert not approved(599, 401, 6000)  # one below
    assert not approved(0, 0, 0)


def test_passes_needs_both() -> None:
    assert passes(60, 40, 0, 100, 1000, 6000)
    assert not passes(60, 40, 0, 1000, 1001, 6000)  # approval yes, quorum no
    assert not passes(50, 50, 0, 100, 1000, 6000)  # quorum yes, approval no
