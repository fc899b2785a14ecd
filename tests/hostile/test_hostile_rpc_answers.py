"""Attack: a JSON-RPC node answers with JSON built to crash or mislead the parser of its answers.

`backend.chain.rpc.parse_answer` parses every answer with orjson first (the backfill's speed depends on it)
and hands what orjson cannot take as it is to `curation.safejson`. Promise: a node's answer nested
hundreds of thousands of levels deep is refused with TransportFault (retried, then RpcFaultError) in a
process that imported web3 (recursion limit 100,000) with an 8 MiB stack, where the plain parser dies of
SIGSEGV (the control in test_hostile_json.py); the refusal names the broken rule as safejson does; and an
answer within the limits is read exactly as safejson reads it, big integers and lone surrogates included.
"""

from __future__ import annotations

import json

from tests.hostile.test_hostile_json import DEEP, _child


def test_a_node_answer_nested_too_deep_is_a_fault_and_the_child_lives() -> None:
    child = _child(
        f"""
        from backend.chain.rpc import TransportFault, parse_answer
        out = {{}}
        for name in {DEEP!r}:
            data = payload(name)
            for limit in (len(data) - 1, len(data)):
                try:
                    parse_answer(data, limit)
                    out[f"{{name}}@{{limit - len(data)}}"] = "parsed"
                except TransportFault as exc:
                    out[f"{{name}}@{{limit - len(data)}}"] = str(exc)
        # Deep, but a well-formed JSON-RPC answer around it, as a node would send it.
        wrapped = b'{{"jsonrpc":"2.0","id":1,"result":' + b"[" * 200_000 + b"]" * 200_000 + b"}}"
        try:
            parse_answer(wrapped, len(wrapped))
            out["wrapped"] = "parsed"
        except TransportFault as exc:
            out["wrapped"] = str(exc)
        print(json.dumps(out))
        """
    )
    assert child.returncode == 0, (child.returncode, child.stderr[-500:])
    out = json.loads(child.stdout)
    for name in DEEP:
        assert "over the limit" in out[f"{name}@-1"], name
        why = out[f"{name}@0"]
        assert "deeper than 64 levels" in why or "not complete JSON" in why, (name, why)
    assert out["wrapped"] == "answer is refused: it nests arrays/objects deeper than 64 levels"


def test_a_node_answer_with_numbers_and_text_json_cannot_round_trip_is_read_exactly() -> None:
    child = _child(
        """
        from backend.chain.rpc import parse_answer
        body = (
            b'{"jsonrpc":"2.0","id":18446744073709551617,"result":{"n":-' + b"7" * 4000
            + b',"s":"\\\\udfff","t":"\\\\ud83d\\\\ude00"}}'
        )
        answer = parse_answer(body, len(body))
        print(json.dumps({"id": str(answer["id"]), "n": str(answer["result"]["n"]),
                          "s": [ord(c) for c in answer["result"]["s"]],
                          "t": [ord(c) for c in answer["result"]["t"]]}))
        """
    )
    assert child.returncode == 0, (child.returncode, child.stderr[-500:])
    assert json.loads(child.stdout) == {
        "id": str(2**64 + 1),
        "n": "-" + "7" * 4000,
        "s": [0xDFFF],
        "t": [0x1F600],
    }
