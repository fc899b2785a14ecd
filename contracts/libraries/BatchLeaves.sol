// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {IContentRegistry} from "../interfaces/IContentRegistry.sol";

/// @title Batch leaves: the one leaf encoding (mirrored by curation/merkle.py) and proof checks
/// @notice leafHash = keccak256(bytes.concat(keccak256(abi.encode(uint256 index, bytes cid, bytes32 contentSha256,
///         uint64 size, uint16 licenseId, uint16 consent, uint64 expiry)))). Double hashing keeps a leaf (keccak of
///         32 bytes) from ever equalling an inner node (keccak of 64 bytes). Inner nodes hash their two children
///         sorted, as OpenZeppelin MerkleProof does.
library BatchLeaves {
    /// @notice The Merkle leaf hash of `leaf`.
    function hash(IContentRegistry.Leaf calldata leaf) internal pure returns (bytes32) {
        return keccak256(
            bytes.concat(
                keccak256(
                    abi.encode(
                        uint256(leaf.index),
                        leaf.cid,
                        leaf.contentSha256,
                        leaf.size,
                        leaf.licenseId,
                        leaf.consent,
                        leaf.expiry
                    )
                )
            )
        );
    }

    /// @notice Whether `proof` proves `leaf` against `root`.
    function verify(IContentRegistry.Leaf calldata leaf, bytes32[] calldata proof, bytes32 root)
        internal
        pure
        returns (bool)
    {
        return MerkleProof.verifyCalldata(proof, root, hash(leaf));
    }
}
