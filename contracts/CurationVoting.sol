// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ERC2771Context} from "@openzeppelin/contracts/metatx/ERC2771Context.sol";
import {IVotes} from "@openzeppelin/contracts/governance/utils/IVotes.sol";
import {IERC6372} from "@openzeppelin/contracts/interfaces/IERC6372.sol";
import {IERC1271} from "@openzeppelin/contracts/interfaces/IERC1271.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {IContentRegistryCounts, ICurationVoting} from "./interfaces/ICurationVoting.sol";
import {ProposalStorage} from "./libraries/ProposalStorage.sol";
import {VotingRules} from "./libraries/VotingRules.sol";

/// @title CurationVoting
/// @notice See ICurationVoting. A ballot carries no nonce: the has-voted bit makes it count at most once, and
///         the EIP-712 domain (chain id, this contract) plus the proposal id in the ballot bind it to one vote.
contract CurationVoting is ICurationVoting, EIP712, ERC2771Context {
    using SafeCast for uint256;

    /// @notice EIP-712 type of a ballot.
    bytes32 public constant BALLOT_TYPEHASH = keccak256("Ballot(uint256 proposalId,uint8 support,address voter)");

    /// @inheritdoc ICurationVoting
    /// @dev Why 500,000 suffices for real wallets: a Safe (CompatibilityFallbackHandler -> checkSignatures)
    ///      spends roughly 15,000 gas plus about 6,000 per owner signature (ecrecover 3,000, a cold owner slot
    ///      2,100, hashing), so even a Safe checking dozens of ECDSA owner signatures, or a few nested
    ///      contract-owner signatures, stays well below it; a passkey (WebAuthn, P-256) account that verifies in
    ///      Solidity on a chain without the P-256 precompile spends 200,000-400,000 (Daimo's verifier about
    ///      330,000 plus the WebAuthn envelope). OpenZeppelin 5.7's SignatureChecker forwards all gas and has no
    ///      capped variant, hence `_isValidWalletSignature` below.
    uint256 public constant WALLET_CHECK_GAS = 500_000;

    /// @dev Gas that must be left just before the wallet call for the wallet to receive all of WALLET_CHECK_GAS
    ///      under EIP-150 (a call forwards at most 63/64 of what is left), plus the call's access cost (cold at
    ///      worst, 2,600) and the few opcodes between the check and the call.
    uint256 private constant _WALLET_CALL_MIN_GAS = WALLET_CHECK_GAS + WALLET_CHECK_GAS / 63 + 3_000;

    struct DatasetRecord {
        DatasetParams params; // one slot: what `propose` reads
        uint16 use;
        address creator;
        string name;
        bytes descriptionCid;
    }

    IVotes private immutable _token;
    IContentRegistryCounts private immutable _registry;
    address private immutable _admin;

    uint64 private _datasetCount;
    uint64 private _proposalCount;
    mapping(address account => bool) private _managers;
    mapping(uint256 datasetId => DatasetRecord) private _datasets;
    mapping(uint256 proposalId => ProposalStorage.ProposalCore) private _cores;
    mapping(uint256 proposalId => ProposalStorage.ForAgainst) private _forAgainst;
    mapping(uint256 proposalId => uint256) private _abstain;
    mapping(address voter => mapping(uint256 word => uint256 bits)) private _voted;

    constructor(address token_, address registry_, address admin_, address trustedForwarder_)
        EIP712("CurationVoting", "1")
        ERC2771Context(trustedForwarder_)
    {
        if (token_ == address(0) || registry_ == address(0) || admin_ == address(0)) {
            revert CurationVotingZeroAddress();
        }
        uint256 tokenClock = IERC6372(token_).clock();
        if (tokenClock != block.number) revert CurationVotingTokenClockNotBlockNumber(tokenClock, block.number);
        _token = IVotes(token_);
        _registry = IContentRegistryCounts(registry_);
        _admin = admin_;
        _managers[admin_] = true;
        emit DatasetManagerSet(admin_, true);
    }

    // ----- roles -------------------------------------------------------------------------------------------

    /// @inheritdoc ICurationVoting
    function setDatasetManager(address account, bool allowed) external {
        if (_msgSender() != _admin) revert CurationVotingNotAdmin(_msgSender());
        _managers[account] = allowed;
        emit DatasetManagerSet(account, allowed);
    }

    /// @inheritdoc ICurationVoting
    function isDatasetManager(address account) external view returns (bool) {
        return _managers[account];
    }

    /// @inheritdoc ICurationVoting
    function admin() external view returns (address) {
        return _admin;
    }

    /// @inheritdoc ICurationVoting
    function token() external view returns (address) {
        return address(_token);
    }

    /// @inheritdoc ICurationVoting
    function registry() external view returns (address) {
        return address(_registry);
    }

    // ----- datasets ----------------------------------------------------------------------------------------

    /// @inheritdoc ICurationVoting
    function createDataset(
        string calldata name,
        bytes calldata descriptionCid,
        uint16 use,
        DatasetParams calldata params
    ) external returns (uint256 datasetId) {
        _onlyManager();
        if (bytes(name).length == 0) revert CurationVotingEmptyName();
        _validate(params);
        datasetId = ++_datasetCount;
        DatasetRecord storage d = _datasets[datasetId];
        d.params = params;
        d.use = use;
        d.creator = _msgSender();
        d.name = name;
        d.descriptionCid = descriptionCid;
        emit DatasetCreated(datasetId, _msgSender(), name, descriptionCid, use);
        _emitParams(datasetId, params);
    }

    /// @inheritdoc ICurationVoting
    function setDatasetParams(uint256 datasetId, DatasetParams calldata params) external {
        _onlyManager();
        _requireDataset(datasetId);
        _validate(params);
        _datasets[datasetId].params = params;
        _emitParams(datasetId, params);
    }

    /// @inheritdoc ICurationVoting
    function datasetCount() external view returns (uint256) {
        return _datasetCount;
    }

    /// @inheritdoc ICurationVoting
    function getDataset(uint256 datasetId) external view returns (Dataset memory) {
        _requireDataset(datasetId);
        DatasetRecord storage d = _datasets[datasetId];
        return Dataset(d.name, d.descriptionCid, d.use, d.creator, d.params);
    }

    // ----- proposals ---------------------------------------------------------------------------------------

    /// @inheritdoc ICurationVoting
    function propose(
        uint256 datasetId,
        uint8 kind,
        uint256[] calldata itemIds,
        uint256[] calldata batchIds,
        bytes calldata descriptionCid
    ) external returns (uint256 proposalId) {
        _requireDataset(datasetId);
        DatasetParams memory p = _datasets[datasetId].params;
        if (kind > uint8(ProposalKind.Remove)) revert CurationVotingInvalidKind(kind);
        if (itemIds.length == 0 && batchIds.length == 0) revert CurationVotingEmptyProposal();
        if (itemIds.length != 0) _checkIds(itemIds, _registry.itemCount(), false);
        if (batchIds.length != 0) _checkIds(batchIds, _registry.batchCount(), true);
        if (p.proposalThreshold != 0) {
            uint256 votes = _token.getPastVotes(_msgSender(), block.number - 1);
            if (votes < p.proposalThreshold) {
                revert CurationVotingBelowProposalThreshold(_msgSender(), votes, p.proposalThreshold);
            }
        }
        proposalId = ++_proposalCount;
        uint48 snapshot = (block.number + p.votingDelay).toUint48();
        uint48 deadline = snapshot + p.votingPeriod;
        _cores[proposalId] = ProposalStorage.ProposalCore({
            snapshot: snapshot,
            deadline: deadline,
            datasetId: datasetId.toUint32(),
            lateQuorumExtension: p.lateQuorumExtension,
            quorumBps: p.quorumBps,
            approvalBps: p.approvalBps,
            kind: kind,
            status: ProposalStorage.OPEN,
            quorumReached: false
        });
        _emitProposalCreated(proposalId, datasetId, kind, itemIds, batchIds, descriptionCid);
    }

    /// @inheritdoc ICurationVoting
    function proposalCount() external view returns (uint256) {
        return _proposalCount;
    }

    /// @inheritdoc ICurationVoting
    function getProposal(uint256 proposalId) external view returns (Proposal memory) {
        ProposalStorage.ProposalCore memory c = _core(proposalId);
        return Proposal({
            datasetId: c.datasetId,
            kind: ProposalKind(c.kind),
            snapshot: c.snapshot,
            deadline: c.deadline,
            quorumBps: c.quorumBps,
            approvalBps: c.approvalBps,
            lateQuorumExtension: c.lateQuorumExtension,
            state: _state(c)
        });
    }

    /// @inheritdoc ICurationVoting
    function proposalState(uint256 proposalId) external view returns (ProposalState) {
        return _state(_core(proposalId));
    }

    /// @inheritdoc ICurationVoting
    function getTally(uint256 proposalId)
        external
        view
        returns (uint256 forVotes, uint256 againstVotes, uint256 abstainVotes)
    {
        _core(proposalId);
        ProposalStorage.ForAgainst memory t = _forAgainst[proposalId];
        return (t.forVotes, t.againstVotes, _abstain[proposalId]);
    }

    /// @inheritdoc ICurationVoting
    function quorumVotes(uint256 proposalId) external view returns (uint256) {
        ProposalStorage.ProposalCore memory c = _core(proposalId);
        if (block.number <= c.snapshot) revert CurationVotingNotStarted(proposalId, c.snapshot);
        uint256 supply = _token.getPastTotalSupply(c.snapshot);
        return (uint256(c.quorumBps) * supply + 9_999) / 10_000;
    }

    /// @inheritdoc ICurationVoting
    function hasVoted(uint256 proposalId, address voter) external view returns (bool) {
        (uint256 word, uint256 mask) = ProposalStorage.slotOf(proposalId);
        return _voted[voter][word] & mask != 0;
    }

    // ----- votes -------------------------------------------------------------------------------------------

    /// @inheritdoc ICurationVoting
    function castVote(uint256 proposalId, uint8 support) external returns (uint256 weight) {
        address voter = _msgSender();
        weight = _countOrRevert(proposalId, voter, support, msg.data[0:0], false);
        emit VoteCast(voter, proposalId, support, weight, "");
    }

    /// @inheritdoc ICurationVoting
    function castVoteWithReason(uint256 proposalId, uint8 support, string calldata reason)
        external
        returns (uint256 weight)
    {
        address voter = _msgSender();
        weight = _countOrRevert(proposalId, voter, support, msg.data[0:0], false);
        emit VoteCast(voter, proposalId, support, weight, reason);
    }

    /// @inheritdoc ICurationVoting
    function castVoteBySig(uint256 proposalId, uint8 support, address voter, bytes calldata signature)
        external
        returns (uint256 weight)
    {
        weight = _countOrRevert(proposalId, voter, support, signature, true);
        emit VoteCast(voter, proposalId, support, weight, "");
    }

    /// @inheritdoc ICurationVoting
    function relayBallots(SignedBallot[] calldata ballots) external returns (uint256 counted) {
        uint256 n = ballots.length;
        if (n == 0) revert CurationVotingEmptyBatch();
        for (uint256 i; i < n; ++i) {
            SignedBallot calldata b = ballots[i];
            (SkipReason why, uint256 weight) = _tryCount(b.proposalId, b.voter, b.support, b.signature, true);
            if (why == SkipReason.None) {
                ++counted;
                emit VoteCast(b.voter, b.proposalId, b.support, weight, "");
            } else {
                emit BallotSkipped(b.voter, b.proposalId, i, why);
            }
        }
    }

    /// @inheritdoc ICurationVoting
    function ballotDigest(uint256 proposalId, uint8 support, address voter) external view returns (bytes32) {
        return _ballotDigest(proposalId, support, voter);
    }

    // ----- finalization ------------------------------------------------------------------------------------

    /// @inheritdoc ICurationVoting
    function finalize(uint256 proposalId) external returns (ProposalState outcome) {
        ProposalStorage.ProposalCore storage core = _cores[proposalId];
        uint256 snapshot = core.snapshot;
        if (snapshot == 0) revert CurationVotingUnknownProposal(proposalId);
        if (core.status != ProposalStorage.OPEN) revert CurationVotingAlreadyFinalized(proposalId);
        if (block.number <= core.deadline) revert CurationVotingVotingNotEnded(proposalId, core.deadline);
        uint256 supply = _token.getPastTotalSupply(snapshot);
        ProposalStorage.ForAgainst memory t = _forAgainst[proposalId];
        uint256 abstainVotes = _abstain[proposalId];
        bool accepted = VotingRules.quorumMet(t.forVotes, abstainVotes, core.quorumBps, supply)
            && VotingRules.approved(t.forVotes, t.againstVotes, core.approvalBps);
        outcome = accepted ? ProposalState.Accepted : ProposalState.Rejected;
        core.status = uint8(outcome);
        emit ProposalFinalized(proposalId, outcome, t.forVotes, t.againstVotes, abstainVotes, supply);
    }

    // ----- internals ---------------------------------------------------------------------------------------

    /// @dev Count a vote or explain, by the matching custom error, why it cannot count.
    function _countOrRevert(
        uint256 proposalId,
        address voter,
        uint8 support,
        bytes calldata signature,
        bool signed
    ) private returns (uint256 weight) {
        SkipReason why;
        (why, weight) = _tryCount(proposalId, voter, support, signature, signed);
        if (why == SkipReason.None) return weight;
        if (why == SkipReason.InvalidSupport) revert CurationVotingInvalidSupport(support);
        if (why == SkipReason.UnknownProposal) revert CurationVotingUnknownProposal(proposalId);
        if (why == SkipReason.NotStarted) revert CurationVotingNotStarted(proposalId, _cores[proposalId].snapshot);
        if (why == SkipReason.Closed) revert CurationVotingClosed(proposalId, _cores[proposalId].deadline);
        if (why == SkipReason.AlreadyVoted) revert CurationVotingAlreadyVoted(proposalId, voter);
        revert CurationVotingInvalidSignature(proposalId, voter);
    }

    /// @dev The single path every vote takes: checks, the voter's weight at the snapshot (a view call), then
    ///      the has-voted bit and the tally. Returns a SkipReason instead of reverting so that a relayed batch
    ///      can go on past a bad ballot.
    function _tryCount(
        uint256 proposalId,
        address voter,
        uint8 support,
        bytes calldata signature,
        bool signed
    ) private returns (SkipReason, uint256) {
        if (support > uint8(Support.Abstain)) return (SkipReason.InvalidSupport, 0);
        ProposalStorage.ProposalCore storage core = _cores[proposalId];
        uint256 snapshot = core.snapshot;
        if (snapshot == 0) return (SkipReason.UnknownProposal, 0);
        if (block.number <= snapshot) return (SkipReason.NotStarted, 0);
        if (block.number > core.deadline) return (SkipReason.Closed, 0);
        (uint256 word, uint256 mask) = ProposalStorage.slotOf(proposalId);
        uint256 bits = _voted[voter][word];
        if (bits & mask != 0) return (SkipReason.AlreadyVoted, 0);
        if (signed) {
            bytes32 digest = _ballotDigest(proposalId, support, voter);
            if (!_isValidSignature(voter, digest, signature)) return (SkipReason.BadSignature, 0);
        }
        uint256 weight = _token.getPastVotes(voter, snapshot);
        _voted[voter][word] = bits | mask;
        if (weight != 0) _addVotes(proposalId, core, support, weight);
        return (SkipReason.None, weight);
    }

    function _addVotes(
        uint256 proposalId,
        ProposalStorage.ProposalCore storage core,
        uint8 support,
        uint256 weight
    ) private {
        if (support == uint8(Support.Abstain)) {
            _abstain[proposalId] += weight;
        } else if (support == uint8(Support.For)) {
            _forAgainst[proposalId].forVotes += weight.toUint128();
        } else {
            _forAgainst[proposalId].againstVotes += weight.toUint128();
            return; // Against never completes a quorum
        }
        if (core.lateQuorumExtension != 0 && !core.quorumReached) _checkLateQuorum(proposalId, core);
    }

    /// @dev GovernorPreventLateQuorum's rule: the vote that first reaches quorum leaves at least
    ///      `lateQuorumExtension` blocks of voting after it.
    function _checkLateQuorum(uint256 proposalId, ProposalStorage.ProposalCore storage core) private {
        uint256 supply = _token.getPastTotalSupply(core.snapshot);
        if (!VotingRules.quorumMet(_forAgainst[proposalId].forVotes, _abstain[proposalId], core.quorumBps, supply)) {
            return;
        }
        core.quorumReached = true;
        uint256 extended = block.number + core.lateQuorumExtension;
        if (extended > core.deadline) {
            core.deadline = uint48(extended); // block.number + uint32 stays far below 2**48
            emit ProposalExtended(proposalId, uint48(extended));
        }
    }

    /// @dev OpenZeppelin's SignatureChecker.isValidSignatureNowCalldata with the ERC-1271 call capped: an EOA
    ///      (no code) signs with ECDSA (OpenZeppelin's tryRecover: 65 bytes, low s), a contract is asked.
    function _isValidSignature(address voter, bytes32 digest, bytes calldata signature) private view returns (bool) {
        if (voter.code.length == 0) {
            (address recovered, ECDSA.RecoverError err,) = ECDSA.tryRecoverCalldata(digest, signature);
            return err == ECDSA.RecoverError.NoError && recovered == voter;
        }
        return _isValidWalletSignature(voter, digest, signature);
    }

    /// @dev SignatureChecker.isValidERC1271SignatureNowCalldata (same calldata layout and magic-value check) with
    ///      two changes: the wallet gets WALLET_CHECK_GAS, not all the gas left, so a wallet that loops or burns
    ///      gas fails its own check instead of the whole transaction; and a caller that left too little gas for
    ///      that allowance gets a revert, not a wrongly skipped ballot. At most 32 bytes of the answer are copied
    ///      (into scratch space), so huge return or revert data (a returndata bomb) costs only the wallet's gas.
    function _isValidWalletSignature(address wallet, bytes32 digest, bytes calldata signature)
        private
        view
        returns (bool valid)
    {
        bytes4 selector = IERC1271.isValidSignature.selector;
        uint256 allowance = WALLET_CHECK_GAS;
        uint256 needed = _WALLET_CALL_MIN_GAS;
        bool starved;
        assembly ("memory-safe") {
            // [0x00 selector][0x04 digest][0x24 offset 0x40][0x44 length][0x64 signature, zero-padded]
            let length := signature.length
            let ptr := mload(0x40)
            mstore(ptr, selector)
            mstore(add(ptr, 0x04), digest)
            mstore(add(ptr, 0x24), 0x40)
            mstore(add(ptr, 0x44), length)
            calldatacopy(add(ptr, 0x64), signature.offset, length)
            mstore(add(add(ptr, 0x64), length), 0)
            length := shl(5, shr(5, add(length, 0x1F)))
            starved := lt(gas(), needed)
            if iszero(starved) {
                let success := staticcall(allowance, wallet, ptr, add(length, 0x64), 0x00, 0x20)
                valid := and(success, and(gt(returndatasize(), 0x1f), eq(mload(0x00), selector)))
            }
        }
        if (starved) revert CurationVotingGasTooLowForWallet(wallet, gasleft(), needed);
    }

    function _ballotDigest(uint256 proposalId, uint8 support, address voter) private view returns (bytes32) {
        return _hashTypedDataV4(keccak256(abi.encode(BALLOT_TYPEHASH, proposalId, support, voter)));
    }

    /// @dev ProposalCreated carries what storage does not keep (proposer, ids, description) and the thresholds
    ///      the proposal is judged by, so an indexer needs no view call. Read back from the stored core to keep
    ///      `propose` within the stack limit.
    function _emitProposalCreated(
        uint256 proposalId,
        uint256 datasetId,
        uint8 kind,
        uint256[] calldata itemIds,
        uint256[] calldata batchIds,
        bytes calldata descriptionCid
    ) private {
        ProposalStorage.ProposalCore memory c = _cores[proposalId];
        emit ProposalCreated(
            proposalId,
            datasetId,
            _msgSender(),
            ProposalKind(kind),
            itemIds,
            batchIds,
            descriptionCid,
            c.snapshot,
            c.deadline,
            c.quorumBps,
            c.approvalBps,
            c.lateQuorumExtension
        );
    }

    function _checkIds(uint256[] calldata ids, uint256 count, bool batches) private pure {
        uint256 previous = 0;
        for (uint256 i; i < ids.length; ++i) {
            uint256 id = ids[i];
            if (id == 0 || id > count) {
                if (batches) revert CurationVotingUnknownBatch(id, count);
                revert CurationVotingUnknownItem(id, count);
            }
            if (id <= previous) revert CurationVotingIdsNotAscending(previous, id);
            previous = id;
        }
    }

    function _state(ProposalStorage.ProposalCore memory c) private view returns (ProposalState) {
        if (c.status != ProposalStorage.OPEN) return ProposalState(c.status);
        if (block.number <= c.snapshot) return ProposalState.Pending;
        if (block.number <= c.deadline) return ProposalState.Active;
        return ProposalState.Closed;
    }

    function _core(uint256 proposalId) private view returns (ProposalStorage.ProposalCore memory c) {
        c = _cores[proposalId];
        if (c.snapshot == 0) revert CurationVotingUnknownProposal(proposalId);
    }

    function _onlyManager() private view {
        if (!_managers[_msgSender()]) revert CurationVotingNotDatasetManager(_msgSender());
    }

    function _requireDataset(uint256 datasetId) private view {
        if (datasetId == 0 || datasetId > _datasetCount) revert CurationVotingUnknownDataset(datasetId);
    }

    function _validate(DatasetParams calldata p) private pure {
        if (p.votingDelay == 0) revert CurationVotingVotingDelayTooShort(p.votingDelay);
        if (p.votingPeriod == 0) revert CurationVotingVotingPeriodTooShort(p.votingPeriod);
        if (p.quorumBps > 10_000) revert CurationVotingQuorumOutOfRange(p.quorumBps);
        if (p.approvalBps == 0 || p.approvalBps > 10_000) revert CurationVotingApprovalOutOfRange(p.approvalBps);
    }

    function _emitParams(uint256 datasetId, DatasetParams calldata p) private {
        emit DatasetParamsSet(
            datasetId,
            p.votingDelay,
            p.votingPeriod,
            p.quorumBps,
            p.approvalBps,
            p.lateQuorumExtension,
            p.proposalThreshold
        );
    }
}
