"""Content store over the Kubo RPC API (`/api/v0`, also served by js-ipfs), with verified streaming reads."""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import secrets
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

import httpx

from backend.errors import StoreError
from backend.ipfs._http import read_block_body
from backend.ipfs.base import CidLike, ContentStore, StoreSpec, check_source_file, read_file, verified_block
from backend.ipfs.errors import ContentNotFound, StoreTimeout, StoreUnavailable, UnexpectedResponse
from curation.blocks import check_block_size, verify_block
from curation.car import read_car, write_car
from curation.cid import CID, DAG_PB, RAW
from curation.errors import InvalidInput
from curation.multiformats import SHA2_256
from curation.unixfs import CHUNK_SIZE, FileImporter, ImportedFile, iter_chunks

__all__ = ["KuboStore", "rpc_base_url"]

_TRANSIENT_STATUS = {429, 502, 503, 504}
_MULTIADDR = re.compile(r"^/(ip4|ip6|dns4|dns6|dns)/([^/]+)/tcp/(\d+)(/https?)?/?$")


def rpc_base_url(url: str) -> str:
    """`http://host:5001`, `.../api/v0` or a multiaddr `/ip4/127.0.0.1/tcp/5001` -> `http://host:port/api/v0`."""
    text = url.strip()
    m = _MULTIADDR.match(text)
    if m:
        host = f"[{m.group(2)}]" if m.group(1) == "ip6" else m.group(2)
        scheme = "https" if m.group(4) == "/https" else "http"
        text = f"{scheme}://{host}:{m.group(3)}"
    if not text.startswith(("http://", "https://")):
        raise InvalidInput(f"IPFS RPC address {url!r} must be an http(s) URL or a /ip4/.../tcp/... multiaddr")
    text = text.rstrip("/")
    return text if text.endswith("/api/v0") else text + "/api/v0"


def _duration(seconds: float) -> str:
    return f"{max(1, int(seconds * 1000))}ms"


class _StreamReader(io.RawIOBase):
    """A read-only binary file over an iterator of byte chunks (for parsing a CAR as it streams)."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._buf = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._buf:
            try:
                self._buf = next(self._chunks)
            except StopIteration:
                return 0
        n = min(len(buffer), len(self._buf))
        buffer[:n] = self._buf[:n]
        self._buf = self._buf[n:]
        return n


class _CatLeaves:
    """Leaf source for `iter_file`: one `cat` stream read sequentially, reopened at an offset if needed.

    A leaf is joined once from views of the received chunks (no staging buffer to copy through).
    """

    def __init__(self, store: KuboStore, root: CID) -> None:
        self._store = store
        self._root = root
        self._response: httpx.Response | None = None
        self._chunks: Iterator[bytes] = iter(())
        self._rest = memoryview(b"")  # what is left of the last chunk received
        self._pos = -1

    def _open(self, offset: int) -> None:
        self.close()
        params = {"arg": str(self._root), "offset": str(offset)}
        self._response = self._store._stream("cat", params)
        self._chunks = self._response.iter_bytes()
        self._pos = offset

    def __call__(self, offset: int, length: int) -> bytes:
        if self._response is None or offset != self._pos:
            self._open(offset)
        pieces: list[memoryview] = []
        need = length
        while need:
            if not self._rest:
                self._rest = memoryview(self._next_chunk(length - need))
                continue
            piece = self._rest[:need]
            pieces.append(piece)
            need -= len(piece)
            self._rest = self._rest[len(piece) :]
        self._pos += length
        return pieces[0].tobytes() if len(pieces) == 1 else b"".join(pieces)

    def _next_chunk(self, have: int) -> bytes:
        try:
            return next(self._chunks)
        except StopIteration:
            raise UnexpectedResponse(
                f"the IPFS node's cat of {self._root} ended early at byte {self._pos + have}"
            ) from None
        except httpx.TimeoutException:
            raise StoreTimeout(f"reading {self._root} from the IPFS node timed out") from None
        except httpx.HTTPError as exc:
            raise StoreUnavailable(f"reading {self._root} from the IPFS node failed: {exc}") from None

    def close(self) -> None:
        if self._response is not None:
            self._response.close()
            self._response = None
        self._rest = memoryview(b"")


class KuboStore(ContentStore):
    """A Kubo (or js-ipfs) node through its RPC API on httpx.

    Every call carries a timeout (also sent to the node, since js-ipfs waits forever for a missing CID
    otherwise); connection failures and 429/502/503/504 are retried with exponential backoff; every CID
    the node returns is parsed and normalised (base32 for v1); every byte read is verified against its CID.
    """

    def __init__(
        self,
        url: str = "http://127.0.0.1:5001",
        *,
        timeout: float = 30.0,
        retries: int = 3,
        backoff: float = 0.25,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if timeout <= 0:
            raise InvalidInput(f"timeout must be positive, not {timeout}")
        self.url = rpc_base_url(url)
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self._client = httpx.Client(
            base_url=self.url,
            timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
            transport=transport,
            headers={"User-Agent": "curation-commons"},
        )

    def describe(self) -> str:
        return f"IPFS node at {self.url}"

    def spec(self) -> StoreSpec | None:
        return StoreSpec("kubo", self.url, self.timeout) if type(self) is KuboStore else None

    def close(self) -> None:
        self._client.close()

    # -- transport --------------------------------------------------------------------------------------
    def _send(
        self,
        path: str,
        params: dict[str, str],
        *,
        stream: bool = False,
        body: Callable[[], tuple[Any, dict[str, str]]] | None = None,
        timeout: float | None = None,
    ) -> httpx.Response:
        """POST with retries on transient failures; returns a checked response (streaming if asked)."""
        timeout = self.timeout if timeout is None else timeout
        params = {**params, "timeout": _duration(timeout)}
        attempt = 0
        while True:
            content, headers = body() if body is not None else (None, {})
            request = self._client.build_request(
                "POST", path, params=params, content=content, headers=headers, timeout=timeout
            )
            try:
                response = self._client.send(request, stream=True)
            except httpx.TimeoutException:
                raise StoreTimeout(
                    f"{self.describe()} did not answer {path} within {timeout:g} s "
                    f"(for a read, no reachable peer may have the content)"
                ) from None
            except (httpx.TransportError, OSError) as exc:
                if attempt < self.retries:
                    attempt += 1
                    time.sleep(self.backoff * 2 ** (attempt - 1))
                    continue
                raise StoreUnavailable(
                    f"cannot reach the {self.describe()} ({type(exc).__name__}: {exc}); "
                    "is the daemon running?"
                ) from None
            if response.status_code in _TRANSIENT_STATUS and attempt < self.retries:
                response.close()
                attempt += 1
                time.sleep(self.backoff * 2 ** (attempt - 1))
                continue
            if response.status_code != 200:
                self._raise_for(response, path)
            if not stream:
                try:
                    response.read()
                except httpx.TimeoutException:
                    raise StoreTimeout(f"{self.describe()} timed out sending the answer to {path}") from None
                except httpx.HTTPError as exc:
                    raise StoreUnavailable(
                        f"{self.describe()} broke off its answer to {path}: {exc}"
                    ) from None
                finally:
                    response.close()
            return response

    def _raise_for(self, response: httpx.Response, path: str) -> None:
        message = ""
        try:
            response.read()
            message = response.text[:300]
            message = str(json.loads(response.content).get("Message", "")) or message
        except (ValueError, AttributeError, httpx.HTTPError):
            pass
        finally:
            response.close()
        lowered = message.lower()
        if "timed out" in lowered or "deadline" in lowered or "timeout" in lowered:
            raise StoreTimeout(f"{self.describe()} gave up on {path} after its timeout: {message}")
        if "not found" in lowered or "no link named" in lowered or "not pinned" in lowered:
            raise ContentNotFound(f"{self.describe()} answered {path}: {message}")
        raise UnexpectedResponse(f"{self.describe()} refused {path} (HTTP {response.status_code}): {message}")

    def _json_lines(self, response: httpx.Response, path: str) -> list[dict[str, Any]]:
        out = []
        for line in response.content.splitlines():
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except ValueError:
                raise UnexpectedResponse(
                    f"{self.describe()} answered {path} with something that is not JSON: {line[:80]!r}"
                ) from None
            if not isinstance(value, dict):
                raise UnexpectedResponse(f"{self.describe()} answered {path} with unexpected JSON {value!r}")
            out.append(value)
        if not out:
            raise UnexpectedResponse(f"{self.describe()} answered {path} with an empty body")
        return out

    def _call(self, path: str, params: dict[str, str], **kw: Any) -> list[dict[str, Any]]:
        return self._json_lines(self._send(path, params, **kw), path)

    def _stream(self, path: str, params: dict[str, str]) -> httpx.Response:
        return self._send(path, params, stream=True)

    def _parse_cid(self, value: object, path: str) -> CID:
        if isinstance(value, dict):  # dag-json link form {"/": "..."}
            value = value.get("/")
        if not isinstance(value, str):
            raise UnexpectedResponse(f"{self.describe()} answered {path} without a CID")
        try:
            return CID.parse(value)
        except InvalidInput as exc:
            raise UnexpectedResponse(f"{self.describe()} answered {path} with a bad CID: {exc}") from None

    @staticmethod
    def _multipart(
        chunks: Callable[[], Iterator[bytes | memoryview]], size: int | None, name: str = "file"
    ) -> Callable[[], tuple[Any, dict[str, str]]]:
        """A multipart/form-data body streamed from `chunks` (every part has a Content-Type: js-ipfs)."""

        def build() -> tuple[Any, dict[str, str]]:
            boundary = secrets.token_hex(16)
            head = (
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{name}"\r\n'
                "Content-Type: application/octet-stream\r\n\r\n"
            ).encode()
            tail = f"\r\n--{boundary}--\r\n".encode()

            def gen() -> Iterator[bytes]:
                yield head
                for chunk in chunks():
                    yield bytes(chunk) if isinstance(chunk, memoryview) else chunk
                yield tail

            headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
            if size is not None:
                headers["Content-Length"] = str(len(head) + size + len(tail))
            return gen(), headers

        return build

    # -- writes -------------------------------------------------------------------------------------------
    def _add(
        self,
        chunks: Callable[[], Iterator[bytes | memoryview]],
        size: int | None,
        pin: bool,
        cid_version: int,
    ) -> ImportedFile:
        importer: list[FileImporter] = []

        def hashing_chunks() -> Iterator[bytes | memoryview]:
            # Hash what we send as we send it, so the node's answer can be checked against our own CID.
            importer.clear()
            importer.append(FileImporter(cid_version=cid_version))
            for chunk in chunks():
                importer[0].push(chunk)
                yield chunk

        params = {
            "cid-version": str(cid_version),
            "raw-leaves": "true" if cid_version == 1 else "false",
            "chunker": f"size-{CHUNK_SIZE}",
            "hash": "sha2-256",
            "pin": "true" if pin else "false",
            "progress": "false",
        }
        if cid_version == 1:
            params["cid-base"] = "base32"  # js-ipfs rejects base32 for v0
        if cid_version not in (0, 1):
            raise InvalidInput(f"CID version must be 0 or 1, not {cid_version}")
        lines = self._call("add", params, body=self._multipart(hashing_chunks, size))
        added = [line for line in lines if "Hash" in line]
        if not added:
            raise UnexpectedResponse(f"{self.describe()} answered add without a Hash")
        cid = self._parse_cid(added[-1]["Hash"], "add")
        importer[0].finish()
        expected = importer[0].result
        if cid != expected.cid:
            if pin:
                with contextlib.suppress(StoreError):
                    self.unpin(cid)
            raise UnexpectedResponse(
                f"{self.describe()} stored the bytes as {cid}, but they are {expected.cid} with the "
                "project's import settings (256 KiB chunks, balanced, raw leaves); "
                "the node's add is misconfigured"
            )
        return expected

    def put_bytes(self, data: bytes | memoryview, *, pin: bool = True, cid_version: int = 1) -> ImportedFile:
        view = memoryview(data)

        def chunks() -> Iterator[memoryview]:
            for start in range(0, len(view), CHUNK_SIZE):
                yield view[start : start + CHUNK_SIZE]

        return self._add(chunks, len(view), pin, cid_version)

    def put_file(self, path: Path, *, pin: bool = True, cid_version: int = 1) -> ImportedFile:
        path = check_source_file(Path(path))

        def chunks() -> Iterator[bytes]:
            with open(path, "rb") as fh:
                yield from iter_chunks(fh)

        try:
            return self._add(chunks, os.stat(path).st_size, pin, cid_version)
        except OSError as exc:
            raise StoreError(f"cannot read {path}: {exc.strerror}") from None

    # -- reads --------------------------------------------------------------------------------------------
    def _block_raw(self, cid: CID) -> bytes:
        return read_block_body(self._stream("block/get", {"arg": str(cid)}), cid, self.describe())

    def get_block(self, cid: CidLike) -> bytes:
        return verified_block(cid, self._block_raw)

    def iter_bytes(self, cid: CidLike, *, max_bytes: int | None = None) -> Iterator[bytes | memoryview]:
        root = CID.parse(cid)
        leaves = _CatLeaves(self, root)  # opens its `cat` stream at the first leaf, not before
        try:
            yield from read_file(root, self._block_raw, leaves, max_bytes=max_bytes)
        finally:
            leaves.close()

    def put_block(self, cid: CidLike, data: bytes) -> None:
        """Store one raw or dag-pb block (`block/put`) after checking it against its CID and the node's answer."""
        cid = CID.parse(cid)
        if cid.version != 1 or cid.codec not in (RAW, DAG_PB) or cid.hash_code != SHA2_256:
            raise InvalidInput(f"put_block takes a sha2-256 CIDv1 of a raw or dag-pb block, not {cid}")
        check_block_size(cid, len(data))
        verify_block(cid, data)
        codec = "raw" if cid.codec == RAW else "dag-pb"
        params = {"format": codec, "mhtype": "sha2-256", "version": "1", "cid-base": "base32"}
        answer = self._call("block/put", params, body=self._multipart(lambda: iter((data,)), len(data)))
        stored = self._parse_cid(answer[-1].get("Key"), "block/put")
        if (stored.codec, stored.multihash) != (cid.codec, cid.multihash):  # a CIDv0 answer is the same block
            raise UnexpectedResponse(f"{self.describe()} stored the block as {stored}, not {cid}")

    def has(self, cid: CidLike) -> bool:
        cid = CID.parse(cid)
        try:
            self._send("block/stat", {"arg": str(cid), "offline": "true"}, timeout=min(self.timeout, 1.0))
        except (ContentNotFound, StoreTimeout):
            return False
        except UnexpectedResponse as exc:
            if "not found" in str(exc).lower() or "offline" in str(exc).lower():
                return False
            raise
        return True

    def version(self) -> str:
        """The node's version string (`/api/v0/version`)."""
        value = self._call("version", {})[0].get("Version")
        if not isinstance(value, str):
            raise UnexpectedResponse(f"{self.describe()} answered version without a Version")
        return value

    # -- pins ---------------------------------------------------------------------------------------------
    def pin(self, cid: CidLike) -> None:
        self._call("pin/add", {"arg": str(CID.parse(cid)), "recursive": "true"})

    def unpin(self, cid: CidLike) -> None:
        self._call("pin/rm", {"arg": str(CID.parse(cid)), "recursive": "true"})

    def pins(self) -> list[CID]:
        found: list[CID] = []
        for line in self._call("pin/ls", {"type": "recursive"}):
            keys = line.get("Keys")
            if isinstance(keys, dict):
                found.extend(self._parse_cid(k, "pin/ls") for k in keys)
            elif "Cid" in line:  # streaming form
                found.append(self._parse_cid(line["Cid"], "pin/ls"))
        return sorted(found, key=str)

    def gc(self) -> int:
        response = self._send("repo/gc", {})
        return sum(1 for line in response.content.splitlines() if line.strip())

    # -- CAR ----------------------------------------------------------------------------------------------
    def export_car(self, root: CidLike, out: BinaryIO) -> int:
        cid = CID.parse(root)
        response = self._stream("dag/export", {"arg": str(cid)})
        try:
            roots, blocks = read_car(io.BufferedReader(_StreamReader(response.iter_bytes())))
            return write_car(out, roots, blocks)  # every block is verified on the way through
        except httpx.TimeoutException:
            raise StoreTimeout(f"exporting {cid} from the {self.describe()} timed out") from None
        except httpx.HTTPError as exc:
            raise StoreUnavailable(f"exporting {cid} from the {self.describe()} failed: {exc}") from None
        finally:
            response.close()

    def import_car(self, src: BinaryIO, *, pin: bool = True) -> list[CID]:
        start = src.tell() if src.seekable() else None

        def chunks() -> Iterator[bytes]:
            if start is not None:
                src.seek(start)
            while chunk := src.read(CHUNK_SIZE):
                yield chunk

        header_roots: list[CID] = []
        if start is not None:
            header_roots, _ = read_car(src)  # checks the header before anything is sent
        body = self._multipart(chunks, None)
        response = self._send("dag/import", {"pin-roots": "true" if pin else "false"}, body=body)
        if not response.content.strip():
            return header_roots
        lines = self._json_lines(response, "dag/import")
        roots = []
        for line in lines:
            root = line.get("Root")
            if isinstance(root, dict):
                if root.get("PinErrorMsg"):
                    raise UnexpectedResponse(
                        f"{self.describe()} could not pin a CAR root: {root['PinErrorMsg']}"
                    )
                roots.append(self._parse_cid(root.get("Cid"), "dag/import"))
        return roots or header_roots
