"""Immutable bytes over HTTP: ETag = sha256, 304, byte ranges (RFC 9110), If-Range, HEAD, the LRU byte budget;
each answer checked through the routes and through ImmutableFastPath, which must give the same."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from starlette.middleware import Middleware

from backend.api.immutable import (
    CACHE_CONTROL,
    MAX_RANGE_HEADER,
    UNSATISFIABLE,
    ImmutableCache,
    VerifiedBytes,
    etag_matches,
    parse_range,
)
from backend.api.readmodel import InMemoryReadModel
from backend.api.routes.releases import ImmutableFastPath
from backend.errors import ConfigError
from curation.unixfs import compute_cid
from tests.backend.api.api_helpers import TestClient, sample_model

MANIFEST = "/datasets/1/releases/2/manifest"
PART = "/datasets/1/releases/2/parts/1"
#: Bytes of manifest part 1 of release 2: every byte value, so a range off by one shows.
PART_BYTES = bytes(range(256)) * 3


def _doc(data: bytes) -> VerifiedBytes:
    return VerifiedBytes(data, hashlib.sha256(data).hexdigest(), str(compute_cid(data).cid))


# --- parse_range --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("bytes=0-9", (0, 9)),
        ("bytes=5-5", (5, 5)),
        ("bytes=90-200", (90, 99)),  # last past the end: up to the end
        ("bytes=90-", (90, 99)),
        ("bytes=-10", (90, 99)),
        ("bytes=-500", (0, 99)),  # suffix longer than the document: all of it
        ("BYTES=1-2", (1, 2)),  # the unit is case-insensitive
        (" bytes=1-2 ", (1, 2)),
        ("bytes=0-" + "9" * 40, (0, 99)),  # a huge last position, read without a 40-digit int()
        ("bytes=-" + "9" * 40, (0, 99)),
        ("bytes=100-", UNSATISFIABLE),
        ("bytes=100-200", UNSATISFIABLE),
        ("bytes=" + "9" * 40 + "-", UNSATISFIABLE),
        ("bytes=-0", UNSATISFIABLE),
        (None, None),
        ("bytes=0-1,5-6", None),  # several ranges: ignored, the whole document
        ("bytes=0-1,", None),
        ("bytes=5-1", None),  # last before first: malformed
        ("bytes=-", None),
        ("bytes=a-b", None),
        ("bytes=1", None),
        ("bytes=+1-2", None),
        ("bytes=١-٢", None),  # Arabic-Indic digits: isdigit() says yes, RFC 9110 says DIGIT is ASCII
        ("items=0-1", None),
        ("bytes 0-1", None),
        ("bytes=0-1" + " " * MAX_RANGE_HEADER, None),  # over the length bound
    ],
)
def test_parse_range(header: str | None, expected: object) -> None:
    assert parse_range(header, 100) == expected


def test_an_empty_document_has_no_satisfiable_range() -> None:
    assert parse_range("bytes=0-", 0) is UNSATISFIABLE
    assert parse_range("bytes=-1", 0) is UNSATISFIABLE


def test_etag_matching_weak_for_if_none_match_strong_for_if_range() -> None:
    doc = _doc(b"abc")
    assert etag_matches(doc.etag, doc, weak=True)
    assert etag_matches(f'"other", W/{doc.etag}', doc, weak=True)
    assert etag_matches(doc.cid_etag, doc, weak=True)  # the CID ETag served before
    assert etag_matches("*", doc, weak=True)
    assert not etag_matches('"other"', doc, weak=True)
    assert etag_matches(doc.etag, doc, weak=False)
    assert not etag_matches(f"W/{doc.etag}", doc, weak=False)  # If-Range compares strongly
    assert not etag_matches("*", doc, weak=False)
    assert not etag_matches(None, doc, weak=True)


# --- ImmutableCache -----------------------------------------------------------------------------------------


def test_the_cache_evicts_the_least_recently_used_past_its_budget() -> None:
    cache = ImmutableCache(budget=10)
    a, b, c = _doc(b"aaaa"), _doc(b"bbbb"), _doc(b"cccc")
    cache.put("a", a)
    cache.put("b", b)
    assert cache.get("a") is a  # a is now the most recently used
    cache.put("c", c)  # 12 bytes > 10: b goes
    assert (cache.get("b"), cache.keys(), cache.size) == (None, ["a", "c"], 8)
    cache.put("a", a)  # putting again does not count twice
    assert cache.size == 8


def test_a_document_larger_than_the_budget_is_returned_but_not_kept() -> None:
    cache = ImmutableCache(budget=3)
    big = _doc(b"four")
    assert cache.put("big", big) is big
    assert (cache.get("big"), cache.size) == (None, 0)
    with pytest.raises(ConfigError, match=">= 0 bytes"):
        ImmutableCache(budget=-1)


# --- the routes, with and without the fast path -------------------------------------------------------------


class _Uncached(InMemoryReadModel):
    """Holds nothing ready: every request goes through the FastAPI routes and a worker thread."""

    def cached_document(self, dataset_id: int, number: int, part: int | None) -> VerifiedBytes | None:
        return None


def _model(cls: type[InMemoryReadModel]) -> InMemoryReadModel:
    model = cls()
    sample = sample_model()
    for ds in sample.datasets():
        model.add_dataset(ds.model_copy(update={"release_count": 0, "latest_release": None}))
    for release in sample.releases(1):
        data = sample.manifest(1, release.number).data
        model.add_release(
            1, data, state_block=release.state_block, scheme_id=release.scheme_id, item_count=0,
            parts=[b'{"part":0}', PART_BYTES],
        )  # fmt: skip
    return model


@pytest.fixture(params=["routes", "fast path"])
def served(request: pytest.FixtureRequest, build_app: Callable[..., FastAPI]) -> Iterator[TestClient]:
    if request.param == "routes":
        app = build_app(_model(_Uncached))
    else:
        app = build_app(_model(InMemoryReadModel))
        app.user_middleware.append(Middleware(ImmutableFastPath))  # innermost, as create_app would put it
    with TestClient(app) as client:
        yield client


def _get(client: TestClient, path: str, **headers: str) -> Any:
    return client.get(path, headers=headers)


def test_etag_is_the_sha256_of_the_body_and_the_bytes_are_cacheable_for_good(served: TestClient) -> None:
    release = served.get("/datasets/1/releases/2").json()
    r = served.get(MANIFEST)
    assert r.status_code == 200
    assert (
        r.headers["etag"] == f'"{hashlib.sha256(r.content).hexdigest()}"' == f'"{release["manifest_sha256"]}"'
    )
    assert r.headers["cache-control"] == CACHE_CONTROL
    assert r.headers["accept-ranges"] == "bytes"
    assert r.headers["content-length"] == str(len(r.content))
    part = served.get(PART)
    assert (part.status_code, part.content) == (200, PART_BYTES)
    assert part.headers["etag"] == f'"{hashlib.sha256(PART_BYTES).hexdigest()}"'


def test_if_none_match_with_either_etag_is_304(served: TestClient) -> None:
    r = served.get(MANIFEST)
    cid_etag = f'"{served.get("/datasets/1/releases/2").json()["manifest_cid"]}"'
    for held in (r.headers["etag"], cid_etag, f'"x", W/{r.headers["etag"]}', "*"):
        again = _get(served, MANIFEST, **{"If-None-Match": held, "Range": "bytes=0-1"})
        assert (again.status_code, again.content) == (304, b""), held
        assert again.headers["etag"] == r.headers["etag"]
    assert _get(served, MANIFEST, **{"If-None-Match": '"other"'}).status_code == 200


@pytest.mark.parametrize(
    ("header", "first", "last"),
    [("bytes=10-19", 10, 19), ("bytes=700-", 700, 767), ("bytes=-5", 763, 767), ("bytes=760-9999", 760, 767)],
)
def test_one_range_is_206_with_exactly_those_bytes(
    served: TestClient, header: str, first: int, last: int
) -> None:
    r = _get(served, PART, Range=header)
    assert r.status_code == 206
    assert r.content == PART_BYTES[first : last + 1]
    assert r.headers["content-range"] == f"bytes {first}-{last}/{len(PART_BYTES)}"
    assert r.headers["content-length"] == str(last + 1 - first)
    assert r.headers["etag"] == f'"{hashlib.sha256(PART_BYTES).hexdigest()}"'  # of the whole document


def test_a_range_past_the_end_is_416_with_the_length(served: TestClient) -> None:
    r = _get(served, PART, Range=f"bytes={len(PART_BYTES)}-")
    assert r.status_code == 416
    assert r.headers["content-range"] == f"bytes */{len(PART_BYTES)}"
    assert r.json()["code"] == "range-not-satisfiable"
    assert "selects no byte" in r.json()["detail"]


@pytest.mark.parametrize("header", ["bytes=0-1,4-5", "bytes=5-1", "bytes=x-", "lines=0-1", "bytes=--1"])
def test_a_malformed_or_multiple_range_is_ignored(served: TestClient, header: str) -> None:
    r = _get(served, PART, Range=header)
    assert (r.status_code, r.content) == (200, PART_BYTES)
    assert "content-range" not in r.headers


def test_if_range_honours_the_range_only_for_the_current_etag(served: TestClient) -> None:
    etag = served.get(PART).headers["etag"]
    r = _get(served, PART, Range="bytes=0-3", **{"If-Range": etag})
    assert (r.status_code, r.content) == (206, PART_BYTES[:4])
    for stale in ('"an older version"', f"W/{etag}", "Wed, 21 Oct 2015 07:28:00 GMT"):
        r = _get(served, PART, Range="bytes=0-3", **{"If-Range": stale})
        assert (r.status_code, r.content) == (200, PART_BYTES), stale


def test_head_answers_the_headers_of_get_without_a_body(served: TestClient) -> None:
    full = served.get(PART)
    r = served.head(PART)
    assert (r.status_code, r.content) == (200, b"")
    for name in ("etag", "cache-control", "accept-ranges", "content-length", "content-type"):
        assert r.headers[name] == full.headers[name], name
    r = served.head(PART, headers={"Range": "bytes=1-2"})
    assert (r.status_code, r.content) == (206, b"")
    assert (r.headers["content-range"], r.headers["content-length"]) == (f"bytes 1-2/{len(PART_BYTES)}", "2")
    assert served.head(MANIFEST).headers["content-length"] == served.get(MANIFEST).headers["content-length"]


def test_an_unlisted_part_or_release_is_404(served: TestClient) -> None:
    for path in (
        "/datasets/1/releases/2/parts/2",
        "/datasets/1/releases/3/parts/0",
        "/datasets/9/releases/1/manifest",
    ):
        r = served.get(path)
        assert (r.status_code, r.json()["code"]) == (404, "not-found"), path


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        (PART, {"Range": "bytes=0-" + "1" * MAX_RANGE_HEADER}),
        (PART, {"If-None-Match": '"' + "x" * 5000 + '"'}),
        ("/datasets/1/releases/2/parts/" + "9" * 11, {}),
        ("/datasets/1/releases/2/parts/" + "9" * 10_000, {}),  # refused without a 10,000-digit int()
        ("/datasets/1/releases/" + "9" * 80 + "/manifest", {}),
    ],
)
def test_oversized_headers_and_ids_are_422(served: TestClient, path: str, headers: dict[str, str]) -> None:
    r = served.get(path, headers=headers)
    assert (r.status_code, r.json()["code"]) == (422, "invalid-input")


def test_the_fast_path_answers_only_from_held_bytes(build_app: Callable[..., FastAPI]) -> None:
    """A request the read model cannot answer from memory goes on to the routes (which fetch and check)."""
    model = _model(_Uncached)
    calls: list[tuple[int, int, int | None]] = []
    real = model.manifest_part

    def counted(dataset_id: int, number: int, part: int) -> VerifiedBytes:
        calls.append((dataset_id, number, part))
        return real(dataset_id, number, part)

    model.manifest_part = counted  # type: ignore[method-assign]
    app = build_app(model)
    app.user_middleware.append(Middleware(ImmutableFastPath))
    with TestClient(app) as client:
        assert client.get(PART).content == PART_BYTES
    assert calls == [(1, 2, 1)]
