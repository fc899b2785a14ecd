// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title Curation Commons voting token
/// @notice ERC20 with EIP-2612 permits and ERC20Votes checkpoints on a block-number clock (ERC-6372).
///         Voting power must be delegated (to oneself or another curator) before a proposal's snapshot to count.
interface ICurationToken {
    /// @notice Emitted when `account` is granted or loses the minter role.
    event MinterSet(address indexed account, bool allowed);

    /// @notice The caller lacks the minter role.
    error CurationTokenNotMinter(address caller);
    /// @notice The caller is not the admin.
    error CurationTokenNotAdmin(address caller);

    /// @notice Mint `amount` tokens to `to`. Minter role only.
    function mint(address to, uint256 amount) external;

    /// @notice Grant or revoke the minter role. Admin only.
    function setMinter(address account, bool allowed) external;

    /// @notice Whether `account` may mint.
    function isMinter(address account) external view returns (bool);

    /// @notice The admin that manages minters.
    function admin() external view returns (address);
}
