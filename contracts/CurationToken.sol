// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";
import {ERC20Votes} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Votes.sol";
import {Context} from "@openzeppelin/contracts/utils/Context.sol";
import {ERC2771Context} from "@openzeppelin/contracts/metatx/ERC2771Context.sol";
import {Nonces} from "@openzeppelin/contracts/utils/Nonces.sol";
import {ICurationToken} from "./interfaces/ICurationToken.sol";

/// @title CurationToken
/// @notice Checkpointed voting token of Curation Commons. The clock is the block number (OpenZeppelin's
///         ERC20Votes default), so `getPastVotes(account, snapshotBlock)` is what a curator weighs.
contract CurationToken is ICurationToken, ERC20, ERC20Permit, ERC20Votes, ERC2771Context {
    address private immutable _admin;
    mapping(address account => bool) private _minters;

    constructor(string memory name_, string memory symbol_, address admin_, address trustedForwarder_)
        ERC20(name_, symbol_)
        ERC20Permit(name_)
        ERC2771Context(trustedForwarder_)
    {
        _admin = admin_;
        _minters[admin_] = true;
        emit MinterSet(admin_, true);
    }

    /// @inheritdoc ICurationToken
    function mint(address to, uint256 amount) external {
        if (!_minters[_msgSender()]) revert CurationTokenNotMinter(_msgSender());
        _mint(to, amount);
    }

    /// @inheritdoc ICurationToken
    function setMinter(address account, bool allowed) external {
        if (_msgSender() != _admin) revert CurationTokenNotAdmin(_msgSender());
        _minters[account] = allowed;
        emit MinterSet(account, allowed);
    }

    /// @inheritdoc ICurationToken
    function isMinter(address account) external view returns (bool) {
        return _minters[account];
    }

    /// @inheritdoc ICurationToken
    function admin() external view returns (address) {
        return _admin;
    }

    function _update(address from, address to, uint256 value) internal override(ERC20, ERC20Votes) {
        super._update(from, to, value);
    }

    function nonces(address owner) public view override(ERC20Permit, Nonces) returns (uint256) {
        return super.nonces(owner);
    }

    function _msgSender() internal view override(Context, ERC2771Context) returns (address) {
        return ERC2771Context._msgSender();
    }

    function _msgData() internal view override(Context, ERC2771Context) returns (bytes calldata) {
        return ERC2771Context._msgData();
    }

    function _contextSuffixLength() internal view override(Context, ERC2771Context) returns (uint256) {
        return ERC2771Context._contextSuffixLength();
    }
}
