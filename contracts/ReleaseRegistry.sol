// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ICurationVoting} from "./interfaces/ICurationVoting.sol";
import {IReleaseRegistry} from "./interfaces/IReleaseRegistry.sol";

/// @title ReleaseRegistry
/// @notice See IReleaseRegistry.
contract ReleaseRegistry is IReleaseRegistry {
    ICurationVoting private immutable _voting;
    address private immutable _admin;

    mapping(address account => bool) private _publishers;
    mapping(uint256 datasetId => Release[]) private _releases;

    constructor(address voting_, address admin_) {
        if (voting_ == address(0) || admin_ == address(0)) revert ReleaseRegistryZeroAddress();
        _voting = ICurationVoting(voting_);
        _admin = admin_;
        _publishers[admin_] = true;
        emit PublisherSet(admin_, true);
    }

    /// @inheritdoc IReleaseRegistry
    function setPublisher(address account, bool allowed) external {
        if (msg.sender != _admin) revert ReleaseRegistryNotAdmin(msg.sender);
        _publishers[account] = allowed;
        emit PublisherSet(account, allowed);
    }

    /// @inheritdoc IReleaseRegistry
    function publishRelease(
        uint256 datasetId,
        bytes calldata manifestCid,
        bytes32 manifestSha256,
        uint64 stateBlock,
        string calldata schemeId
    ) external returns (uint256 releaseNumber) {
        if (!_publishers[msg.sender]) revert ReleaseRegistryNotPublisher(msg.sender);
        if (manifestCid.length == 0) revert ReleaseRegistryEmptyManifestCid();
        if (manifestSha256 == bytes32(0)) revert ReleaseRegistryEmptyManifestDigest();
        if (bytes(schemeId).length == 0) revert ReleaseRegistryEmptySchemeId();
        if (stateBlock >= block.number) revert ReleaseRegistryStateBlockInFuture(stateBlock, block.number);
        uint256 count = _voting.datasetCount();
        if (datasetId == 0 || datasetId > count) revert ReleaseRegistryUnknownDataset(datasetId, count);
        uint256 previous = _releases[datasetId].length;
        if (previous != 0) {
            uint64 latestStateBlock = _releases[datasetId][previous - 1].stateBlock;
            if (stateBlock < latestStateBlock) {
                revert ReleaseRegistryStateBlockBeforeLatest(stateBlock, latestStateBlock);
            }
        }
        _releases[datasetId].push(
            Release(manifestCid, manifestSha256, stateBlock, uint64(block.number), msg.sender, schemeId)
        );
        releaseNumber = previous + 1;
        emit ReleasePublished(datasetId, releaseNumber, msg.sender, manifestCid, manifestSha256, stateBlock, schemeId);
    }

    /// @inheritdoc IReleaseRegistry
    function voting() external view returns (address) {
        return address(_voting);
    }

    /// @inheritdoc IReleaseRegistry
    function admin() external view returns (address) {
        return _admin;
    }

    /// @inheritdoc IReleaseRegistry
    function isPublisher(address account) external view returns (bool) {
        return _publishers[account];
    }

    /// @inheritdoc IReleaseRegistry
    function releaseCount(uint256 datasetId) external view returns (uint256) {
        return _releases[datasetId].length;
    }

    /// @inheritdoc IReleaseRegistry
    function getRelease(uint256 datasetId, uint256 releaseNumber) external view returns (Release memory) {
        Release[] storage history = _releases[datasetId];
        if (releaseNumber == 0 || releaseNumber > history.length) {
            revert ReleaseRegistryUnknownRelease(datasetId, releaseNumber);
        }
        return history[releaseNumber - 1];
    }

    /// @inheritdoc IReleaseRegistry
    function latestRelease(uint256 datasetId) external view returns (uint256 releaseNumber, Release memory) {
        Release[] storage history = _releases[datasetId];
        releaseNumber = history.length;
        if (releaseNumber == 0) revert ReleaseRegistryUnknownRelease(datasetId, 0);
        return (releaseNumber, history[releaseNumber - 1]);
    }
}
