"""Attack: hand the process JSON nested so deep that parsing it overflows the C stack.

Importing web3 raises Python's recursion limit to 100,000 (py_ecc's `__init__` does it; web3 imports
eth_account, which imports eth_keyfile, which imports py_ecc). The C JSON parser recurses once per nested
array or object and stops only at that limit, so 65,536 `[` bytes kill the process with SIGSEGV: no
exception, no error message, no cleanup. Fetched manifests and parts, ballot files, keystores, pull reports
and sampler state files are all JSON from outside.

Promise: every such parse goes through `curation.safejson`, which refuses input that is too large, not
UTF-8, nested deeper than its limit, or carries an over-long number, with `JsonRejected` (an InvalidInput)
or the caller's typed error, before the parser sees a byte. The deep cases run in a child process that
imports web3 first, with an 8 MiB stack like a default Linux process; a control shows that the plain
`json.loads` path crashes that very child.
"""

from __future__ import annotations

import hashlib
import json
import resource
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from backend.chain.accounts import load_keystore
from backend.errors import ConfigError
from backend.trainer.items import LocalManifest, TrainerError
from backend.trainer.sampling import read_exclusions
from curation import safejson
from curation.ballots import MAX_BALLOT_FILE_BYTES, load_ballots
from curation.errors import InvalidInput
from curation.manifest_read import ManifestMismatch, load_manifest, load_part
from curation.safejson import JsonRejected

ROOT = Path(__file__).resolve().parents[2]
STACK = 8 * 1024 * 1024

#: Builders of the hostile payloads, shared by this module and the child process (as source text).
PAYLOADS = textwrap.dedent(
    """
    def payload(name):
        if name == "brackets":  # 65,536 `[`
            return b"[" * 65_536
        if name == "objects":  # 100,000 nested objects, balanced
            return b'{"a":' * 100_000 + b"1" + b"}" * 100_000
        if name == "arrays":  # 100,000 nested arrays, balanced
            return b"[" * 100_000 + b"]" * 100_000
        if name == "unterminated":  # a quote that never closes, then brackets
            return b'"' + b"[" * 65_536
        if name == "escaped":  # an escaped backslash: the quote after it ends the string, brackets count
            return b'["\\\\\\\\", ' + b"[" * 65_536
        raise KeyError(name)
    """
)
DEEP = ["brackets", "objects", "arrays", "unterminated", "escaped"]


def _child(body: str) -> subprocess.CompletedProcess[str]:
    """Run `body` in a fresh interpreter that imported web3 first, with an 8 MiB stack."""
    script = (
        "import sys, json\n"
        "import web3  # raises the recursion limit to 100,000 (py_ecc)\n"
        "assert sys.getrecursionlimit() >= 100_000, sys.getrecursionlimit()\n"
        + PAYLOADS
        + textwrap.dedent(body)
    )

    def limit_stack() -> None:
        _soft, hard = resource.getrlimit(resource.RLIMIT_STACK)
        size = STACK if hard == resource.RLIM_INFINITY else min(STACK, hard)
        resource.setrlimit(resource.RLIMIT_STACK, (size, hard))

    return subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        preexec_fn=limit_stack,  # the child's main-thread stack is set at exec from RLIMIT_STACK
    )


# --- the control: the plain parser dies in that child -------------------------------------------------------


@pytest.mark.parametrize("name", ["brackets", "objects"])
def test_control_plain_json_loads_crashes_the_child_with_sigsegv(name: str) -> None:
    child = _child(f"json.loads(payload({name!r}))\n")
    assert child.returncode == -signal.SIGSEGV, (child.returncode, child.stderr[-500:])


# --- safejson, in the child ---------------------------------------------------------------------------------


def test_deep_input_is_refused_with_a_typed_error_and_the_child_lives() -> None:
    child = _child(
        f"""
        from curation import safejson
        out = {{}}
        for name in {DEEP!r}:
            data = payload(name)
            for limit in (len(data) - 1, len(data), len(data) + 1):
                try:
                    safejson.loads(data, max_bytes=limit, what=name)
                    out[f"{{name}}@{{limit - len(data)}}"] = "parsed"
                except safejson.JsonRejected as exc:
                    out[f"{{name}}@{{limit - len(data)}}"] = str(exc)
        print(json.dumps(out))
        """
    )
    assert child.returncode == 0, (child.returncode, child.stderr[-500:])
    out = json.loads(child.stdout)
    for name in DEEP:
        assert "over the limit" in out[f"{name}@-1"], name
        for at in (0, 1):
            why = out[f"{name}@{at}"]
            assert why.startswith(f"{name} is refused: "), why
            assert "deeper than 64 levels" in why or "do not balance" in why, why


def test_loaders_of_untrusted_files_refuse_deep_input_and_the_child_lives(tmp_path: Path) -> None:
    child = _child(
        f"""
        import hashlib
        from pathlib import Path
        from backend.chain.accounts import load_keystore
        from backend.cli.trainer_cmd import _read_state
        from backend.trainer.items import LocalManifest
        from backend.trainer.sampling import read_exclusions
        from curation.ballots import load_ballots
        from curation.canonical import parse_canonical
        from curation.errors import CurationError
        from curation.manifest_read import load_manifest, load_part

        tmp = Path({str(tmp_path)!r})
        out = {{}}
        for name in {DEEP!r}:
            data = payload(name)
            (tmp / "manifest.json").write_bytes(data)
            (tmp / "pull-report.json").write_bytes(data)
            entry = {{"part": 0, "count": 1, "sha256": hashlib.sha256(data).hexdigest()}}
            calls = {{
                "parse_canonical": lambda: parse_canonical(data),
                "load_manifest": lambda: load_manifest(data),
                "load_part": lambda: load_part(data, entry),
                "load_ballots": lambda: load_ballots(data),
                "load_ballots_text": lambda: load_ballots(data.decode()),
                "load_keystore": lambda: load_keystore(tmp / "manifest.json", "pw"),
                "local_manifest": lambda: LocalManifest.load(tmp),
                "read_exclusions": lambda: read_exclusions(tmp),
                "sampler_state": lambda: _read_state(tmp / "manifest.json"),
            }}
            for what, call in calls.items():
                try:
                    call()
                    out[f"{{what}}/{{name}}"] = "accepted"
                except CurationError as exc:
                    out[f"{{what}}/{{name}}"] = type(exc).__name__
        print(json.dumps(out))
        """
    )
    assert child.returncode == 0, (child.returncode, child.stderr[-500:])
    out = json.loads(child.stdout)
    expected = {
        "parse_canonical": "JsonRejected",
        "load_manifest": "ManifestMismatch",
        "load_part": "ManifestMismatch",
        "load_ballots": "JsonRejected",
        "load_ballots_text": "JsonRejected",
        "load_keystore": "ConfigError",
        "local_manifest": "ManifestMismatch",
        "read_exclusions": "TrainerError",
        "sampler_state": "ConfigError",
    }
    assert out == {f"{what}/{name}": error for name in DEEP for what, error in expected.items()}


# --- safejson, case by case, at and around the size limit ----------------------------------------------------


def _at_limits(data: bytes | str) -> dict[int, str]:
    """What safejson says with max_bytes one under, at and one over the size of `data` (UTF-8 bytes)."""
    size = len(data.encode("utf-8", "surrogatepass")) if isinstance(data, str) else len(data)
    out: dict[int, str] = {}
    for delta in (-1, 0, 1):
        try:
            out[delta] = f"parsed {safejson.loads(data, max_bytes=size + delta, what='doc')!r}"[:200]
        except JsonRejected as exc:
            out[delta] = str(exc)
    return out


@pytest.mark.parametrize(
    ("data", "verdict"),
    [
        (b'["\xff"]', "doc is not UTF-8: invalid byte at offset 2"),
        (b"1" * 60_000, "doc is refused: an integer has more than 4300 digits"),
        (b"-" + b"9" * 60_000, "doc is refused: an integer has more than 4300 digits"),
        (b"0." + b"1" * 60_000, "doc is refused: a number has 60002 characters, over the limit of 100"),
        (
            b"[1e" + b"9" * 60_000 + b"]",
            "doc is refused: a number has 60002 characters, over the limit of 100",
        ),
        (b" \n\t ", "doc is empty"),
        (
            b"{not json",
            "doc is not JSON: Expecting property name enclosed in double quotes at line 1 column 2",
        ),
        (b"NaN", "doc is refused: NaN is not a JSON number"),
        (b"[1, -Infinity]", "doc is refused: -Infinity is not a JSON number"),
        (b'{"a": Infinity}', "doc is refused: Infinity is not a JSON number"),
        (b"[" * 65 + b"]" * 65, "doc is refused: it nests arrays/objects deeper than 64 levels"),
        (b"[" * 65 + b"]" * 64, "doc is refused: its brackets do not balance"),
        (b"[" * 64 + b"]" * 64, "parsed " + repr(json.loads(b"[" * 64 + b"]" * 64))[:193]),
        (b'["' + b"[" * 65_536 + b'"]', "parsed ['" + "[" * 200),
        (b'{"k": "]]]}}}\\"[[[{{{", "v": [[1]]}', "parsed {'k': ']]]}}}\"[[[{{{', 'v': [[1]]}"),
        ('["\udcff"]', "parsed ['\\udcff']"),  # a lone surrogate from surrogateescape: no crash
    ],
    ids=[
        "invalid-utf8",
        "60000-digit-integer",
        "60000-digit-negative",
        "60000-digit-fraction",
        "60000-digit-exponent",
        "whitespace-only",
        "not-json",
        "nan",
        "minus-infinity",
        "infinity",
        "depth-65",
        "unbalanced",
        "depth-64",
        "brackets-in-a-string",
        "escaped-quote-and-brackets-in-a-string",
        "lone-surrogate-text",
    ],
)
def test_safejson_refuses_or_parses_each_case_the_same_at_and_over_the_limit(
    data: bytes | str, verdict: str
) -> None:
    out = _at_limits(data)
    size = len(data.encode("utf-8", "surrogatepass")) if isinstance(data, str) else len(data)
    assert out[0] == out[1]
    assert out[0].startswith(verdict[:200]), out[0]
    assert out[-1] == f"doc is {size} bytes, over the limit of {size - 1} bytes"


def test_empty_input_is_refused_at_every_limit() -> None:
    for limit in (0, 1):
        for data in (b"", ""):
            with pytest.raises(JsonRejected, match="doc is empty"):
                safejson.loads(data, max_bytes=limit, what="doc")


def test_load_path_reads_no_more_than_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "doc.json"
    path.write_bytes(b"[" + b"1," * 1000 + b"1]")
    size = path.stat().st_size
    assert safejson.load_path(path, max_bytes=size) == [1] * 1001
    with pytest.raises(JsonRejected, match=f"doc.json is over the limit of {size - 1} bytes"):
        safejson.load_path(path, max_bytes=size - 1, what="doc.json")
    with pytest.raises(FileNotFoundError):
        safejson.load_path(tmp_path / "missing.json", max_bytes=10)


# --- size limits of the loaders ----------------------------------------------------------------------------


def test_a_ballot_file_over_its_limit_is_refused() -> None:
    huge = (
        '{"format": "curation-commons/ballots-v1", "ballots": [], "pad": "'
        + "x" * MAX_BALLOT_FILE_BYTES
        + '"}'
    )
    with pytest.raises(
        InvalidInput, match=f"ballot file is .* over the limit of {MAX_BALLOT_FILE_BYTES} bytes"
    ):
        load_ballots(huge)
    with pytest.raises(InvalidInput, match="ballot file is not UTF-8"):
        load_ballots(b'{"format": "\xff"}')


def test_a_manifest_or_part_over_its_limit_is_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    doc = b'{"item_parts":[],"items":[],"schema":"curation-commons/manifest/v1"}'
    assert load_manifest(doc)["items"] == []
    monkeypatch.setattr("curation.manifest_read.MAX_MANIFEST_BYTES", len(doc) - 1)
    with pytest.raises(ManifestMismatch, match=f"manifest is {len(doc)} bytes, over the limit"):
        load_manifest(doc)
    part = b'{"items":[{"a":1}],"schema":"curation-commons/manifest-items/v1"}'
    entry: dict[str, Any] = {"part": 0, "count": 1, "sha256": hashlib.sha256(part).hexdigest()}
    assert load_part(part, entry) == [{"a": 1}]
    monkeypatch.setattr("curation.manifest_read.MAX_PART_BYTES", len(part) - 1)
    with pytest.raises(ManifestMismatch, match=f"manifest part 0 is {len(part)} bytes, over the limit"):
        load_part(part, entry)
    # a pulled manifest on disk is not even read past the limit
    monkeypatch.setattr("backend.trainer.items.MAX_MANIFEST_BYTES", 10)
    (tmp_path / "manifest.json").write_bytes(doc)
    with pytest.raises(ManifestMismatch, match="over the limit of 10 bytes"):
        LocalManifest.load(tmp_path)


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        (b'["curation-commons/manifest/v1"]', "not a manifest"),
        (
            b'{"items":{"a":1},"schema":"curation-commons/manifest/v1"}',
            "manifest `items` must be a list of objects",
        ),
        (
            b'{"items":[1],"schema":"curation-commons/manifest/v1"}',
            "manifest `items` must be a list of objects",
        ),
        (
            b'{"item_parts":[[]],"schema":"curation-commons/manifest/v1"}',
            "`item_parts` must be a list of objects",
        ),
        (
            b'{"item_parts":[{"count":1,"part":"0"}],"schema":"curation-commons/manifest/v1"}',
            r"`item_parts\[0\]` needs an integer part and count",
        ),
    ],
)
def test_a_manifest_of_the_wrong_shape_is_a_typed_error(doc: bytes, message: str) -> None:
    with pytest.raises(ManifestMismatch, match=message):
        load_manifest(doc)


def test_a_part_that_is_not_an_object_is_a_typed_error() -> None:
    for part in (b"[1]", b'{"items":[1],"schema":"curation-commons/manifest-items/v1"}'):
        entry = {"part": 3, "count": 1, "sha256": hashlib.sha256(part).hexdigest()}
        with pytest.raises(ManifestMismatch, match="manifest part 3"):
            load_part(part, entry)


def test_keystore_pull_report_and_state_files_of_the_wrong_size_or_shape_are_typed_errors(
    tmp_path: Path,
) -> None:
    big = tmp_path / "big.json"
    big.write_bytes(b'{"pad": "' + b"x" * 70_000 + b'"}')
    with pytest.raises(ConfigError, match="over the limit of 65536 bytes"):
        load_keystore(big, "pw")
    for text in ("[]", '{"crypto": 1}', '{"version": 3}'):
        bad = tmp_path / "bad.json"
        bad.write_text(text)
        with pytest.raises(ConfigError, match=f"keystore {bad} is not"):
            load_keystore(bad, "pw")
    for text in ("[]", '{"excluded": {"item_id": 1}}', '{"excluded": [1]}', '{"excluded": [{"x": 1}]}'):
        (tmp_path / "pull-report.json").write_text(text)
        with pytest.raises(TrainerError, match="pull report"):
            read_exclusions(tmp_path)
