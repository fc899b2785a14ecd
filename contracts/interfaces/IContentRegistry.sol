// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title Curation Commons content registry
/// @notice Records who contributed which content (by IPFS CID), under which allowlisted SPDX license and with
///         which consent terms; lets the contributor, and only the contributor, narrow or revoke that consent.
///         A contributor registers once (profile URI) before submitting. Content is submitted one item at a
///         time or as a batch committed by a Merkle root over its leaves (see docs/registry.md for the leaf
///         encoding). Every state change emits an event carrying the full new state, so an indexer can rebuild
///         items, batches, licenses, contributors and consent from logs alone.
/// @dev Consent is a uint16 bit mask (curation.consent.Consent: TRAIN=1, COMMERCIAL=2, GENERATIVE=4,
///      EVALUATION=8, REDISTRIBUTE=16, SYNTHETIC=32); consent 0 means revoked, for good. Expiry is a unix time in
///      seconds; 0 means none (the latest possible). Consent only ever shrinks: a new mask must be a subset of the
///      current one and a new expiry no later than the current one.
interface IContentRegistry {
    /// @notice One leaf of a batch: the item at position `index` (0-based) of the batch manifest.
    /// @dev leafHash = keccak256(bytes.concat(keccak256(abi.encode(uint256(index), cid, contentSha256, size,
    ///      licenseId, consent, expiry)))); pairs are hashed sorted (OpenZeppelin MerkleProof).
    struct Leaf {
        uint32 index;
        bytes cid;
        bytes32 contentSha256;
        uint64 size;
        uint16 licenseId;
        uint16 consent;
        uint64 expiry;
    }

    /// @notice A registered item as stored on-chain (CID and sha256 are in its ItemSubmitted event only).
    struct ItemRecord {
        address contributor;
        uint64 size;
        uint16 licenseId;
        uint16 consent;
        uint64 expiry;
    }

    /// @notice A registered batch; licenseId 0 means every leaf carries its own terms (consent and expiry 0 then).
    struct BatchRecord {
        address contributor;
        bytes32 root;
        uint32 count;
        uint16 licenseId;
        uint16 consent;
        uint64 expiry;
    }

    // ---------------------------------------------------------------------------------------------------------
    // Events
    // ---------------------------------------------------------------------------------------------------------

    /// @notice `account` was granted (`allowed` true) or lost the license-manager role.
    event LicenseManagerSet(address indexed account, bool allowed);

    /// @notice License `licenseId` now reads: SPDX id `spdx`, class flags `classes`
    ///         (1 commercial use, 2 share-alike, 4 attribution), allowed for new submissions or not.
    event LicenseSet(uint16 indexed licenseId, string spdx, uint8 classes, bool allowed);

    /// @notice `contributor` registered as contributor number `contributorId` with profile `profileURI`.
    event ContributorRegistered(address indexed contributor, uint32 indexed contributorId, string profileURI);

    /// @notice `contributor` replaced its profile URI by `profileURI`.
    event ProfileUpdated(address indexed contributor, uint32 indexed contributorId, string profileURI);

    /// @notice Item `itemId` was submitted by `contributor`: the content with sha256 `contentSha256` and
    ///         `size` bytes, addressed by `cid`, under license `licenseId`, with consent mask `consent` until
    ///         `expiry` (0 = no expiry).
    event ItemSubmitted(
        uint256 indexed itemId,
        address indexed contributor,
        bytes cid,
        bytes32 contentSha256,
        uint64 size,
        uint16 licenseId,
        uint16 consent,
        uint64 expiry
    );

    /// @notice Batch `batchId` of `count` leaves with Merkle root `root` was submitted by `contributor`; the
    ///         leaves are listed in the batch manifest `manifestCid`. `licenseId` 0 marks per-leaf terms (each
    ///         leaf carries its own license, consent and expiry; `consent` and `expiry` are then 0); otherwise
    ///         `licenseId`, `consent` and `expiry` are shared by every leaf.
    event BatchSubmitted(
        uint256 indexed batchId,
        address indexed contributor,
        bytes32 indexed root,
        uint32 count,
        bytes manifestCid,
        uint16 licenseId,
        uint16 consent,
        uint64 expiry
    );

    /// @notice The consent of item `itemId` is now `consent` until `expiry` (0 = none). A revocation reads
    ///         consent 0 and expiry 0, and is final.
    event ItemConsentChanged(uint256 indexed itemId, address indexed contributor, uint16 consent, uint64 expiry);

    /// @notice The consent of leaf `leafIndex` of batch `batchId` is now `consent` until `expiry` (0 = none).
    ///         A revocation reads consent 0 and expiry 0, and is final.
    event LeafConsentChanged(
        uint256 indexed batchId,
        address indexed contributor,
        uint32 indexed leafIndex,
        uint16 consent,
        uint64 expiry
    );

    // ---------------------------------------------------------------------------------------------------------
    // Errors
    // ---------------------------------------------------------------------------------------------------------

    /// @notice Only the admin may grant or revoke the license-manager role.
    error ContentRegistryNotAdmin(address caller);
    /// @notice Only an account with the license-manager role may change the license allowlist.
    error ContentRegistryNotLicenseManager(address caller);
    /// @notice The SPDX id must be 1 to 64 characters from A-Z, a-z, 0-9, '.', '-' and '+'.
    error ContentRegistryInvalidSpdx(string spdx);
    /// @notice License classes may only use bits 1 (commercial use), 2 (share-alike) and 4 (attribution).
    error ContentRegistryUnknownLicenseClasses(uint8 classes);
    /// @notice This address is already registered as a contributor; use updateProfile to change the profile.
    error ContentRegistryAlreadyRegistered(address contributor);
    /// @notice The caller must register as a contributor (register) before submitting or updating a profile.
    error ContentRegistryNotRegistered(address caller);
    /// @notice The profile URI is longer than the 1024 bytes allowed.
    error ContentRegistryProfileURITooLong(uint256 length);
    /// @notice The CID must be binary CIDv0 or CIDv1 with the raw (0x55) or dag-pb (0x70) codec and a 32-byte
    ///         sha2-256 multihash.
    error ContentRegistryMalformedCid(bytes cid);
    /// @notice A raw-codec CID addresses the content's sha256 itself, so its digest must equal the given sha256.
    error ContentRegistryDigestMismatch(bytes32 cidDigest, bytes32 contentSha256);
    /// @notice The content size must be at least one byte.
    error ContentRegistryZeroSize();
    /// @notice No license with this id is on the allowlist.
    error ContentRegistryUnknownLicense(uint16 licenseId);
    /// @notice This license is known but currently not allowed for new submissions.
    error ContentRegistryLicenseNotAllowed(uint16 licenseId);
    /// @notice Consent 0 means revoked: submit or narrow to at least one use, and revoke with revokeConsent or
    ///         revokeLeafConsent.
    error ContentRegistryNoConsent();
    /// @notice The consent mask sets bits that name no known use (known: 0x3f).
    error ContentRegistryUnknownConsentBits(uint16 consent);
    /// @notice A consent expiry must be 0 (none) or later than the current block's timestamp.
    error ContentRegistryExpiryInPast(uint64 expiry, uint256 timestamp);
    /// @notice This CID (compared in its CIDv1 form) is already registered as item `itemId`.
    error ContentRegistryDuplicateCid(bytes cid, uint256 itemId);
    /// @notice A batch must have at least one leaf.
    error ContentRegistryEmptyBatch();
    /// @notice A batch's Merkle root must not be zero.
    error ContentRegistryZeroRoot();
    /// @notice A batch with this Merkle root (the same leaves) is already registered as batch `batchId`.
    error ContentRegistryDuplicateBatch(bytes32 root, uint256 batchId);
    /// @notice A batch with per-leaf terms (licenseId 0) must pass consent 0 and expiry 0.
    error ContentRegistryPerLeafTermsSet(uint16 consent, uint64 expiry);
    /// @notice No item has this id.
    error ContentRegistryUnknownItem(uint256 itemId);
    /// @notice No batch has this id.
    error ContentRegistryUnknownBatch(uint256 batchId);
    /// @notice Only the contributor who submitted the item or batch may change its consent.
    error ContentRegistryNotContributor(address caller, address contributor);
    /// @notice Consent can only be narrowed: the requested mask grants uses the current mask does not.
    error ContentRegistryConsentWidened(uint16 current, uint16 requested);
    /// @notice Consent can only be narrowed: the requested expiry is later than the current one (0 = none).
    error ContentRegistryExpiryExtended(uint64 current, uint64 requested);
    /// @notice The item's consent is revoked, for good; nothing about it can change any more.
    error ContentRegistryItemRevoked(uint256 itemId);
    /// @notice The leaf's consent is revoked, for good; nothing about it can change any more.
    error ContentRegistryLeafRevoked(uint256 batchId, uint32 leafIndex);
    /// @notice The leaf index is not below the batch's leaf count.
    error ContentRegistryLeafIndexOutOfRange(uint256 batchId, uint32 leafIndex, uint32 count);
    /// @notice The Merkle proof does not prove this leaf (index and fields) against the batch's root.
    error ContentRegistryInvalidProof(uint256 batchId, uint32 leafIndex);
    /// @notice In a batch with shared terms every leaf must carry the batch's license, consent and expiry.
    error ContentRegistryLeafTermsMismatch(uint256 batchId, uint32 leafIndex);

    // ---------------------------------------------------------------------------------------------------------
    // License allowlist
    // ---------------------------------------------------------------------------------------------------------

    /// @notice Add license `spdx` (a new id, from 1) or update it: class flags and whether new submissions may
    ///         use it. License-manager role only.
    /// @return licenseId The license's id (stable: the same SPDX id always maps to the same license id).
    function setLicense(string calldata spdx, uint8 classes, bool allowed) external returns (uint16 licenseId);

    /// @notice Grant or revoke the license-manager role. Admin only.
    function setLicenseManager(address account, bool allowed) external;

    // ---------------------------------------------------------------------------------------------------------
    // Contributors
    // ---------------------------------------------------------------------------------------------------------

    /// @notice Register the caller as a contributor (required before submitting), with a profile URI (may be
    ///         empty, at most 1024 bytes).
    /// @return contributorId Sequential, from 1.
    function register(string calldata profileURI) external returns (uint32 contributorId);

    /// @notice Replace the caller's profile URI (at most 1024 bytes).
    function updateProfile(string calldata profileURI) external;

    // ---------------------------------------------------------------------------------------------------------
    // Submission
    // ---------------------------------------------------------------------------------------------------------

    /// @notice Submit one item: binary `cid`, sha256 of the content, its size in bytes (> 0), an allowed license
    ///         id, a non-zero consent mask and an optional expiry (0 = none, else in the future).
    ///         Registered contributors only; a CID already registered (in either CID version) is rejected.
    /// @return itemId Sequential, from 1.
    function submitItem(
        bytes calldata cid,
        bytes32 contentSha256,
        uint64 size,
        uint16 licenseId,
        uint16 consent,
        uint64 expiry
    ) external returns (uint256 itemId);

    /// @notice Submit a batch by the Merkle root of its `count` leaves, listed in manifest `manifestCid`.
    ///         `licenseId` non-zero: shared terms (license allowed, consent non-zero, expiry 0 or future), and every
    ///         leaf carries them. `licenseId` 0: per-leaf terms (consent and expiry must be 0). Leaf CIDs cannot
    ///         be checked here: the indexer drops a malformed leaf or one whose CID is already registered.
    /// @return batchId Sequential, from 1.
    function submitBatch(
        bytes32 root,
        uint32 count,
        bytes calldata manifestCid,
        uint16 licenseId,
        uint16 consent,
        uint64 expiry
    ) external returns (uint256 batchId);

    // ---------------------------------------------------------------------------------------------------------
    // Consent (contributor only, towards less only)
    // ---------------------------------------------------------------------------------------------------------

    /// @notice Narrow item `itemId`'s consent to `consent` (a non-empty subset of the current mask) until `expiry`
    ///         (no later than the current expiry; 0 = none counts as the latest). Contributor only.
    function narrowConsent(uint256 itemId, uint16 consent, uint64 expiry) external;

    /// @notice Revoke item `itemId`'s consent for good (consent 0, expiry 0). Contributor only.
    function revokeConsent(uint256 itemId) external;

    /// @notice Narrow the consent of one leaf of batch `batchId`: prove the leaf (index and fields) with `proof`
    ///         against the batch root, then store the narrowed mask (a non-empty subset of the leaf's current
    ///         mask) and expiry (no later than its current one). Batch contributor only.
    function narrowLeafConsent(
        uint256 batchId,
        Leaf calldata leaf,
        bytes32[] calldata proof,
        uint16 consent,
        uint64 expiry
    ) external;

    /// @notice Revoke leaf `leafIndex` of batch `batchId` for good (a bit in the batch's revocation bitmap).
    ///         Needs no proof: revocation drops every use whatever the leaf granted, and only the batch's
    ///         contributor may call it.
    function revokeLeafConsent(uint256 batchId, uint32 leafIndex) external;

    // ---------------------------------------------------------------------------------------------------------
    // Reads
    // ---------------------------------------------------------------------------------------------------------

    /// @notice The admin that manages license managers.
    function admin() external view returns (address);

    /// @notice Whether `account` may change the license allowlist.
    function isLicenseManager(address account) external view returns (bool);

    /// @notice Number of licenses ever added (ids 1..licenseCount).
    function licenseCount() external view returns (uint16);

    /// @notice SPDX id, class flags and allowed state of license `licenseId` (reverts for an unknown id).
    function license(uint16 licenseId) external view returns (string memory spdx, uint8 classes, bool allowed);

    /// @notice The id of license `spdx`, or 0 if it was never added.
    function licenseIdOf(string calldata spdx) external view returns (uint16);

    /// @notice Number of registered contributors (ids 1..contributorCount).
    function contributorCount() external view returns (uint32);

    /// @notice Contributor id of `account`, 0 if not registered.
    function contributorId(address account) external view returns (uint32);

    /// @notice Address of contributor `id` (the zero address for an unknown id).
    function contributorAddress(uint32 id) external view returns (address);

    /// @notice Number of items (ids 1..itemCount).
    function itemCount() external view returns (uint256);

    /// @notice Number of batches (ids 1..batchCount).
    function batchCount() external view returns (uint256);

    /// @notice The stored record of item `itemId` (reverts for an unknown id).
    function item(uint256 itemId) external view returns (ItemRecord memory);

    /// @notice Item id registered under `cid` (either CID version), 0 if none; reverts for a malformed CID.
    function itemIdByCid(bytes calldata cid) external view returns (uint256);

    /// @notice The stored record of batch `batchId` (reverts for an unknown id).
    function batch(uint256 batchId) external view returns (BatchRecord memory);

    /// @notice Batch id registered with Merkle root `root`, 0 if none.
    function batchIdByRoot(bytes32 root) external view returns (uint256);

    /// @notice Consent of leaf `leafIndex` of batch `batchId` as changed on-chain: `changed` false means the
    ///         leaf still has the terms it was submitted with; a revoked leaf reads (true, 0, 0).
    function leafConsent(uint256 batchId, uint32 leafIndex)
        external
        view
        returns (bool changed, uint16 consent, uint64 expiry);

    /// @notice Whether leaf `leafIndex` of batch `batchId` is revoked.
    function isLeafRevoked(uint256 batchId, uint32 leafIndex) external view returns (bool);

    /// @notice The Merkle leaf hash of `leaf` (the same encoding as curation/merkle.py).
    function leafHash(Leaf calldata leaf) external pure returns (bytes32);

    /// @notice Whether `proof` proves `leaf` against batch `batchId`'s root.
    function verifyLeaf(uint256 batchId, Leaf calldata leaf, bytes32[] calldata proof) external view returns (bool);
}
