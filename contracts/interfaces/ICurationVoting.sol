// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title The two counters of ContentRegistry that CurationVoting reads
/// @notice Ids are sequential from 1: an id is known iff 1 <= id <= count.
interface IContentRegistryCounts {
    /// @notice Number of single items submitted so far (the highest item id).
    function itemCount() external view returns (uint256);

    /// @notice Number of batches submitted so far (the highest batch id).
    function batchCount() external view returns (uint256);
}

/// @title Curation Commons voting
/// @notice Token-weighted decisions on what goes into each dataset. A dataset manager creates datasets and sets
///         their parameters; any holder with enough votes proposes to INCLUDE or REMOVE registry items and batches;
///         curators vote For, Against or Abstain with their `getPastVotes(voter, snapshot)`, directly, by an
///         EIP-712 signature (EOA or ERC-1271 wallet), or through a relayer that submits many signed ballots at
///         once; after the deadline anyone finalizes the proposal as Accepted or Rejected.
///         A proposal's snapshot is its block plus the dataset's voting delay (>= 1), its deadline the snapshot
///         plus the voting period; votes are accepted in blocks snapshot+1 .. deadline (inclusive).
///         Quorum: For + Abstain >= quorumBps of `getPastTotalSupply(snapshot)`. Approval: For > 0 and
///         For >= approvalBps of For + Against. Both thresholds are fixed per proposal when it is created.
interface ICurationVoting {
    /// @notice What a proposal does to its items and batches.
    enum ProposalKind {
        Include,
        Remove
    }

    /// @notice A vote's direction (the numbering of OpenZeppelin's GovernorCountingSimple).
    enum Support {
        Against,
        For,
        Abstain
    }

    /// @notice Life cycle of a proposal. Closed: the deadline has passed and nobody has finalized it yet.
    enum ProposalState {
        Pending,
        Active,
        Closed,
        Accepted,
        Rejected
    }

    /// @notice Why `relayBallots` skipped a ballot (code in BallotSkipped).
    enum SkipReason {
        None,
        InvalidSupport,
        UnknownProposal,
        NotStarted,
        Closed,
        BadSignature,
        AlreadyVoted
    }

    /// @notice A dataset's voting parameters (one storage slot).
    /// @param votingDelay blocks from the proposal block to the snapshot block (>= 1)
    /// @param votingPeriod blocks from the snapshot to the deadline (>= 1)
    /// @param quorumBps For + Abstain needed, in basis points of the past total supply at the snapshot
    /// @param approvalBps For needed, in basis points of For + Against (1..10000)
    /// @param lateQuorumExtension if nonzero, a vote that first reaches quorum moves the deadline to at least
    ///        that many blocks later (OpenZeppelin's GovernorPreventLateQuorum)
    /// @param proposalThreshold votes (at the block before the proposal) a proposer needs
    struct DatasetParams {
        uint32 votingDelay;
        uint32 votingPeriod;
        uint16 quorumBps;
        uint16 approvalBps;
        uint32 lateQuorumExtension;
        uint128 proposalThreshold;
    }

    /// @notice A dataset as stored.
    struct Dataset {
        string name;
        bytes descriptionCid;
        uint16 use;
        address creator;
        DatasetParams params;
    }

    /// @notice A proposal as stored; thresholds are the dataset's at creation time. The proposer, item ids,
    ///         batch ids and description are only in ProposalCreated (storing them would cost every proposal).
    struct Proposal {
        uint256 datasetId;
        ProposalKind kind;
        uint48 snapshot;
        uint48 deadline;
        uint16 quorumBps;
        uint16 approvalBps;
        uint32 lateQuorumExtension;
        ProposalState state;
    }

    /// @notice A signed ballot as relayed: the EIP-712 `Ballot(uint256 proposalId,uint8 support,address voter)`
    ///         signed by `voter` (65-byte ECDSA for an EOA, anything its `isValidSignature` accepts for a wallet).
    struct SignedBallot {
        uint256 proposalId;
        uint8 support;
        address voter;
        bytes signature;
    }

    /// @notice `account` was granted (`allowed`) or lost the right to create datasets and set their parameters.
    event DatasetManagerSet(address indexed account, bool allowed);

    /// @notice Dataset `datasetId` was created; its parameters follow in DatasetParamsSet.
    event DatasetCreated(
        uint256 indexed datasetId,
        address indexed creator,
        string name,
        bytes descriptionCid,
        uint16 use
    );

    /// @notice The parameters of dataset `datasetId` were set (at creation and on every change).
    event DatasetParamsSet(
        uint256 indexed datasetId,
        uint32 votingDelay,
        uint32 votingPeriod,
        uint16 quorumBps,
        uint16 approvalBps,
        uint32 lateQuorumExtension,
        uint256 proposalThreshold
    );

    /// @notice Proposal `proposalId` was created on dataset `datasetId`, to be judged by the thresholds it carries
    ///         (the dataset's at creation; a later parameter change does not touch an open proposal).
    event ProposalCreated(
        uint256 indexed proposalId,
        uint256 indexed datasetId,
        address indexed proposer,
        ProposalKind kind,
        uint256[] itemIds,
        uint256[] batchIds,
        bytes descriptionCid,
        uint48 snapshot,
        uint48 deadline,
        uint16 quorumBps,
        uint16 approvalBps,
        uint32 lateQuorumExtension
    );

    /// @notice `voter`'s vote was counted with `weight` = getPastVotes(voter, snapshot) (0 counts too).
    event VoteCast(address indexed voter, uint256 indexed proposalId, uint8 support, uint256 weight, string reason);

    /// @notice `relayBallots` skipped the ballot at `index` of its batch, for `reason`.
    event BallotSkipped(address indexed voter, uint256 indexed proposalId, uint256 index, SkipReason reason);

    /// @notice Quorum was first reached late: the deadline of `proposalId` moved to `deadline`.
    event ProposalExtended(uint256 indexed proposalId, uint48 deadline);

    /// @notice Proposal `proposalId` was finalized with these tallies and the past total supply at its snapshot.
    event ProposalFinalized(
        uint256 indexed proposalId,
        ProposalState outcome,
        uint256 forVotes,
        uint256 againstVotes,
        uint256 abstainVotes,
        uint256 pastTotalSupply
    );

    /// @notice A constructor address was zero.
    error CurationVotingZeroAddress();
    /// @notice The token does not use a block-number clock, which CurationVoting requires.
    error CurationVotingTokenClockNotBlockNumber(uint256 tokenClock, uint256 blockNumber);
    /// @notice The caller is not the admin of CurationVoting.
    error CurationVotingNotAdmin(address caller);
    /// @notice The caller lacks the dataset-manager role (create datasets, set their parameters).
    error CurationVotingNotDatasetManager(address caller);
    /// @notice No dataset has this id.
    error CurationVotingUnknownDataset(uint256 datasetId);
    /// @notice A dataset needs a non-empty name.
    error CurationVotingEmptyName();
    /// @notice The voting delay must be at least 1 block, so that no vote weighs tokens acquired in the proposal's own block.
    error CurationVotingVotingDelayTooShort(uint32 votingDelay);
    /// @notice The voting period must be at least 1 block.
    error CurationVotingVotingPeriodTooShort(uint32 votingPeriod);
    /// @notice A quorum must be between 0 and 10000 basis points.
    error CurationVotingQuorumOutOfRange(uint16 quorumBps);
    /// @notice An approval threshold must be between 1 and 10000 basis points.
    error CurationVotingApprovalOutOfRange(uint16 approvalBps);
    /// @notice A proposal kind is 0 (INCLUDE) or 1 (REMOVE).
    error CurationVotingInvalidKind(uint8 kind);
    /// @notice A proposal must name at least one item or batch.
    error CurationVotingEmptyProposal();
    /// @notice Item and batch ids must each be listed in strictly ascending order, without duplicates.
    error CurationVotingIdsNotAscending(uint256 previousId, uint256 id);
    /// @notice The proposal names an item id that the ContentRegistry does not know (ids run from 1 to itemCount).
    error CurationVotingUnknownItem(uint256 itemId, uint256 itemCount);
    /// @notice The proposal names a batch id that the ContentRegistry does not know (ids run from 1 to batchCount).
    error CurationVotingUnknownBatch(uint256 batchId, uint256 batchCount);
    /// @notice The proposer's votes at the previous block are below the dataset's proposal threshold.
    error CurationVotingBelowProposalThreshold(address proposer, uint256 votes, uint256 threshold);
    /// @notice No proposal has this id.
    error CurationVotingUnknownProposal(uint256 proposalId);
    /// @notice A vote's support must be 0 (Against), 1 (For) or 2 (Abstain).
    error CurationVotingInvalidSupport(uint8 support);
    /// @notice Voting has not started: it opens in the block after the snapshot block.
    error CurationVotingNotStarted(uint256 proposalId, uint256 snapshot);
    /// @notice Voting has closed: the deadline block has passed.
    error CurationVotingClosed(uint256 proposalId, uint256 deadline);
    /// @notice This voter has already voted on this proposal.
    error CurationVotingAlreadyVoted(uint256 proposalId, address voter);
    /// @notice The signature is not the voter's signature of this ballot (this chain, this contract, this proposal and support).
    error CurationVotingInvalidSignature(uint256 proposalId, address voter);
    /// @notice The batch of ballots is empty.
    error CurationVotingEmptyBatch();
    /// @notice Too little gas was left to give the voter's contract wallet its full WALLET_CHECK_GAS for isValidSignature (ERC-1271): send the transaction with more gas.
    error CurationVotingGasTooLowForWallet(address wallet, uint256 gasLeft, uint256 gasNeeded);
    /// @notice The proposal cannot be finalized before its deadline block has passed.
    error CurationVotingVotingNotEnded(uint256 proposalId, uint256 deadline);
    /// @notice The proposal has already been finalized.
    error CurationVotingAlreadyFinalized(uint256 proposalId);

    /// @notice The voting token (ERC20Votes, block-number clock).
    function token() external view returns (address);

    /// @notice The ContentRegistry whose item and batch ids proposals name.
    function registry() external view returns (address);

    /// @notice The admin, who grants and revokes the dataset-manager role.
    function admin() external view returns (address);

    /// @notice Grant or revoke the dataset-manager role. Admin only.
    function setDatasetManager(address account, bool allowed) external;

    /// @notice Whether `account` may create datasets and set their parameters.
    function isDatasetManager(address account) external view returns (bool);

    /// @notice Create a dataset; returns its id (sequential from 1). Dataset manager only.
    /// @param use the dataset's intended use as consent flags (curation.consent.Consent)
    function createDataset(
        string calldata name,
        bytes calldata descriptionCid,
        uint16 use,
        DatasetParams calldata params
    ) external returns (uint256 datasetId);

    /// @notice Replace a dataset's parameters; existing proposals keep theirs. Dataset manager only.
    function setDatasetParams(uint256 datasetId, DatasetParams calldata params) external;

    /// @notice Number of datasets (the highest dataset id).
    function datasetCount() external view returns (uint256);

    /// @notice A dataset by id.
    function getDataset(uint256 datasetId) external view returns (Dataset memory);

    /// @notice Propose to include (kind 0) or remove (kind 1) registry items and batches in a dataset.
    /// @param itemIds strictly ascending ContentRegistry item ids (may be empty if batchIds is not)
    /// @param batchIds strictly ascending ContentRegistry batch ids (may be empty if itemIds is not)
    /// @return proposalId sequential from 1 across all datasets
    function propose(
        uint256 datasetId,
        uint8 kind,
        uint256[] calldata itemIds,
        uint256[] calldata batchIds,
        bytes calldata descriptionCid
    ) external returns (uint256 proposalId);

    /// @notice Number of proposals (the highest proposal id).
    function proposalCount() external view returns (uint256);

    /// @notice A proposal by id.
    function getProposal(uint256 proposalId) external view returns (Proposal memory);

    /// @notice A proposal's state now.
    function proposalState(uint256 proposalId) external view returns (ProposalState);

    /// @notice The running (or final) tallies of a proposal.
    function getTally(uint256 proposalId)
        external
        view
        returns (uint256 forVotes, uint256 againstVotes, uint256 abstainVotes);

    /// @notice For + Abstain votes the proposal needs for quorum (known once its snapshot block has passed).
    function quorumVotes(uint256 proposalId) external view returns (uint256);

    /// @notice Whether `voter` has voted on `proposalId`.
    function hasVoted(uint256 proposalId, address voter) external view returns (bool);

    /// @notice Vote with the caller's votes at the snapshot; returns the weight counted.
    function castVote(uint256 proposalId, uint8 support) external returns (uint256 weight);

    /// @notice Vote with a reason that is logged in VoteCast; returns the weight counted.
    function castVoteWithReason(uint256 proposalId, uint8 support, string calldata reason)
        external
        returns (uint256 weight);

    /// @notice Count `voter`'s signed ballot (sent by anyone); returns the weight counted.
    function castVoteBySig(uint256 proposalId, uint8 support, address voter, bytes calldata signature)
        external
        returns (uint256 weight);

    /// @notice Count many signed ballots in one transaction: a ballot that is invalid, late, early, for an
    ///         unknown proposal or from a voter who has voted is skipped (BallotSkipped), the others count.
    /// @return counted how many ballots were counted
    function relayBallots(SignedBallot[] calldata ballots) external returns (uint256 counted);

    /// @notice Gas a contract wallet's `isValidSignature` (ERC-1271) may use to check one ballot. A wallet that
    ///         needs more, reverts or answers anything but the magic value has not signed: its ballot is skipped
    ///         (BadSignature), so no wallet can make a relayed batch revert or cost more than this per ballot.
    function WALLET_CHECK_GAS() external view returns (uint256);

    /// @notice The EIP-712 digest a voter signs for this ballot.
    function ballotDigest(uint256 proposalId, uint8 support, address voter) external view returns (bytes32);

    /// @notice Decide a proposal after its deadline (anyone may call); returns Accepted or Rejected.
    function finalize(uint256 proposalId) external returns (ProposalState outcome);
}
