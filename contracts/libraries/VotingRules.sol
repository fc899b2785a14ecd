// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title The pass rule of CurationVoting
/// @notice Quorum and approval, exact in integers. `curation/governance.py` mirrors these two functions; the
///         conformance tests compare both at every boundary.
library VotingRules {
    /// @notice Whether For + Abstain reach `quorumBps` of `supply` (exact, no rounding).
    function quorumMet(uint256 forVotes, uint256 abstainVotes, uint256 quorumBps, uint256 supply)
        internal
        pure
        returns (bool)
    {
        return (forVotes + abstainVotes) * 10_000 >= quorumBps * supply;
    }

    /// @notice Whether For > 0 and For reach `approvalBps` of For + Against (exact, no rounding).
    function approved(uint256 forVotes, uint256 againstVotes, uint256 approvalBps) internal pure returns (bool) {
        return forVotes != 0 && forVotes * 10_000 >= approvalBps * (forVotes + againstVotes);
    }
}
