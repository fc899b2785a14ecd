"""Typed wrapper of CurationToken (ERC20 + ERC20Permit + ERC20Votes, block-number clock)."""

from __future__ import annotations

from backend.chain.contract import ContractClient, Receipt

__all__ = ["TokenClient"]


class TokenClient(ContractClient):
    artifact = "CurationToken"

    # --- transactions -------------------------------------------------------------------------------------
    def mint(self, to: str, amount: int) -> Receipt:
        return self._transact("mint", to, amount, gas=300_000)

    def set_minter(self, account: str, allowed: bool) -> Receipt:
        return self._transact("setMinter", account, allowed, gas=100_000)

    def delegate(self, delegatee: str) -> Receipt:
        return self._transact("delegate", delegatee, gas=300_000)

    def transfer(self, to: str, amount: int) -> Receipt:
        return self._transact("transfer", to, amount, gas=300_000)

    def approve(self, spender: str, amount: int) -> Receipt:
        return self._transact("approve", spender, amount, gas=100_000)

    def transfer_from(self, owner: str, to: str, amount: int) -> Receipt:
        return self._transact("transferFrom", owner, to, amount, gas=300_000)

    # --- reads --------------------------------------------------------------------------------------------
    def balance_of(self, account: str) -> int:
        return int(self._call("balanceOf", account))

    def decimals(self) -> int:
        return int(self._call("decimals"))

    def total_supply(self) -> int:
        return int(self._call("totalSupply"))

    def get_votes(self, account: str) -> int:
        return int(self._call("getVotes", account))

    def get_past_votes(self, account: str, timepoint: int) -> int:
        return int(self._call("getPastVotes", account, timepoint))

    def get_past_total_supply(self, timepoint: int) -> int:
        return int(self._call("getPastTotalSupply", timepoint))

    def delegates(self, account: str) -> str:
        return str(self._call("delegates", account))

    def is_minter(self, account: str) -> bool:
        return bool(self._call("isMinter", account))

    def admin(self) -> str:
        return str(self._call("admin"))

    def clock(self) -> int:
        return int(self._call("clock"))

    def clock_mode(self) -> str:
        return str(self._call("CLOCK_MODE"))

    def nonces(self, owner: str) -> int:
        return int(self._call("nonces", owner))
