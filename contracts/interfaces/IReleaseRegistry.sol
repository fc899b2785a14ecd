// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title Curation Commons release registry
/// @notice Anchors each release of a dataset: the manifest's CID and sha256, the chain state block it was built
///         from and the weight scheme id. A publisher role publishes; releases are numbered per dataset from 1
///         and readable by anyone. Dataset ids are CurationVoting's.
interface IReleaseRegistry {
    /// @notice A release as stored.
    struct Release {
        bytes manifestCid;
        bytes32 manifestSha256;
        uint64 stateBlock;
        uint64 publishedBlock;
        address publisher;
        string schemeId;
    }

    /// @notice `account` was granted (`allowed`) or lost the publisher role.
    event PublisherSet(address indexed account, bool allowed);

    /// @notice Release `releaseNumber` of dataset `datasetId` was anchored.
    event ReleasePublished(
        uint256 indexed datasetId,
        uint256 indexed releaseNumber,
        address indexed publisher,
        bytes manifestCid,
        bytes32 manifestSha256,
        uint64 stateBlock,
        string schemeId
    );

    /// @notice A constructor address was zero.
    error ReleaseRegistryZeroAddress();
    /// @notice The caller is not the admin of ReleaseRegistry.
    error ReleaseRegistryNotAdmin(address caller);
    /// @notice The caller lacks the publisher role.
    error ReleaseRegistryNotPublisher(address caller);
    /// @notice CurationVoting has no dataset with this id (ids run from 1 to datasetCount).
    error ReleaseRegistryUnknownDataset(uint256 datasetId, uint256 datasetCount);
    /// @notice The state block must be a block before the one that publishes the release.
    error ReleaseRegistryStateBlockInFuture(uint64 stateBlock, uint256 currentBlock);
    /// @notice A release cannot anchor an older state block than the dataset's latest release: build it at that block or later.
    error ReleaseRegistryStateBlockBeforeLatest(uint64 stateBlock, uint64 latestStateBlock);
    /// @notice A release needs the manifest's CID.
    error ReleaseRegistryEmptyManifestCid();
    /// @notice A release needs the manifest's sha256 digest (not zero).
    error ReleaseRegistryEmptyManifestDigest();
    /// @notice A release needs the id of the weight scheme that built it.
    error ReleaseRegistryEmptySchemeId();
    /// @notice This dataset has no release with this number (releases are numbered from 1).
    error ReleaseRegistryUnknownRelease(uint256 datasetId, uint256 releaseNumber);

    /// @notice The CurationVoting contract whose datasets are released.
    function voting() external view returns (address);

    /// @notice The admin, who grants and revokes the publisher role.
    function admin() external view returns (address);

    /// @notice Grant or revoke the publisher role. Admin only.
    function setPublisher(address account, bool allowed) external;

    /// @notice Whether `account` may publish releases.
    function isPublisher(address account) external view returns (bool);

    /// @notice Anchor a release of `datasetId`; returns its number (per dataset, from 1). Publisher only.
    ///         State blocks never go back in time: `latestRelease` is also the release of the newest state.
    /// @param stateBlock the block whose chain state the manifest was built from: before the current block,
    ///        and not before the state block of the dataset's latest release (the same block is allowed)
    function publishRelease(
        uint256 datasetId,
        bytes calldata manifestCid,
        bytes32 manifestSha256,
        uint64 stateBlock,
        string calldata schemeId
    ) external returns (uint256 releaseNumber);

    /// @notice Number of releases of `datasetId` (the latest release number; 0 when none).
    function releaseCount(uint256 datasetId) external view returns (uint256);

    /// @notice Release `releaseNumber` of `datasetId`.
    function getRelease(uint256 datasetId, uint256 releaseNumber) external view returns (Release memory);

    /// @notice The latest release of `datasetId` and its number.
    function latestRelease(uint256 datasetId) external view returns (uint256 releaseNumber, Release memory);
}
