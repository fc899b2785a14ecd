// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {TimelockController} from "@openzeppelin/contracts/governance/TimelockController.sol";

/// @title CommonsTimelock
/// @notice OpenZeppelin's TimelockController, unchanged, under the name the deployment record uses. It holds
///         the admin role of every Curation Commons contract; the CommonsGovernor is its proposer and canceller
///         and anyone may execute a queued operation once its delay has passed.
contract CommonsTimelock is TimelockController {
    constructor(uint256 minDelay, address[] memory proposers, address[] memory executors, address admin)
        TimelockController(minDelay, proposers, executors, admin)
    {}
}
