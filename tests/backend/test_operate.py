"""backend.operate on the embedded chain: each operator use case, each typed refusal (nothing sent), and the
Python bounds agreeing with CurationVoting's at every boundary it enforces."""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace
from typing import Any

import pytest
from eth_account import Account

from backend import operate
from backend.chain.accounts import Signer
from backend.chain.registry import RegistryClient
from backend.chain.releases import ReleaseClient
from backend.chain.token import TokenClient
from backend.chain.voting import DatasetParams, VotingClient
from backend.errors import ConfigError, ContractRevert
from backend.govern import NotConfirmed
from backend.operate import (
    Contracts,
    MissingRole,
    NotDevChain,
    NothingToChange,
    Plan,
    UnknownLicense,
)
from curation.consent import Consent
from curation.errors import InvalidInput
from curation.licenses import InvalidLicenseClasses, InvalidSpdx, LicenseClass
from curation.params import (
    InvalidAddress,
    InvalidAmount,
    InvalidDatasetName,
    InvalidUse,
    ParamOutOfRange,
)
from curation.roles import Role
from curation.state import UnknownDataset
from tests.conftest import Chain

CID = "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy"


def _contracts(chain: Chain, signer: Signer | None = None) -> Contracts:
    who = signer or chain.admin
    d = chain.deployment
    return Contracts(
        TokenClient(chain.w3, d.address("CurationToken"), who),
        RegistryClient(chain.w3, d.address("ContentRegistry"), who),
        VotingClient(chain.w3, d.address("CurationVoting"), who),
        ReleaseClient(chain.w3, d.address("ReleaseRegistry"), who),
    )


class Recorder:
    """A confirm callback that records the plans it was shown and answers `answer`."""

    def __init__(self, answer: bool = True) -> None:
        self.answer = answer
        self.plans: list[Plan] = []

    def __call__(self, plan: Plan) -> bool:
        self.plans.append(plan)
        return self.answer


class Untouched:
    """Asserts that no block was mined (nothing sent) between its creation and `check()`."""

    def __init__(self, chain: Chain) -> None:
        self.w3 = chain.w3
        self.block = chain.w3.eth.block_number

    def check(self) -> None:
        assert self.w3.eth.block_number == self.block


# --- dataset create ---------------------------------------------------------------------------------------


def test_create_dataset_shows_the_plan_then_creates_it(chain: Chain) -> None:
    c = _contracts(chain)
    before = c.voting.dataset_count()
    seen = Recorder()
    done = operate.create_dataset(
        c.voting, "essays", "train,commercial", CID, {"quorum_bps": 1000, "voting_period": 20}, seen
    )
    assert done.dataset_id == before + 1 == c.voting.dataset_count()
    info = c.voting.get_dataset(done.dataset_id)
    assert (info.name, info.use, info.description_cid) == (
        "essays",
        int(Consent.TRAIN | Consent.COMMERCIAL),
        CID,
    )
    assert info.params == DatasetParams(quorum_bps=1000, voting_period=20) == done.params
    [plan] = seen.plans
    assert (plan.contract, plan.function, plan.sender) == (
        "CurationVoting",
        "createDataset",
        chain.admin.address,
    )
    assert dict(plan.args)["use"] == "train,commercial (3)"
    assert "quorum_bps=1000" in dict(plan.args)["params"]


@pytest.mark.parametrize(
    ("name", "use", "cid", "params", "error", "words"),
    [
        ("", "train", CID, {}, InvalidDatasetName, "dataset name = ''"),
        ("d", "train,telepathy", CID, {}, InvalidUse, "unknown consent flag 'telepathy'"),
        ("d", "none", CID, {}, InvalidUse, "declares no use"),
        ("d", "0x40", CID, {}, InvalidUse, "unknown bits"),
        ("d", "train", "not-a-cid", {}, InvalidInput, "description_cid = 'not-a-cid'"),
        ("d", "train", CID, {"quorum_bps": 10_001}, ParamOutOfRange, "quorum_bps = 10001 .* from 0 to 10000"),
        ("d", "train", CID, {"approval_bps": 0}, ParamOutOfRange, "approval_bps = 0 .* from 1 to 10000"),
        (
            "d",
            "train",
            CID,
            {"approval_bps": 10_001},
            ParamOutOfRange,
            "approval_bps = 10001 .* from 1 to 10000",
        ),
        ("d", "train", CID, {"voting_delay": 0}, ParamOutOfRange, "voting_delay = 0 .* from 1 to 4294967295"),
        (
            "d",
            "train",
            CID,
            {"voting_period": 0},
            ParamOutOfRange,
            "voting_period = 0 .* from 1 to 4294967295",
        ),
        (
            "d",
            "train",
            CID,
            {"late_quorum_extension": 2**32},
            ParamOutOfRange,
            "late_quorum_extension = 4294967296",
        ),
        (
            "d",
            "train",
            CID,
            {"proposal_threshold": -1},
            ParamOutOfRange,
            "proposal_threshold = -1 .* from 0 to",
        ),
        ("d", "train", CID, {"proposal_threshold": 2**128}, ParamOutOfRange, "proposal_threshold = 3402"),
        ("d", "train", CID, {"quorum": 5}, ParamOutOfRange, "unknown dataset parameter 'quorum'"),
    ],
)
def test_create_dataset_refuses_bad_input_before_sending(
    chain: Chain, name: str, use: str, cid: str, params: dict[str, int], error: type[Exception], words: str
) -> None:
    c = _contracts(chain)
    count, untouched, seen = c.voting.dataset_count(), Untouched(chain), Recorder()
    with pytest.raises(error, match=words):
        operate.create_dataset(c.voting, name, use, cid, params, seen)
    assert c.voting.dataset_count() == count
    assert seen.plans == []
    untouched.check()


@pytest.mark.parametrize(
    ("field", "bad", "good"),
    [
        ("voting_delay", 0, 1),
        ("voting_period", 0, 1),
        ("quorum_bps", 10_001, 10_000),
        ("approval_bps", 0, 1),
        ("approval_bps", 10_001, 10_000),
    ],
)
def test_python_bounds_agree_with_the_contract_at_each_boundary(
    chain: Chain, field: str, bad: int, good: int
) -> None:
    c = _contracts(chain)
    with pytest.raises(ParamOutOfRange):
        operate.create_dataset(c.voting, "d", "train", CID, {field: bad})
    with pytest.raises(ContractRevert, match="CurationVoting"):
        c.voting.create_dataset("d", CID, 1, replace(DatasetParams(), **{field: bad}))
    done = operate.create_dataset(c.voting, "d", "train", CID, {field: good})
    assert getattr(c.voting.get_dataset(done.dataset_id).params, field) == good


def test_create_dataset_needs_the_dataset_manager_role(chain: Chain) -> None:
    c = _contracts(chain, chain.signers[3])
    untouched = Untouched(chain)
    with pytest.raises(MissingRole, match=f"{chain.signers[3].address} lacks the dataset-manager role"):
        operate.create_dataset(c.voting, "d", "train", CID)
    untouched.check()


def test_declining_the_plan_sends_nothing(chain: Chain) -> None:
    c = _contracts(chain)
    count, untouched, no = c.voting.dataset_count(), Untouched(chain), Recorder(answer=False)
    with pytest.raises(NotConfirmed, match="nothing was sent"):
        operate.create_dataset(c.voting, "d", "train", CID, confirm=no)
    assert len(no.plans) == 1
    assert c.voting.dataset_count() == count
    untouched.check()


def test_a_revert_after_the_checks_comes_out_as_the_contracts_error(chain: Chain) -> None:
    c = _contracts(chain)

    def revoke_meanwhile(_plan: Plan) -> bool:  # another admin transaction lands between check and send
        c.voting.set_dataset_manager(chain.admin.address, False)
        return True

    with pytest.raises(ContractRevert, match="CurationVotingNotDatasetManager"):
        operate.create_dataset(c.voting, "d", "train", CID, confirm=revoke_meanwhile)


def test_operations_need_a_signer(chain: Chain) -> None:
    c = _contracts(chain)
    voting = c.voting.with_signer(chain.admin)
    voting.signer = None
    with pytest.raises(ConfigError, match="needs a signer"):
        operate.create_dataset(voting, "d", "train", CID)


# --- dataset params / list --------------------------------------------------------------------------------


def test_set_dataset_params_changes_only_the_given_fields(chain: Chain) -> None:
    c = _contracts(chain)
    ds = operate.create_dataset(c.voting, "d", "train", CID, {"voting_period": 30}).dataset_id
    seen = Recorder()
    done = operate.set_dataset_params(c.voting, ds, {"quorum_bps": 2500, "voting_period": 30}, seen)
    assert done.changed == {"quorum_bps": (400, 2500)}
    assert c.voting.get_dataset(ds).params == DatasetParams(voting_period=30, quorum_bps=2500)
    args = dict(seen.plans[0].args)
    assert args["quorum_bps"] == "400 -> 2500"
    assert args["voting_period"] == "30 (unchanged)"


@pytest.mark.parametrize(
    ("dataset", "changes", "error", "words"),
    [
        (1, {}, NothingToChange, "no parameter given"),
        (1, {"quorum_bps": 400}, NothingToChange, "already has"),
        (99, {"quorum_bps": 1}, UnknownDataset, r"dataset 99 does not exist \(datasets are numbered 1..1\)"),
        (1, {"approval_bps": 20_000}, ParamOutOfRange, "approval_bps = 20000"),
    ],
)
def test_set_dataset_params_refusals_send_nothing(
    chain: Chain, dataset: int, changes: dict[str, int], error: type[Exception], words: str
) -> None:
    c = _contracts(chain)
    operate.create_dataset(c.voting, "d", "train", CID)
    untouched = Untouched(chain)
    with pytest.raises(error, match=words):
        operate.set_dataset_params(c.voting, dataset, changes)
    untouched.check()


def test_set_dataset_params_needs_the_role(chain: Chain) -> None:
    c = _contracts(chain)
    ds = operate.create_dataset(c.voting, "d", "train", CID).dataset_id
    untouched = Untouched(chain)
    with pytest.raises(MissingRole, match="dataset-manager"):
        operate.set_dataset_params(_contracts(chain, chain.signers[2]).voting, ds, {"quorum_bps": 1})
    untouched.check()


def test_list_datasets_lists_every_dataset(chain: Chain) -> None:
    c = _contracts(chain)
    a = operate.create_dataset(c.voting, "a", "train", CID).dataset_id
    b = operate.create_dataset(c.voting, "b", "evaluation", CID).dataset_id
    found = {d.dataset_id: d for d in operate.list_datasets(c.voting)}
    assert (found[a].name, found[b].name, found[b].use) == ("a", "b", int(Consent.EVALUATION))


# --- licenses ---------------------------------------------------------------------------------------------


def test_add_a_custom_license_then_disable_it_then_list(chain: Chain) -> None:
    c = _contracts(chain)
    added = operate.set_license(c.registry, "LicenseRef-Foo-1.0", "attribution", custom=True)
    assert (added.spdx, added.classes, added.allowed) == (
        "LicenseRef-Foo-1.0",
        int(LicenseClass.ATTRIBUTION),
        True,
    )
    assert c.registry.license_id_of("LicenseRef-Foo-1.0") == added.license_id
    off = operate.disable_license(c.registry, "LicenseRef-Foo-1.0")
    assert (off.license_id, off.allowed) == (added.license_id, False)
    listed = {r.spdx: r for r in operate.list_licenses(c.registry)}
    assert listed["LicenseRef-Foo-1.0"].allowed is False
    assert listed["CC-BY-4.0"].allowed is True


def test_known_ids_are_normalised_and_take_their_known_classes(chain: Chain) -> None:
    c = _contracts(chain)
    operate.disable_license(c.registry, "cc-by-sa-4.0")  # found by its canonical spelling
    assert c.registry.license(c.registry.license_id_of("CC-BY-SA-4.0")).allowed is False
    seen = Recorder()
    back = operate.set_license(c.registry, "cc-by-sa-4.0", confirm=seen)
    assert back.spdx == "CC-BY-SA-4.0"
    assert back.classes == int(
        LicenseClass.COMMERCIAL_USE | LicenseClass.SHARE_ALIKE | LicenseClass.ATTRIBUTION
    )
    assert dict(seen.plans[0].args)["classes"] == "commercial,share-alike,attribution (7)"


@pytest.mark.parametrize(
    ("spdx", "classes", "custom", "error", "words"),
    [
        ("CC-BY-4.0", None, False, NothingToChange, "already allowed"),
        ("Foo-1.0", "attribution", False, InvalidSpdx, "spdx = 'Foo-1.0' is not a known license .* --custom"),
        ("Foo 1.0", "attribution", True, InvalidSpdx, "1 to 64 characters from A-Z"),
        ("F" * 65, "attribution", True, InvalidSpdx, "1 to 64 characters"),
        ("Foo-1.0", None, True, InvalidLicenseClasses, "give its --classes"),
        ("Foo-1.0", "commercial,gratis", True, InvalidLicenseClasses, "unknown class 'gratis'"),
        ("CC-BY-NC-4.0", "commercial,attribution", False, InvalidLicenseClasses, "contradicts CC-BY-NC-4.0"),
    ],
)
def test_license_refusals_send_nothing(
    chain: Chain, spdx: str, classes: str | None, custom: bool, error: type[Exception], words: str
) -> None:
    c = _contracts(chain)
    count, untouched = c.registry.license_count(), Untouched(chain)
    with pytest.raises(error, match=words):
        operate.set_license(c.registry, spdx, classes, custom=custom)
    assert c.registry.license_count() == count
    untouched.check()


def test_disable_refusals_send_nothing(chain: Chain) -> None:
    c = _contracts(chain)
    operate.disable_license(c.registry, "MIT")
    untouched = Untouched(chain)
    with pytest.raises(UnknownLicense, match=r"spdx = 'GPL-3\.0-only' was never added"):
        operate.disable_license(c.registry, "GPL-3.0-only")
    with pytest.raises(NothingToChange, match="already disabled"):
        operate.disable_license(c.registry, "MIT")
    untouched.check()


def test_licenses_need_the_license_manager_role(chain: Chain) -> None:
    registry = _contracts(chain, chain.signers[4]).registry
    untouched = Untouched(chain)
    with pytest.raises(MissingRole, match="lacks the license-manager role"):
        operate.disable_license(registry, "MIT")
    untouched.check()


# --- roles ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", list(Role))
def test_grant_show_and_revoke_each_role(chain: Chain, role: Role) -> None:
    c = _contracts(chain)
    who = chain.signers[5].address
    assert not c.holds(role, who)
    seen = Recorder()
    granted = operate.set_role(c, role, who.lower(), True, seen)
    assert (granted.account, granted.allowed) == (who, True)
    assert c.holds(role, who)
    assert dict(seen.plans[0].args) == {"account": who, "allowed": "true"}
    rows = {r.role: r for r in operate.show_roles(c, who)}
    assert rows[role].holds
    assert rows[role].admin == chain.admin.address
    assert sum(r.holds for r in rows.values()) == 1
    operate.set_role(c, role, who, False)
    assert not c.holds(role, who)


def test_show_roles_defaults_to_the_signer(chain: Chain) -> None:
    rows = operate.show_roles(_contracts(chain))
    assert [r.role for r in rows] == list(Role)
    assert all(r.holds for r in rows)  # the deployer holds every role of a fresh deployment
    assert {r.contract for r in rows} == {
        "CurationToken",
        "CurationVoting",
        "ContentRegistry",
        "ReleaseRegistry",
    }


def test_role_refusals_send_nothing(chain: Chain) -> None:
    c = _contracts(chain)
    untouched = Untouched(chain)
    with pytest.raises(MissingRole, match="is not the admin of CurationToken"):
        operate.set_role(_contracts(chain, chain.signers[1]), Role.MINTER, chain.signers[2].address, True)
    with pytest.raises(NothingToChange, match="already holds the publisher role"):
        operate.set_role(c, Role.PUBLISHER, chain.admin.address, True)
    with pytest.raises(NothingToChange, match="does not hold the minter role"):
        operate.set_role(c, Role.MINTER, chain.signers[2].address, False)
    with pytest.raises(InvalidAddress, match="address = '0x1234' is not an account address"):
        operate.set_role(c, Role.MINTER, "0x1234", True)
    with pytest.raises(
        InvalidInput, match="role = 'owner' is not a role; known roles: minter, dataset-manager"
    ):
        Role.parse("owner")
    untouched.check()
    assert Role.parse("Dataset_Manager") is Role.DATASET_MANAGER


# --- chain fund -------------------------------------------------------------------------------------------


def test_fund_sends_ether_on_the_embedded_chain(chain: Chain) -> None:
    fresh = Account.create().address
    seen = Recorder()
    done = operate.fund(chain.w3, chain.signers[0], fresh, "1.5", seen)
    assert done.wei == 1_500_000_000_000_000_000 == done.balance == chain.w3.eth.get_balance(fresh)
    assert dict(seen.plans[0].args)["value"] == "1500000000000000000 wei (1.5 ETH)"
    more = operate.fund(chain.w3, chain.signers[0], fresh, "7wei")
    assert more.balance == 1_500_000_000_000_000_007


@pytest.mark.parametrize(
    ("to", "amount", "error", "words"),
    [
        ("0xnope", "1", InvalidAddress, "ADDRESS = '0xnope'"),
        (None, "-1", InvalidAmount, "amount = '-1' does not parse"),
        (None, "0", InvalidAmount, "more than 0 wei"),
        (None, "1.5wei", InvalidAmount, "not a whole number of wei"),
        (None, "1e18", InvalidAmount, "does not parse"),
        (None, "10000000000", InvalidInput, "more than the sender"),
    ],
)
def test_fund_refusals_send_nothing(
    chain: Chain, to: str | None, amount: str, error: type[Exception], words: str
) -> None:
    untouched = Untouched(chain)
    with pytest.raises(error, match=words):
        operate.fund(chain.w3, chain.signers[0], to or Account.create().address, amount)
    untouched.check()


def test_fund_refuses_other_chains_and_keystore_signers(chain: Chain) -> None:
    sent: list[Any] = []
    mainnet = SimpleNamespace(eth=SimpleNamespace(chain_id=1, send_transaction=sent.append))
    to = Account.create().address
    with pytest.raises(NotDevChain, match=r"chain id = 1 is not a dev chain: .* 31337 \(Hardhat\)"):
        operate.fund(mainnet, chain.signers[0], to, "1")
    assert sent == []
    untouched = Untouched(chain)
    with pytest.raises(NotDevChain, match="use --dev-account N"):
        operate.fund(chain.w3, Signer.from_key(Account.create().key), to, "1")
    untouched.check()
