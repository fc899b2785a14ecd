"""Schemathesis over the whole OpenAPI document, in-process: no server errors and no schema violations.

Deterministic: an explicit configuration (no `schemathesis.toml` is looked for), a fixed seed, Hypothesis
derandomized with no example database, and a fixed number of examples per operation and mode, so every run
sends the same requests.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.config import SchemathesisConfig
from schemathesis.config._checks import NEGATIVE_DATA_REJECTION_EXPECTED_STATUSES
from schemathesis.core.result import Err
from schemathesis.specs.openapi import checks as oa

from backend.api.routes.relay import install_relayer
from backend.ipfs import EmbeddedStore
from backend.relay import QuotaLedger, Relayer, RelayLimits
from tests.backend.api.api_helpers import ALICE, FakeClock, TestClient, make_app, sign_in
from tests.conftest import Chain

#: What every response must satisfy, for input the schema allows and for input it forbids.
CHECKS = [
    schemathesis.checks.not_a_server_error,
    oa.status_code_conformance,
    oa.content_type_conformance,
    oa.response_headers_conformance,
    oa.response_schema_conformance,
]
EXAMPLES = 12  # per operation and mode: bounded so the suite stays lean on a shared 2-core machine
#: A 413 is a rejection too: negative bodies can be longer than the 64 KiB JSON limit, checked before any field.
CONFIG = SchemathesisConfig.from_dict(
    {
        "seed": 4361,
        "checks": {
            "negative_data_rejection": {
                "expected-statuses": [*NEGATIVE_DATA_REJECTION_EXPECTED_STATUSES, "413"],
            }
        },
    }
)


def _fuzz(operation: Any, mode: GenerationMode, checks: list[Any], headers: dict[str, str]) -> None:
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    def run(case: Any) -> None:
        case.call_and_validate(headers=headers, checks=checks)

    run()


def test_every_operation_conforms_to_the_openapi_document(tmp_path: Path, chain: Chain) -> None:
    # Driven through schemathesis' API rather than its pytest plugin, whose lazy fixture loader reads a
    # private pytest attribute that pytest 9 no longer has.
    clock = FakeClock()
    app = make_app(tmp_path, clock, EmbeddedStore(tmp_path / "blocks"), api_max_upload_bytes=4096)
    # POST /relay is served by a real relayer on the embedded chain (without one it is 503 by design).
    ledger = QuotaLedger(f"sqlite:///{tmp_path / 'relay.sqlite'}", RelayLimits())
    install_relayer(app, Relayer(chain.w3, chain.deployment, chain.signers[1], ledger))
    with TestClient(app) as client:
        token = sign_in(client, ALICE, clock).json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    schema = schemathesis.openapi.from_asgi("/openapi.json", app, config=CONFIG)
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        if isinstance(result, Err):
            failures.append(f"operation does not load: {result.err()}")
            continue
        operation = result.ok()
        operations += 1
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            checks = [*CHECKS, oa.negative_data_rejection] if mode is GenerationMode.NEGATIVE else CHECKS

            try:
                _fuzz(operation, mode, checks, headers)
            except Unsatisfiable:
                assert mode is GenerationMode.NEGATIVE  # no parameters: nothing can be made invalid
            except Exception as exc:  # collect every operation's failure, then report them all
                failures.append(f"{operation.label} [{mode.value}]: {exc}")
    assert operations >= 15
    assert not failures, "\n\n".join(failures)
