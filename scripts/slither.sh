#!/usr/bin/env bash
# Run Slither over every contract in contracts/ (node_modules and the test-only contracts in contracts/mocks excluded,
# settings in slither.config.json) and fail on any High or Medium finding not listed under "accepted" there.
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."
SLITHER_VENV="${SLITHER_VENV:-.venv-slither}"
if [ ! -x "$SLITHER_VENV/bin/slither" ]; then
  echo "slither: $SLITHER_VENV/bin/slither not found (python3 -m venv $SLITHER_VENV && $SLITHER_VENV/bin/pip install slither-analyzer==0.11.6)" >&2
  exit 2
fi
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
# Slither exits non-zero whenever it finds anything; the verdict below is ours.
"$SLITHER_VENV/bin/slither" contracts/ --config-file slither.config.json --json "$out/report.json" \
  >"$out/log.txt" 2>&1 || true
if [ ! -s "$out/report.json" ]; then
  cat "$out/log.txt" >&2
  echo "slither: no report produced" >&2
  exit 2
fi
"$SLITHER_VENV/bin/python" - "$out/report.json" slither.config.json <<'PY'
import json
import sys

report = json.load(open(sys.argv[1]))
accepted = json.load(open(sys.argv[2])).get("accepted", [])
if not report.get("success", False):
    print(f"slither failed: {report.get('error')}", file=sys.stderr)
    sys.exit(2)
findings = report.get("results", {}).get("detectors", [])


def is_accepted(finding: dict) -> str | None:
    first = finding["description"].splitlines()[0]
    for entry in accepted:
        if entry["check"] == finding["check"] and entry["where"] in first:
            return entry["reason"]
    return None


unresolved = 0
for f in sorted(findings, key=lambda f: (["High", "Medium", "Low", "Informational", "Optimization"].index(f["impact"]), f["check"])):
    first = f["description"].splitlines()[0]
    reason = is_accepted(f)
    if f["impact"] in ("High", "Medium") and reason is None:
        unresolved += 1
        print(f"UNRESOLVED {f['impact']:<8} {f['check']}: {first}")
    elif reason is not None:
        print(f"accepted   {f['impact']:<8} {f['check']}: {first}\n           reason: {reason}")
    else:
        print(f"{f['impact'].lower():<10} {f['impact']:<8} {f['check']}: {first}")
counts = {}
for f in findings:
    counts[f["impact"]] = counts.get(f["impact"], 0) + 1
print(f"slither: {len(findings)} findings {counts}; {unresolved} unresolved High/Medium")
sys.exit(1 if unresolved else 0)
PY
