"""EIP-4361 messages: the spec's example parses and round-trips; malformed ones are refused with a reason."""

from __future__ import annotations

import pytest

from backend.api.errors import SignInFailed
from backend.api.siwe import SiweMessage, verify_message
from tests.backend.api.api_helpers import ALICE, MALLORY, sign

# The example of EIP-4361 (all optional fields present).
SPEC_EXAMPLE = """example.com wants you to sign in with your Ethereum account:
0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2

I accept the ExampleOrg Terms of Service: https://example.com/tos

URI: https://example.com/login
Version: 1
Chain ID: 1
Nonce: 32891756
Issued At: 2021-09-30T16:25:24Z
Expiration Time: 2021-10-30T16:25:24Z
Not Before: 2021-09-29T16:25:24Z
Request ID: some-id
Resources:
- ipfs://bafybeiemxf5abjwjbikoz4mc3a3dla6ual3jsgpdr4cjr3oz3evfyavhwq/
- https://example.com/my-web2-claim.json"""


def test_spec_example_parses_and_round_trips() -> None:
    msg = SiweMessage.parse(SPEC_EXAMPLE)
    assert msg.domain == "example.com"
    assert msg.chain_id == 1
    assert msg.nonce == "32891756"
    assert msg.request_id == "some-id"
    assert msg.resources == (
        "ipfs://bafybeiemxf5abjwjbikoz4mc3a3dla6ual3jsgpdr4cjr3oz3evfyavhwq/",
        "https://example.com/my-web2-claim.json",
    )
    assert msg.to_text() == SPEC_EXAMPLE


def test_message_without_statement_round_trips() -> None:
    # ABNF: address LF LF [statement LF] LF "URI: ", so no statement leaves two empty lines
    text = SPEC_EXAMPLE.replace("I accept the ExampleOrg Terms of Service: https://example.com/tos\n", "")
    assert "Cc2\n\n\nURI: " in text
    msg = SiweMessage.parse(text)
    assert msg.statement is None
    assert msg.to_text() == text


@pytest.mark.parametrize(
    ("edit", "why"),
    [
        (
            ("0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2", "0xc02aaa39b223fe8d0a0e5c4f27ead9083c756cc2"),
            "EIP-55",
        ),
        (("Version: 1", "Version: 2"), "version"),
        (("Nonce: 32891756", "Nonce: 123"), "nonce"),
        (("Issued At: 2021-09-30T16:25:24Z", "Issued At: yesterday"), "RFC 3339"),
        (("Issued At: 2021-09-30T16:25:24Z", "Issued At: 2021-09-30T16:25:24"), "RFC 3339"),
        (("URI: https://example.com/login\n", ""), "EIP-4361"),
        (("Chain ID: 1", "Chain ID: one"), "EIP-4361"),
    ],
)
def test_malformed_messages_are_refused(edit: tuple[str, str], why: str) -> None:
    with pytest.raises(SignInFailed, match=why):
        SiweMessage.parse(SPEC_EXAMPLE.replace(*edit))


def _alice_message() -> str:
    text = SPEC_EXAMPLE.replace("0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2", ALICE.address)
    return text.replace("Not Before: 2021-09-29T16:25:24Z\n", "")


def test_verify_checks_signer_times_domain_and_chain() -> None:
    text = _alice_message()
    now = 1633019124.0  # 2021-09-30T16:25:24Z
    ok = {"domain": "example.com", "uri": "https://example.com", "chain_ids": {1}, "now": now}
    assert verify_message(text, sign(ALICE, text), **ok).address == ALICE.address  # type: ignore[arg-type]
    with pytest.raises(SignInFailed, match="signature is by"):
        verify_message(text, sign(MALLORY, text), **ok)  # type: ignore[arg-type]
    with pytest.raises(SignInFailed, match="domain"):
        verify_message(text, sign(ALICE, text), **{**ok, "domain": "other.com"})  # type: ignore[arg-type]
    with pytest.raises(SignInFailed, match="chain id 1"):
        verify_message(text, sign(ALICE, text), **{**ok, "chain_ids": {5}})  # type: ignore[arg-type]
    with pytest.raises(SignInFailed, match="expired"):
        verify_message(text, sign(ALICE, text), **{**ok, "now": now + 31 * 86400})  # type: ignore[arg-type]
    with pytest.raises(SignInFailed, match="future"):
        verify_message(text, sign(ALICE, text), **{**ok, "now": now - 3600})  # type: ignore[arg-type]
    tampered = text.replace("Request ID: some-id", "Request ID: other")
    with pytest.raises(SignInFailed, match="signature is by"):
        verify_message(tampered, sign(ALICE, text), **ok)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("edit", "server_uri", "why"),
    [
        (("URI: https://example.com/login", "URI: https://evil.example/login"), "https://example.com", "URI"),
        (
            ("URI: https://example.com/login", "URI: https://example.com:8443/login"),
            "https://example.com",
            "URI",
        ),
        (("URI: https://example.com/login", "URI: http://example.com/login"), "https://example.com", "URI"),
        (("URI: https://example.com/login", "URI: example.com/login"), "https://example.com", "URI"),
        (("example.com wants", "http://example.com wants"), "https://example.com", "scheme 'http'"),
        (
            ("URI: https://example.com/login", "URI: http://example.com/login"),
            "http://example.com",
            "no scheme",
        ),
    ],
)
def test_verify_checks_scheme_and_uri(edit: tuple[str, str], server_uri: str, why: str) -> None:
    text = _alice_message().replace(*edit)
    now = 1633019124.0
    with pytest.raises(SignInFailed, match=why):
        verify_message(text, sign(ALICE, text), domain="example.com", uri=server_uri, chain_ids={1}, now=now)


@pytest.mark.parametrize(
    ("edit", "server_uri"),
    [
        (("", ""), "https://example.com"),  # no scheme: https assumed
        (("", ""), "https://EXAMPLE.com:443/other/path"),  # same origin, another path
        (("example.com wants", "https://example.com wants"), "https://example.com"),
        (
            ("URI: https://example.com/login", "URI: http://example.com:8000/login"),
            "http://example.com:8000",
        ),
    ],
)
def test_verify_accepts_the_servers_origin(edit: tuple[str, str], server_uri: str) -> None:
    text = _alice_message().replace(*edit) if edit[0] else _alice_message()
    if server_uri.startswith("http://"):
        text = text.replace("example.com wants", "http://example.com wants")
    now = 1633019124.0
    msg = verify_message(
        text, sign(ALICE, text), domain="example.com", uri=server_uri, chain_ids={1}, now=now
    )
    assert msg.address == ALICE.address
