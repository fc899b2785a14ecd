"""Croissant 1.1 export (validated by mlcroissant, records loaded over HTTP) and the Hugging Face card."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import mlcroissant as mlc  # a dev dependency: its absence must fail, not skip
import pytest

from curation.exports import croissant, dataset_card
from tests.curation.test_manifest_build import built


@pytest.fixture
def gateway() -> Iterator[tuple[str, dict[str, bytes]]]:
    """A tiny HTTP gateway serving /ipfs/<cid> from a dict."""
    files: dict[str, bytes] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = files.get(self.path.removeprefix("/ipfs/"))
            self.send_response(200 if body is not None else 404)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", files
    finally:
        server.shutdown()


def _records(doc: dict[str, Any], path: Path, record_set: str) -> list[dict[str, Any]]:
    path.write_text(json.dumps(doc))
    dataset = mlc.Dataset(jsonld=str(path))
    out = []
    for rec in dataset.records(record_set=record_set):
        out.append({k.split("/")[-1]: v.decode() if isinstance(v, bytes) else v for k, v in rec.items()})
    return out


@pytest.mark.parametrize("shard_items", [10_000, 2])
def test_croissant_validates_and_its_records_are_the_manifest_items(
    gateway: tuple[str, dict[str, bytes]], tmp_path: Path, shard_items: int
) -> None:
    url, files = gateway
    m = built(shard_items=shard_items)
    files[m.cid] = m.data
    for part in m.parts:
        files[part.cid] = part.data
    doc = croissant(m.doc, m.items, m.cid, m.sha256, gateway=url, parts=m.parts)
    assert doc["conformsTo"] == "http://mlcommons.org/croissant/1.1"
    for key in (
        "rai:dataCollection",
        "rai:dataUseCases",
        "rai:dataLimitations",
        "rai:personalSensitiveInformation",
    ):
        assert doc[key]
    assert doc["license"] == [
        "https://spdx.org/licenses/CC-BY-4.0.html",
        "https://spdx.org/licenses/CC0-1.0.html",
    ]
    path = tmp_path / "croissant.json"
    path.write_text(json.dumps(doc))
    mlc.Dataset(jsonld=str(path))  # raises ValidationError on any error
    record_sets = [rs["@id"] for rs in doc["recordSet"]]
    loaded = [r for rs in record_sets for r in _records(doc, path, rs)]
    assert [(r["item_id"], r["cid"], r["weight"]) for r in loaded] == [
        (i["item_id"], i["cid"], i["weight"]) for i in m.items
    ]


def test_croissant_with_a_tampered_manifest_fails_to_load(
    gateway: tuple[str, dict[str, bytes]], tmp_path: Path
) -> None:
    url, files = gateway
    m = built()
    files[m.cid] = m.data.replace(b'"weight":"', b'"weight":"1', 1)
    doc = croissant(m.doc, m.items, m.cid, m.sha256, gateway=url)
    with pytest.raises(Exception, match=r"Download\(manifest.json\)") as info:
        _records(doc, tmp_path / "c.json", "items")
    causes = []
    exc: BaseException | None = info.value
    while exc is not None:
        causes.append(str(exc))
        exc = exc.__cause__ or exc.__context__
    assert any("hash" in c.lower() or "sha256" in c.lower() for c in causes), causes


def test_hugging_face_card_has_front_matter_sources_and_attribution() -> None:
    m = built()
    card = dataset_card(m.doc, m.cid, m.sha256)
    head, _, body = card.partition("\n---\n")
    assert head.startswith('---\npretty_name: "text"\nlicense:\n- cc-by-4.0\n- cc0-1.0\n')
    assert "size_categories:\n- n<1K" in head
    assert f"https://ipfs.io/ipfs/{m.cid}" in body
    assert "| 1 | 1000 | 0 | 0 |" in body
    assert "`0x" + "b0" * 20 + "` |  | 2 | CC-BY-4.0 | yes |" in body
