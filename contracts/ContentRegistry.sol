// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ERC2771Context} from "@openzeppelin/contracts/metatx/ERC2771Context.sol";
import {IContentRegistry} from "./interfaces/IContentRegistry.sol";
import {BatchLeaves} from "./libraries/BatchLeaves.sol";
import {Cid} from "./libraries/Cid.sol";
import {ConsentRules} from "./libraries/ConsentRules.sol";

/// @title ContentRegistry
/// @notice Contributors, items, batches, the license allowlist and consent; see IContentRegistry and
///         docs/registry.md (storage layout, events, leaf encoding, consent rules).
/// @dev Storage keeps only what on-chain checks need: one packed slot per item plus its CID key, two slots per
///      batch. CID bytes, sha256 and profile URIs live in events only.
contract ContentRegistry is IContentRegistry, ERC2771Context {
    /// @dev One slot: who, how big, under which license, what consent until when (consent 0 = revoked).
    struct Item {
        uint32 contributor;
        uint64 size;
        uint16 licenseId;
        uint16 consent;
        uint64 expiry;
    }

    /// @dev One slot, keyed by the batch root (which makes the root the duplicate key).
    struct Batch {
        uint32 contributor;
        uint32 count;
        uint16 licenseId;
        uint16 consent;
        uint64 expiry;
        uint64 id;
    }

    /// @dev First slot read by every submission; the SPDX string sits in its own slots.
    struct License {
        bool exists;
        bool allowed;
        uint8 classes;
        string spdx;
    }

    /// @dev A leaf's consent after a narrowing (`changed` false: the leaf's own terms still hold).
    struct LeafState {
        bool changed;
        uint16 consent;
        uint64 expiry;
    }

    uint256 private constant _MAX_PROFILE_URI = 1024;
    uint256 private constant _MAX_SPDX = 64;
    uint8 private constant _KNOWN_CLASSES = 0x07;

    address private immutable _admin;

    // Counters share one slot.
    uint64 private _itemCount;
    uint64 private _batchCount;
    uint32 private _contributorCount;
    uint16 private _licenseCount;

    mapping(address account => bool) private _licenseManagers;
    mapping(uint16 licenseId => License) private _licenses;
    mapping(bytes32 spdxHash => uint16 licenseId) private _licenseIds;

    mapping(address account => uint32 contributorId) private _contributorIds;
    mapping(uint32 contributorId => address account) private _contributorAddresses;

    mapping(uint256 itemId => Item) private _items;
    mapping(bytes32 cidKey => uint256 itemId) private _itemIdByCid;

    mapping(uint256 batchId => bytes32 root) private _batchRoots;
    mapping(bytes32 root => Batch) private _batches;
    mapping(uint256 batchId => mapping(uint32 leafIndex => LeafState)) private _leafStates;
    mapping(uint256 batchId => mapping(uint256 word => uint256 bits)) private _revokedLeaves;

    /// @param trustedForwarder_ the ERC-2771 forwarder whose relayed calls act for their signer (gasless use).
    constructor(address admin_, address trustedForwarder_) ERC2771Context(trustedForwarder_) {
        _admin = admin_;
        _licenseManagers[admin_] = true;
        emit LicenseManagerSet(admin_, true);
    }

    // ---------------------------------------------------------------------------------------------------------
    // License allowlist
    // ---------------------------------------------------------------------------------------------------------

    /// @inheritdoc IContentRegistry
    function setLicense(string calldata spdx, uint8 classes, bool allowed) external returns (uint16 licenseId) {
        if (!_licenseManagers[_msgSender()]) revert ContentRegistryNotLicenseManager(_msgSender());
        _checkSpdx(spdx);
        if (classes & ~_KNOWN_CLASSES != 0) revert ContentRegistryUnknownLicenseClasses(classes);
        bytes32 spdxHash = keccak256(bytes(spdx));
        licenseId = _licenseIds[spdxHash];
        License storage lic;
        if (licenseId == 0) {
            licenseId = ++_licenseCount;
            _licenseIds[spdxHash] = licenseId;
            lic = _licenses[licenseId];
            lic.exists = true;
            lic.spdx = spdx;
        } else {
            lic = _licenses[licenseId];
        }
        lic.allowed = allowed;
        lic.classes = classes;
        emit LicenseSet(licenseId, spdx, classes, allowed);
    }

    /// @inheritdoc IContentRegistry
    function setLicenseManager(address account, bool allowed) external {
        if (_msgSender() != _admin) revert ContentRegistryNotAdmin(_msgSender());
        _licenseManagers[account] = allowed;
        emit LicenseManagerSet(account, allowed);
    }

    // ---------------------------------------------------------------------------------------------------------
    // Contributors
    // ---------------------------------------------------------------------------------------------------------

    /// @inheritdoc IContentRegistry
    function register(string calldata profileURI) external returns (uint32 contributorId_) {
        address account = _msgSender();
        if (_contributorIds[account] != 0) revert ContentRegistryAlreadyRegistered(account);
        if (bytes(profileURI).length > _MAX_PROFILE_URI) {
            revert ContentRegistryProfileURITooLong(bytes(profileURI).length);
        }
        contributorId_ = ++_contributorCount;
        _contributorIds[account] = contributorId_;
        _contributorAddresses[contributorId_] = account;
        emit ContributorRegistered(account, contributorId_, profileURI);
    }

    /// @inheritdoc IContentRegistry
    function updateProfile(string calldata profileURI) external {
        uint32 id = _registered();
        if (bytes(profileURI).length > _MAX_PROFILE_URI) {
            revert ContentRegistryProfileURITooLong(bytes(profileURI).length);
        }
        emit ProfileUpdated(_msgSender(), id, profileURI);
    }

    // ---------------------------------------------------------------------------------------------------------
    // Submission
    // ---------------------------------------------------------------------------------------------------------

    /// @inheritdoc IContentRegistry
    function submitItem(
        bytes calldata cid,
        bytes32 contentSha256,
        uint64 size,
        uint16 licenseId,
        uint16 consent,
        uint64 expiry
    ) external returns (uint256 itemId) {
        uint32 contributor = _registered();
        (uint8 codec, bytes32 digest) = Cid.parse(cid);
        if (codec == Cid.RAW && digest != contentSha256) revert ContentRegistryDigestMismatch(digest, contentSha256);
        if (size == 0) revert ContentRegistryZeroSize();
        _checkLicense(licenseId);
        ConsentRules.checkNew(consent, expiry);
        bytes32 key = Cid.key(codec, digest);
        uint256 existing = _itemIdByCid[key];
        if (existing != 0) revert ContentRegistryDuplicateCid(cid, existing);

        itemId = ++_itemCount;
        _itemIdByCid[key] = itemId;
        _storeItem(_items[itemId], contributor, size, licenseId, consent, expiry);
        emit ItemSubmitted(itemId, _msgSender(), cid, contentSha256, size, licenseId, consent, expiry);
    }

    /// @inheritdoc IContentRegistry
    function submitBatch(
        bytes32 root,
        uint32 count,
        bytes calldata manifestCid,
        uint16 licenseId,
        uint16 consent,
        uint64 expiry
    ) external returns (uint256 batchId) {
        uint32 contributor = _registered();
        if (root == bytes32(0)) revert ContentRegistryZeroRoot();
        if (count == 0) revert ContentRegistryEmptyBatch();
        Cid.parse(manifestCid);
        if (licenseId == 0) {
            if (consent != 0 || expiry != 0) revert ContentRegistryPerLeafTermsSet(consent, expiry);
        } else {
            _checkLicense(licenseId);
            ConsentRules.checkNew(consent, expiry);
        }
        Batch storage b = _batches[root];
        if (b.id != 0) revert ContentRegistryDuplicateBatch(root, b.id);

        batchId = ++_batchCount;
        _batchRoots[batchId] = root;
        _storeBatch(b, contributor, count, licenseId, consent, expiry, uint64(batchId));
        emit BatchSubmitted(batchId, _msgSender(), root, count, manifestCid, licenseId, consent, expiry);
    }

    // ---------------------------------------------------------------------------------------------------------
    // Consent
    // ---------------------------------------------------------------------------------------------------------

    /// @inheritdoc IContentRegistry
    function narrowConsent(uint256 itemId, uint16 consent, uint64 expiry) external {
        Item storage it = _ownItem(itemId);
        ConsentRules.checkNarrowing(it.consent, it.expiry, consent, expiry);
        it.consent = consent;
        it.expiry = expiry;
        emit ItemConsentChanged(itemId, _msgSender(), consent, expiry);
    }

    /// @inheritdoc IContentRegistry
    function revokeConsent(uint256 itemId) external {
        Item storage it = _ownItem(itemId);
        it.consent = 0;
        it.expiry = 0;
        emit ItemConsentChanged(itemId, _msgSender(), 0, 0);
    }

    /// @inheritdoc IContentRegistry
    function narrowLeafConsent(
        uint256 batchId,
        Leaf calldata leaf,
        bytes32[] calldata proof,
        uint16 consent,
        uint64 expiry
    ) external {
        (bytes32 root, Batch storage b) = _ownLeaf(batchId, leaf.index);
        if (
            b.licenseId != 0 && (leaf.licenseId != b.licenseId || leaf.consent != b.consent || leaf.expiry != b.expiry)
        ) revert ContentRegistryLeafTermsMismatch(batchId, leaf.index);
        if (!BatchLeaves.verify(leaf, proof, root)) revert ContentRegistryInvalidProof(batchId, leaf.index);
        LeafState storage state = _leafStates[batchId][leaf.index];
        if (state.changed) {
            ConsentRules.checkNarrowing(state.consent, state.expiry, consent, expiry);
        } else {
            ConsentRules.checkNarrowing(leaf.consent, leaf.expiry, consent, expiry);
        }
        _storeLeafState(state, consent, expiry);
        emit LeafConsentChanged(batchId, _msgSender(), leaf.index, consent, expiry);
    }

    /// @inheritdoc IContentRegistry
    function revokeLeafConsent(uint256 batchId, uint32 leafIndex) external {
        _ownLeaf(batchId, leafIndex);
        _revokedLeaves[batchId][leafIndex >> 8] |= uint256(1) << (leafIndex & 0xff);
        emit LeafConsentChanged(batchId, _msgSender(), leafIndex, 0, 0);
    }

    // ---------------------------------------------------------------------------------------------------------
    // Reads
    // ---------------------------------------------------------------------------------------------------------

    /// @inheritdoc IContentRegistry
    function admin() external view returns (address) {
        return _admin;
    }

    /// @inheritdoc IContentRegistry
    function isLicenseManager(address account) external view returns (bool) {
        return _licenseManagers[account];
    }

    /// @inheritdoc IContentRegistry
    function licenseCount() external view returns (uint16) {
        return _licenseCount;
    }

    /// @inheritdoc IContentRegistry
    function license(uint16 licenseId) external view returns (string memory spdx, uint8 classes, bool allowed) {
        License storage lic = _licenses[licenseId];
        if (!lic.exists) revert ContentRegistryUnknownLicense(licenseId);
        return (lic.spdx, lic.classes, lic.allowed);
    }

    /// @inheritdoc IContentRegistry
    function licenseIdOf(string calldata spdx) external view returns (uint16) {
        return _licenseIds[keccak256(bytes(spdx))];
    }

    /// @inheritdoc IContentRegistry
    function contributorCount() external view returns (uint32) {
        return _contributorCount;
    }

    /// @inheritdoc IContentRegistry
    function contributorId(address account) external view returns (uint32) {
        return _contributorIds[account];
    }

    /// @inheritdoc IContentRegistry
    function contributorAddress(uint32 id) external view returns (address) {
        return _contributorAddresses[id];
    }

    /// @inheritdoc IContentRegistry
    function itemCount() external view returns (uint256) {
        return _itemCount;
    }

    /// @inheritdoc IContentRegistry
    function batchCount() external view returns (uint256) {
        return _batchCount;
    }

    /// @inheritdoc IContentRegistry
    function item(uint256 itemId) external view returns (ItemRecord memory) {
        Item storage it = _items[itemId];
        if (it.contributor == 0) revert ContentRegistryUnknownItem(itemId);
        return ItemRecord(_contributorAddresses[it.contributor], it.size, it.licenseId, it.consent, it.expiry);
    }

    /// @inheritdoc IContentRegistry
    function itemIdByCid(bytes calldata cid) external view returns (uint256) {
        (uint8 codec, bytes32 digest) = Cid.parse(cid);
        return _itemIdByCid[Cid.key(codec, digest)];
    }

    /// @inheritdoc IContentRegistry
    function batch(uint256 batchId) external view returns (BatchRecord memory) {
        bytes32 root = _batchRoots[batchId];
        if (root == bytes32(0)) revert ContentRegistryUnknownBatch(batchId);
        Batch storage b = _batches[root];
        return BatchRecord(_contributorAddresses[b.contributor], root, b.count, b.licenseId, b.consent, b.expiry);
    }

    /// @inheritdoc IContentRegistry
    function batchIdByRoot(bytes32 root) external view returns (uint256) {
        return _batches[root].id;
    }

    /// @inheritdoc IContentRegistry
    function leafConsent(uint256 batchId, uint32 leafIndex)
        external
        view
        returns (bool changed, uint16 consent, uint64 expiry)
    {
        if (_isRevoked(batchId, leafIndex)) return (true, 0, 0);
        LeafState storage state = _leafStates[batchId][leafIndex];
        return (state.changed, state.consent, state.expiry);
    }

    /// @inheritdoc IContentRegistry
    function isLeafRevoked(uint256 batchId, uint32 leafIndex) external view returns (bool) {
        return _isRevoked(batchId, leafIndex);
    }

    /// @inheritdoc IContentRegistry
    function leafHash(Leaf calldata leaf) external pure returns (bytes32) {
        return BatchLeaves.hash(leaf);
    }

    /// @inheritdoc IContentRegistry
    function verifyLeaf(uint256 batchId, Leaf calldata leaf, bytes32[] calldata proof) external view returns (bool) {
        bytes32 root = _batchRoots[batchId];
        if (root == bytes32(0)) revert ContentRegistryUnknownBatch(batchId);
        return BatchLeaves.verify(leaf, proof, root);
    }

    // ---------------------------------------------------------------------------------------------------------
    // Internal checks
    // ---------------------------------------------------------------------------------------------------------

    /// @dev The caller's contributor id; reverts when the caller never registered.
    function _registered() private view returns (uint32 id) {
        id = _contributorIds[_msgSender()];
        if (id == 0) revert ContentRegistryNotRegistered(_msgSender());
    }

    function _checkLicense(uint16 licenseId) private view {
        License storage lic = _licenses[licenseId];
        if (!lic.exists) revert ContentRegistryUnknownLicense(licenseId);
        if (!lic.allowed) revert ContentRegistryLicenseNotAllowed(licenseId);
    }

    function _checkSpdx(string calldata spdx) private pure {
        bytes calldata s = bytes(spdx);
        if (s.length == 0 || s.length > _MAX_SPDX) revert ContentRegistryInvalidSpdx(spdx);
        for (uint256 i = 0; i < s.length; ++i) {
            bytes1 c = s[i];
            bool ok = (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || (c >= "0" && c <= "9") || c == "."
                || c == "-" || c == "+";
            if (!ok) revert ContentRegistryInvalidSpdx(spdx);
        }
    }

    /// @dev The caller's own, unrevoked item.
    function _ownItem(uint256 itemId) private view returns (Item storage it) {
        it = _items[itemId];
        if (it.contributor == 0) revert ContentRegistryUnknownItem(itemId);
        if (it.contributor != _contributorIds[_msgSender()]) {
            revert ContentRegistryNotContributor(_msgSender(), _contributorAddresses[it.contributor]);
        }
        if (it.consent == 0) revert ContentRegistryItemRevoked(itemId);
    }

    /// @dev Root and record of the caller's own batch, with `leafIndex` in range and not revoked.
    function _ownLeaf(uint256 batchId, uint32 leafIndex) private view returns (bytes32 root, Batch storage b) {
        root = _batchRoots[batchId];
        if (root == bytes32(0)) revert ContentRegistryUnknownBatch(batchId);
        b = _batches[root];
        if (b.contributor != _contributorIds[_msgSender()]) {
            revert ContentRegistryNotContributor(_msgSender(), _contributorAddresses[b.contributor]);
        }
        if (leafIndex >= b.count) revert ContentRegistryLeafIndexOutOfRange(batchId, leafIndex, b.count);
        if (_isRevoked(batchId, leafIndex)) revert ContentRegistryLeafRevoked(batchId, leafIndex);
    }

    /// @dev One SSTORE for the whole packed slot (Item's layout: contributor in the low 32 bits, then size,
    ///      licenseId, consent, expiry); assigning a struct would store member by member.
    function _storeItem(Item storage it, uint32 contributor, uint64 size, uint16 licenseId, uint16 consent, uint64 expiry)
        private
    {
        uint256 word = uint256(contributor) | (uint256(size) << 32) | (uint256(licenseId) << 96)
            | (uint256(consent) << 112) | (uint256(expiry) << 128);
        assembly ("memory-safe") {
            sstore(it.slot, word)
        }
    }

    /// @dev One SSTORE (Batch's layout: contributor, count, licenseId, consent, expiry, id from the low bits).
    function _storeBatch(
        Batch storage b,
        uint32 contributor,
        uint32 count,
        uint16 licenseId,
        uint16 consent,
        uint64 expiry,
        uint64 id
    ) private {
        uint256 word = uint256(contributor) | (uint256(count) << 32) | (uint256(licenseId) << 64)
            | (uint256(consent) << 80) | (uint256(expiry) << 96) | (uint256(id) << 160);
        assembly ("memory-safe") {
            sstore(b.slot, word)
        }
    }

    /// @dev One SSTORE (LeafState's layout: changed = 1 in the low byte, then consent, expiry).
    function _storeLeafState(LeafState storage state, uint16 consent, uint64 expiry) private {
        uint256 word = 1 | (uint256(consent) << 8) | (uint256(expiry) << 24);
        assembly ("memory-safe") {
            sstore(state.slot, word)
        }
    }

    function _isRevoked(uint256 batchId, uint32 leafIndex) private view returns (bool) {
        return _revokedLeaves[batchId][leafIndex >> 8] & (uint256(1) << (leafIndex & 0xff)) != 0;
    }
}
