"""Streaming UnixFS file importer and verified reader, block for block identical to `ipfs add`."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO, Final, Protocol

from curation.blocks import MAX_BLOCK_SIZE, BlockTooLarge, check_block_size, verify_block
from curation.cid import CID, DAG_PB, RAW
from curation.errors import CurationError, InvalidInput
from curation.multiformats import IDENTITY, SHA2_256, read_varint, varint

__all__ = [
    "CHUNK_SIZE",
    "MAX_DAG_DEPTH",
    "MAX_LINKS",
    "MAX_LINKS_PER_NODE",
    "Block",
    "DagLimitExceeded",
    "FileImporter",
    "ImportedFile",
    "LeafReader",
    "MalformedBlock",
    "NotAFile",
    "PBLink",
    "PBNode",
    "ReadLimitExceeded",
    "SizeMismatch",
    "UnixFSData",
    "compute_cid",
    "decode_pbnode",
    "decode_unixfs",
    "encode_pbnode",
    "import_bytes",
    "import_chunks",
    "import_stream",
    "iter_chunks",
    "iter_file",
    "link_cids",
]

CHUNK_SIZE = 256 * 1024  # Kubo's and js-ipfs's default fixed-size chunker (size-262144)
MAX_LINKS = 174  # links per node of the balanced layout (both implementations)

# Format limits of a UnixFS file DAG: facts about content, the same on every machine. A DAG that breaks one is
# invalid content (DagLimitExceeded, an InvalidInput), whoever serves it. Blocks: curation.blocks.MAX_BLOCK_SIZE.
#: Most links one file node may have. Kubo and js-ipfs write 174, Helia at most 1024.
MAX_LINKS_PER_NODE: Final = 1024
#: Deepest a file DAG may be (the root is depth 0). A balanced DAG of 174-link nodes over 256 KiB chunks is
#: 4 deep at 224 TiB; a trickle DAG of the same file is a few times deeper.
MAX_DAG_DEPTH: Final = 64

# UnixFS Data.Type values
_RAW, _DIRECTORY, _FILE, _METADATA, _SYMLINK, _HAMT = 0, 1, 2, 3, 4, 5
_TYPE_NAMES = {0: "raw", 1: "directory", 2: "file", 3: "metadata", 4: "symlink", 5: "hamt-sharded directory"}

Buffer = bytes | memoryview


class NotAFile(InvalidInput):
    """The CID names a directory, symlink or non-UnixFS block, where a file was expected."""


class MalformedBlock(InvalidInput):
    """A block verified against its CID, but is not valid dag-pb/UnixFS (invalid content, deterministically)."""


class DagLimitExceeded(MalformedBlock):
    """A file DAG breaks a format limit: too many links in a node (MAX_LINKS_PER_NODE) or too deep
    (MAX_DAG_DEPTH)."""


class SizeMismatch(MalformedBlock):
    """A file DAG's declared sizes do not add up: a node's filesize is not its data plus its blocksizes, it
    declares a blocksize per link for some links only, or a child holds other than its parent declares."""


class ReadLimitExceeded(CurationError):
    """The file is larger than the reader's `max_bytes`: a limit of the reader, not a fault of the content.

    `declared` is the file size the root block declares (the reader checks it before reading further).
    Stores turn it into backend.ipfs.errors.ContentTooLarge.
    """

    def __init__(self, cid: CID, limit: int, declared: int | None) -> None:
        size = "" if declared is None else f" {declared} bytes (as its root declares),"
        super().__init__(f"file {cid} is{size} over the read limit of {limit} bytes")
        self.cid = cid
        self.limit = limit
        self.declared = declared


@dataclass(frozen=True, slots=True)
class Block:
    """One block of a DAG. `data` may be a view into the caller's buffer: consume it before the next one."""

    cid: CID
    data: Buffer


@dataclass(frozen=True, slots=True)
class ImportedFile:
    """The result of an import: root CID, file bytes, cumulative DAG size (Kubo's `CumulativeSize`)."""

    cid: CID
    size: int
    dag_size: int
    blocks: int


# -- protobuf, written by hand (dag-pb spec: Links before Data; UnixFS fields in field order) ---------


def _field_bytes(number: int, payload: Buffer) -> bytes:
    return varint(number << 3 | 2) + varint(len(payload)) + payload


def _field_varint(number: int, value: int) -> bytes:
    return varint(number << 3) + varint(value)


@dataclass(frozen=True, slots=True)
class PBLink:
    """A dag-pb link: target CID, name (empty for file chunks) and cumulative size of the target."""

    cid: CID
    name: str | None = ""
    tsize: int | None = None


@dataclass(frozen=True, slots=True)
class PBNode:
    """A decoded dag-pb node."""

    links: tuple[PBLink, ...]
    data: bytes | None


@dataclass(frozen=True, slots=True)
class UnixFSData:
    """The UnixFS `Data` message inside a dag-pb node (the fields a file reader needs)."""

    type: int
    data: bytes = b""
    filesize: int | None = None
    blocksizes: tuple[int, ...] = field(default_factory=tuple)


def encode_pbnode(links: Iterable[PBLink], data: bytes | None) -> bytes:
    """Canonical dag-pb encoding, as Kubo and @ipld/dag-pb write it."""
    out = bytearray()
    for link in links:
        body = _field_bytes(1, link.cid.to_bytes())
        if link.name is not None:
            body += _field_bytes(2, link.name.encode("utf-8"))
        if link.tsize is not None:
            body += _field_varint(3, link.tsize)
        out += _field_bytes(2, body)
    if data is not None:
        out += _field_bytes(1, data)
    return bytes(out)


def _fields(buf: Buffer) -> Iterator[tuple[int, int, int | memoryview]]:
    """Yield (field number, wire type, value) of a protobuf message; varints as int, bytes as views."""
    view = memoryview(buf)
    pos = 0
    end = len(view)
    while pos < end:
        key, pos = read_varint(view, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = read_varint(view, pos)
            yield number, wire, value
        elif wire == 2:
            length, pos = read_varint(view, pos)
            if pos + length > end:
                raise InvalidInput("truncated protobuf field")
            yield number, wire, view[pos : pos + length]
            pos += length
        elif wire == 1:
            pos += 8
        elif wire == 5:
            pos += 4
        else:
            raise InvalidInput(f"unsupported protobuf wire type {wire}")
        if pos > end:
            raise InvalidInput("truncated protobuf field")


def decode_pbnode(block: Buffer) -> PBNode:
    """Decode a dag-pb block (Data and Links; unknown fields ignored)."""
    links: list[PBLink] = []
    data: bytes | None = None
    for number, wire, value in _fields(block):
        if number == 1 and isinstance(value, memoryview):
            data = bytes(value)
        elif number == 2 and isinstance(value, memoryview):
            cid: CID | None = None
            name: str | None = None
            tsize: int | None = None
            for n, _w, v in _fields(value):
                if n == 1 and isinstance(v, memoryview):
                    cid = CID.parse(v)
                elif n == 2 and isinstance(v, memoryview):
                    name = bytes(v).decode("utf-8", errors="replace")
                elif n == 3 and isinstance(v, int):
                    tsize = v
            if cid is None:
                raise InvalidInput("dag-pb link without a Hash")
            links.append(PBLink(cid, name, tsize))
        elif wire not in (0, 2):
            raise InvalidInput(f"unexpected wire type {wire} in dag-pb node")
    return PBNode(tuple(links), data)


def decode_unixfs(data: Buffer) -> UnixFSData:
    """Decode the UnixFS Data message (blocksizes packed or not)."""
    type_: int | None = None
    payload = b""
    filesize: int | None = None
    blocksizes: list[int] = []
    for number, _wire, value in _fields(data):
        if number == 1 and isinstance(value, int):
            type_ = value
        elif number == 2 and isinstance(value, memoryview):
            payload = bytes(value)
        elif number == 3 and isinstance(value, int):
            filesize = value
        elif number == 4:
            if isinstance(value, int):
                blocksizes.append(value)
            else:  # packed encoding
                pos = 0
                while pos < len(value):
                    size, pos = read_varint(value, pos)
                    blocksizes.append(size)
    if type_ is None:
        raise InvalidInput("UnixFS data without a Type")
    return UnixFSData(type_, payload, filesize, tuple(blocksizes))


def _unixfs_file(payload: Buffer | None, filesize: int, blocksizes: Iterable[int] = ()) -> bytes:
    out = bytearray(_field_varint(1, _FILE))
    if payload is not None:
        out += _field_bytes(2, payload)
    out += _field_varint(3, filesize)
    for size in blocksizes:
        out += _field_varint(4, size)
    return bytes(out)


# -- importer -----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Link:
    cid: CID
    tsize: int  # cumulative serialized size of the subtree
    filesize: int  # file bytes in the subtree


class FileImporter:
    """Push-style balanced-layout importer: feed 256 KiB chunks, get blocks back, `finish()` for the root.

    Memory is bounded by 174 pending links per tree level, whatever the file size. Chunks are hashed
    in place (a raw leaf's block data is the chunk object given), so memoryview slices cost no copy.
    """

    def __init__(
        self,
        *,
        cid_version: int = 1,
        raw_leaves: bool | None = None,
        chunk_size: int = CHUNK_SIZE,
        max_links: int = MAX_LINKS,
    ) -> None:
        if chunk_size < 1 or max_links < 2:
            raise InvalidInput("chunk_size must be at least 1 and max_links at least 2")
        if cid_version not in (0, 1):
            raise InvalidInput(f"CID version must be 0 or 1, not {cid_version}")
        if raw_leaves is None:
            raw_leaves = cid_version == 1
        if raw_leaves and cid_version == 0:
            raise InvalidInput("raw leaves need CIDv1 (use cid_version=1)")
        self._version = cid_version
        self._chunk_size = chunk_size
        self._max_links = max_links
        self._raw_leaves = raw_leaves
        self._levels: list[list[_Link]] = [[]]
        self._leaves = 0
        self._size = 0
        self._blocks = 0
        self._short_seen = False
        self._result: ImportedFile | None = None

    @property
    def result(self) -> ImportedFile:
        """The root, once `finish()` has been called."""
        if self._result is None:
            raise InvalidInput("the import is not finished yet")
        return self._result

    def _pb_cid(self, block: bytes) -> CID:
        digest = hashlib.sha256(block).digest()
        return CID(self._version, DAG_PB, SHA2_256, digest)

    def _leaf(self, chunk: Buffer | None) -> tuple[Block, _Link]:
        size = 0 if chunk is None else len(chunk)
        if self._raw_leaves:
            data: Buffer = b"" if chunk is None else chunk
            cid = CID(1, RAW, SHA2_256, hashlib.sha256(data).digest())
            return Block(cid, data), _Link(cid, size, size)
        block = encode_pbnode((), _unixfs_file(chunk, size))
        cid = self._pb_cid(block)
        return Block(cid, block), _Link(cid, len(block), size)

    def _parent(self, links: list[_Link]) -> tuple[Block, _Link]:
        filesize = sum(link.filesize for link in links)
        data = _unixfs_file(None, filesize, (link.filesize for link in links))
        block = encode_pbnode((PBLink(link.cid, "", link.tsize) for link in links), data)
        cid = self._pb_cid(block)
        return Block(cid, block), _Link(cid, len(block) + sum(link.tsize for link in links), filesize)

    def _push_link(self, level: int, link: _Link, out: list[Block]) -> None:
        if level == len(self._levels):
            self._levels.append([])
        pending = self._levels[level]
        if len(pending) == self._max_links:
            # The level is full and more follows: close it into a parent one level up.
            block, parent = self._parent(pending)
            out.append(block)
            self._blocks += 1
            self._levels[level] = pending = []
            self._push_link(level + 1, parent, out)
        pending.append(link)

    def push(self, chunk: Buffer) -> list[Block]:
        """Add the next chunk (exactly chunk_size bytes, except the last); return the blocks it completes."""
        if self._result is not None:
            raise InvalidInput("the import is already finished")
        if len(chunk) > self._chunk_size:
            raise InvalidInput(f"chunk of {len(chunk)} bytes is larger than {self._chunk_size}")
        if self._short_seen:
            raise InvalidInput("only the last chunk may be shorter than the chunk size")
        if len(chunk) < self._chunk_size:
            self._short_seen = True
        if not chunk:
            return []
        block, link = self._leaf(chunk)
        out = [block]
        self._blocks += 1
        self._leaves += 1
        self._size += len(chunk)
        self._push_link(0, link, out)
        return out

    def finish(self) -> list[Block]:
        """Close every level; return the remaining blocks (the root last). `result` then holds the root."""
        if self._result is not None:
            raise InvalidInput("the import is already finished")
        out: list[Block] = []
        if self._leaves == 0:  # the empty file: one leaf without data
            block, link = self._leaf(None)
            out.append(block)
            self._blocks += 1
            self._result = ImportedFile(link.cid, 0, link.tsize, self._blocks)
            return out
        level = 0
        while True:
            pending = self._levels[level]
            top = level == len(self._levels) - 1
            if top and len(pending) == 1 and (level > 0 or self._leaves == 1):
                root = pending[0]
                break
            block, parent = self._parent(pending)
            out.append(block)
            self._blocks += 1
            self._levels[level] = []
            self._push_link(level + 1, parent, out)
            level += 1
        self._result = ImportedFile(root.cid, self._size, root.tsize, self._blocks)
        return out


def import_chunks(
    chunks: Iterable[Buffer], *, cid_version: int = 1, raw_leaves: bool | None = None
) -> Generator[Block, None, ImportedFile]:
    """Yield every block of the file made of `chunks` (root last); return the root (`yield from`)."""
    importer = FileImporter(cid_version=cid_version, raw_leaves=raw_leaves)
    for chunk in chunks:
        yield from importer.push(chunk)
    yield from importer.finish()
    return importer.result


def _bytes_chunks(data: Buffer) -> Iterator[memoryview]:
    view = memoryview(data)
    for start in range(0, len(view), CHUNK_SIZE):
        yield view[start : start + CHUNK_SIZE]


def iter_chunks(stream: BinaryIO, chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
    """Read a binary stream as full chunks (short reads from a pipe are topped up); the last may be short."""
    while True:
        chunk = stream.read(chunk_size)
        if not chunk:
            return
        while len(chunk) < chunk_size:
            more = stream.read(chunk_size - len(chunk))
            if not more:
                yield chunk
                return
            chunk += more
        yield chunk


def import_bytes(
    data: Buffer, *, cid_version: int = 1, raw_leaves: bool | None = None
) -> Generator[Block, None, ImportedFile]:
    """Import an in-memory buffer (sliced with memoryview, no copies of the leaves)."""
    return import_chunks(_bytes_chunks(data), cid_version=cid_version, raw_leaves=raw_leaves)


def import_stream(
    stream: BinaryIO, *, cid_version: int = 1, raw_leaves: bool | None = None
) -> Generator[Block, None, ImportedFile]:
    """Import a binary stream in constant memory."""
    return import_chunks(iter_chunks(stream), cid_version=cid_version, raw_leaves=raw_leaves)


def compute_cid(
    source: Buffer | BinaryIO, *, cid_version: int = 1, raw_leaves: bool | None = None
) -> ImportedFile:
    """What `ipfs add --only-hash` prints for these bytes (blocks are hashed and dropped)."""
    importer = FileImporter(cid_version=cid_version, raw_leaves=raw_leaves)
    chunks: Iterable[Buffer]
    chunks = (
        _bytes_chunks(source) if isinstance(source, bytes | bytearray | memoryview) else iter_chunks(source)
    )
    for chunk in chunks:
        importer.push(chunk)
    importer.finish()
    return importer.result


# -- verified reader ----------------------------------------------------------------------------------


class LeafReader(Protocol):
    """Optional fast path: the raw bytes of the file at [offset, offset+length), e.g. from a `cat` stream.

    The reader hashes whatever comes back against the leaf's CID, so the source needs no trust.
    """

    def __call__(self, offset: int, length: int) -> Buffer: ...


def link_cids(block: Buffer, cid: CID) -> list[CID]:
    """The CIDs a block links to (none for raw blocks)."""
    if cid.codec != DAG_PB:
        return []
    try:
        return [link.cid for link in decode_pbnode(block).links]
    except InvalidInput as exc:
        raise MalformedBlock(f"block {cid} is not valid dag-pb: {exc}") from None


def _verified(get_block: Callable[[CID], Buffer], cid: CID) -> Buffer:
    if cid.hash_code == IDENTITY:
        return cid.digest
    data = get_block(cid)
    verify_block(cid, data)
    return data


def _unixfs_node(cid: CID, block: Buffer) -> tuple[PBNode, UnixFSData]:
    try:
        node = decode_pbnode(block)
        if node.data is None:
            raise InvalidInput("dag-pb node without UnixFS data")
        meta = decode_unixfs(node.data)
    except InvalidInput as exc:
        raise MalformedBlock(f"block {cid} is not a valid UnixFS node: {exc}") from None
    if meta.type not in (_FILE, _RAW):
        kind = _TYPE_NAMES.get(meta.type, f"type {meta.type}")
        raise NotAFile(f"{cid} is a UnixFS {kind}, not a file")
    return node, meta


def _node_size(cid: CID, node: PBNode, meta: UnixFSData) -> int:
    """The file bytes under a file node, once its declared sizes are checked against each other."""
    links = len(node.links)
    if links > MAX_LINKS_PER_NODE:
        raise DagLimitExceeded(
            f"file node {cid} has {links} links, over the format limit of {MAX_LINKS_PER_NODE} links per node"
        )
    if len(meta.blocksizes) != links:
        raise SizeMismatch(
            f"file node {cid} has {links} links but declares {len(meta.blocksizes)} blocksizes "
            "(a file node declares the size of each child)"
        )
    total = len(meta.data) + sum(meta.blocksizes)
    if meta.filesize is not None and meta.filesize != total:
        raise SizeMismatch(
            f"file node {cid} declares a filesize of {meta.filesize} bytes, but its data and blocksizes "
            f"add up to {total}"
        )
    return total


def iter_file(
    root: CID,
    get_block: Callable[[CID], Buffer],
    leaf_reader: LeafReader | None = None,
    *,
    max_bytes: int | None = None,
) -> Iterator[Buffer]:
    """Yield the bytes of the UnixFS file `root`, verifying every block against its CID before use.

    `get_block` returns a block's bytes (from any untrusted source). If `leaf_reader` is given, raw
    leaves whose size the parent records are read through it instead (one stream instead of one request
    per block), and still verified one by one. Raises BlockMismatch naming the first bad block.

    Limits: the DAG must keep the format limits (blocks up to MAX_BLOCK_SIZE, MAX_LINKS_PER_NODE links per
    node, MAX_DAG_DEPTH deep) and its declared sizes must add up (a node's filesize is its data plus its
    blocksizes, each child holds what its parent declares), else DagLimitExceeded, BlockTooLarge or
    SizeMismatch (InvalidInput: the content is invalid). So the root's declared size is the exact size of
    the file, a DAG repeating links can only read back as what it declares, and with `max_bytes` a file
    declaring more is refused (ReadLimitExceeded) right after its root block, before any byte is yielded.
    Memory stays bounded: at most MAX_LINKS_PER_NODE pending links per level of depth.
    """
    if max_bytes is not None and max_bytes < 0:
        raise InvalidInput(f"max_bytes must be at least 0, not {max_bytes}")
    offset = 0
    declared = -1  # file size the root declares, known once the root block is read
    # Depth-first stack of (cid, file size its parent declares for it (None for the root), depth).
    stack: list[tuple[CID, int | None, int]] = [(root, None, 0)]
    while stack:
        cid, expected, depth = stack.pop()
        if cid.codec == RAW:
            if expected is not None and expected > MAX_BLOCK_SIZE:
                raise BlockTooLarge(cid, expected, declared=True)
            if leaf_reader is not None and expected is not None and cid.hash_code == SHA2_256:
                data = leaf_reader(offset, expected)
                verify_block(cid, data)
            else:
                data = _verified(get_block, cid)
            check_block_size(cid, len(data))
            if expected is None:
                declared = len(data)
                if max_bytes is not None and declared > max_bytes:
                    raise ReadLimitExceeded(root, max_bytes, declared)
            elif len(data) != expected:
                raise SizeMismatch(f"leaf {cid} holds {len(data)} bytes, its parent declares {expected}")
        else:
            if cid.codec != DAG_PB:
                raise NotAFile(f"{cid} is a {cid.codec_name} block, not a UnixFS file")
            block = _verified(get_block, cid)
            check_block_size(cid, len(block))
            node, meta = _unixfs_node(cid, block)
            total = _node_size(cid, node, meta)
            if expected is None:
                declared = total
                if max_bytes is not None and declared > max_bytes:
                    raise ReadLimitExceeded(root, max_bytes, declared)
            elif total != expected:
                raise SizeMismatch(f"file node {cid} holds {total} bytes, its parent declares {expected}")
            if node.links:
                if depth >= MAX_DAG_DEPTH:
                    raise DagLimitExceeded(
                        f"file DAG {root} is deeper than the format limit of {MAX_DAG_DEPTH} levels "
                        f"(node {cid} at depth {depth} has links)"
                    )
                children = zip(reversed(node.links), reversed(meta.blocksizes), strict=True)
                stack.extend((link.cid, size, depth + 1) for link, size in children)
            data = meta.data
        if not data:
            continue
        if max_bytes is not None and offset + len(data) > max_bytes:  # unreachable once sizes add up
            raise ReadLimitExceeded(root, max_bytes, declared)
        offset += len(data)
        yield data
    if offset != declared:  # unreachable once sizes add up; never hand out a file of another size
        raise SizeMismatch(f"file {root} read back as {offset} bytes, its root declares {declared}")
