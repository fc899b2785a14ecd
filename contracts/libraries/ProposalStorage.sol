// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title Packed proposal storage of CurationVoting
/// @notice What every vote reads sits in one slot (ProposalCore); For and Against share a second slot; a voter's
///         has-voted bits for 256 consecutive proposals share a third, so a returning voter flips a bit in an
///         already-written slot instead of writing a fresh one. The threshold rules are in VotingRules.
library ProposalStorage {
    /// @notice Status of a proposal that nobody has finalized yet.
    uint8 internal constant OPEN = 0;

    /// @notice Everything a vote reads, in one slot (224 bits).
    struct ProposalCore {
        uint48 snapshot;
        uint48 deadline;
        uint32 datasetId;
        uint32 lateQuorumExtension;
        uint16 quorumBps;
        uint16 approvalBps;
        uint8 kind;
        uint8 status; // OPEN, or the final ICurationVoting.ProposalState (Accepted / Rejected)
        bool quorumReached;
    }

    /// @notice For and Against in one slot; Abstain is kept apart (it is the rarer write).
    struct ForAgainst {
        uint128 forVotes;
        uint128 againstVotes;
    }

    /// @notice Word and bit of `proposalId` in a voter's has-voted bitmap.
    function slotOf(uint256 proposalId) internal pure returns (uint256 word, uint256 mask) {
        return (proposalId >> 8, uint256(1) << (proposalId & 0xff));
    }
}
