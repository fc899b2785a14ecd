"""Deploy Curation Commons: `python scripts/deploy.py --rpc URL` (core venv) or `brownie run scripts/deploy.py`.

Both paths deploy CommonsForwarder, CurationToken, ContentRegistry, CurationVoting and ReleaseRegistry with
the same constructor arguments (a direct deployment: the deployer is the admin; `curation deploy --governed`
makes the governed one), allowlist the default open licenses and write a deployment record (JSON) that the
backend reads.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def main() -> None:
    """Entry point for `brownie run scripts/deploy.py` (brownie's own virtualenv, web3 7)."""
    from brownie import (  # type: ignore[attr-defined]
        CommonsForwarder,
        ContentRegistry,
        CurationToken,
        CurationVoting,
        ReleaseRegistry,
        accounts,
        chain,
        network,
    )

    from curation.licenses import DEFAULT_LICENSES

    deployer = accounts[0]
    tx = {"from": deployer, "priority_fee": "1 gwei"}  # hardhat charges a base fee; brownie defaults to 0
    first_block = chain.height + 1
    forwarder = CommonsForwarder.deploy(tx)
    token = CurationToken.deploy("Curation Commons Vote", "CCV", deployer, forwarder, tx)
    registry = ContentRegistry.deploy(deployer, forwarder, tx)
    voting = CurationVoting.deploy(token, registry, deployer, forwarder, tx)
    releases = ReleaseRegistry.deploy(voting, deployer, tx)
    for spdx, classes in sorted(DEFAULT_LICENSES.items()):
        registry.setLicense(spdx, int(classes), True, tx)
    record = {
        "chain_id": chain.id,
        "deploy_block": first_block,
        "compiler_version": "0.8.28",
        "deployer": deployer.address,
        "contracts": {
            "CommonsForwarder": forwarder.address,
            "CurationToken": token.address,
            "ContentRegistry": registry.address,
            "CurationVoting": voting.address,
            "ReleaseRegistry": releases.address,
        },
    }
    out = Path(
        os.environ.get("CURATION_DEPLOYMENT", ROOT / "build" / f"deployment-{network.show_active()}.json")
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
    print(f"deployment record written to {out}")


def cli(argv: list[str] | None = None) -> int:
    """Entry point for `python scripts/deploy.py --rpc URL` (core virtualenv, web3 8)."""
    from backend.chain.accounts import dev_signers, load_keystore
    from backend.chain.connection import connect
    from backend.chain.deployment import deploy_all
    from curation.errors import CurationError

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rpc", required=True, help="EVM JSON-RPC URL, e.g. http://127.0.0.1:8545")
    parser.add_argument("--keystore", type=Path, help="encrypted keystore (password from CURATION_PASSWORD)")
    parser.add_argument("--dev-account", type=int, default=0, help="unlocked node account index (default 0)")
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "deployment.json", help="record path")
    args = parser.parse_args(argv)
    try:
        w3 = connect(args.rpc)
        if args.keystore:
            signer = load_keystore(args.keystore, os.environ.get("CURATION_PASSWORD", ""))
        else:
            signer = dev_signers(w3)[args.dev_account]
        record = deploy_all(w3, signer)
        record.save(args.out)
    except CurationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(json.dumps({**record.model_dump(), "path": str(args.out)}, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(cli())
