#!/usr/bin/env bash
# Smoke test of the optional brownie workflow: `brownie compile`, then `brownie run scripts/deploy.py`
# against a Hardhat node that brownie launches on a free 127.0.0.1 port; checks the deployment record.
set -euo pipefail
cd "$(dirname "$0")/.."
BROWNIE=.venv-brownie/bin/brownie
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$BROWNIE" networks modify hardhat-local port="$port" >/dev/null
"$BROWNIE" compile >/dev/null
out=$(mktemp -d)/deployment.json
CURATION_DEPLOYMENT="$out" "$BROWNIE" run scripts/deploy.py --network hardhat-local >"${out%.json}.log" 2>&1 || {
  tail -40 "${out%.json}.log"; exit 1; }
python3 - "$out" <<'PY'
import json, sys
record = json.load(open(sys.argv[1]))
names = {"CommonsForwarder", "CurationToken", "ContentRegistry", "CurationVoting", "ReleaseRegistry"}
assert set(record["contracts"]) == names, record
assert record["chain_id"] == 31337, record
assert all(a.startswith("0x") and len(a) == 42 for a in record["contracts"].values()), record
print(f"brownie smoke: deployed {len(names)} contracts on hardhat-local (chain 31337) -> {sys.argv[1]}")
PY
