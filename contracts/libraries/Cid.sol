// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IContentRegistry} from "../interfaces/IContentRegistry.sol";

/// @title Binary CID checks for the content registry
/// @notice Accepts exactly the CIDs the registry stores: CIDv0 (`0x12 0x20` + 32-byte sha2-256 digest, always
///         dag-pb) and CIDv1 (`0x01`, codec raw `0x55` or dag-pb `0x70`, `0x12 0x20` + 32-byte digest).
/// @dev A CIDv0 and the CIDv1 dag-pb CID of the same digest name the same block, so duplicates are keyed by the
///      keccak256 of the CIDv1 binary form (see `key`).
library Cid {
    /// @notice Multicodec of raw bytes (what `ipfs add --cid-version=1 --raw-leaves` gives a small file).
    uint8 internal constant RAW = 0x55;
    /// @notice Multicodec of a dag-pb (UnixFS) block.
    uint8 internal constant DAG_PB = 0x70;

    /// @notice Split `cid` into codec and sha2-256 digest; reverts ContentRegistryMalformedCid otherwise.
    function parse(bytes calldata cid) internal pure returns (uint8 codec, bytes32 digest) {
        uint256 head;
        uint256 offset;
        assembly ("memory-safe") {
            offset := cid.offset
            head := calldataload(offset)
        }
        if (cid.length == 34 && head >> 240 == 0x1220) {
            assembly ("memory-safe") {
                digest := calldataload(add(offset, 2))
            }
            return (DAG_PB, digest);
        }
        uint256 prefix = head >> 224;
        if (cid.length == 36 && (prefix == 0x01551220 || prefix == 0x01701220)) {
            assembly ("memory-safe") {
                digest := calldataload(add(offset, 4))
            }
            return (uint8(prefix >> 16), digest);
        }
        revert IContentRegistry.ContentRegistryMalformedCid(cid);
    }

    /// @notice Duplicate-detection key: keccak256 of the CIDv1 binary form (`0x01 codec 0x12 0x20 digest`).
    function key(uint8 codec, bytes32 digest) internal pure returns (bytes32) {
        // keccak256(abi.encodePacked(uint8(0x01), codec, uint16(0x1220), digest)), hashed in scratch space.
        bytes32 k;
        assembly ("memory-safe") {
            mstore(0x00, shl(224, or(0x01001220, shl(16, codec))))
            mstore(0x04, digest)
            k := keccak256(0x00, 36)
        }
        return k;
    }
}
