// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ERC2771Forwarder} from "@openzeppelin/contracts/metatx/ERC2771Forwarder.sol";

/// @title CommonsForwarder
/// @notice OpenZeppelin's ERC-2771 forwarder, unchanged. A contributor or curator without ETH signs an EIP-712
///         ForwardRequest; a relayer pays the gas and the registry, token and voting contracts see the signer
///         as the sender (they trust this forwarder through ERC2771Context).
contract CommonsForwarder is ERC2771Forwarder {
    constructor() ERC2771Forwarder("Curation Commons Forwarder") {}
}
