"""What the read endpoints serve: the `ReadModel` protocol and an in-memory implementation."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from typing import Protocol, TypeVar

from backend.api.errors import NotFound
from backend.api.immutable import VerifiedBytes
from backend.api.models import (
    Contributor,
    Dataset,
    Item,
    ItemWeight,
    License,
    Page,
    Proposal,
    Release,
    TransparencyReport,
    Weights,
)
from curation.unixfs import compute_cid

__all__ = ["InMemoryReadModel", "ReadModel", "page"]

T = TypeVar("T")


def page(rows: Iterable[T], offset: int, limit: int) -> Page[T]:
    """Slice `rows` (already in their final order) into a Page."""
    everything = list(rows)
    return Page[T](
        items=everything[offset : offset + limit], total=len(everything), offset=offset, limit=limit
    )


class ReadModel(Protocol):
    """Read-only view of the folded chain state and published releases, as API models.

    Methods raise backend.api.errors.NotFound for an unknown dataset, release, item, contributor or
    proposal; lists come in id order (contributors by id, releases by number). `number=None` means the latest
    release. The API calls these from worker threads, so an implementation may block (database, IPFS).
    """

    def licenses(self) -> list[License]: ...
    def datasets(self) -> list[Dataset]: ...
    def dataset(self, dataset_id: int) -> Dataset: ...
    def releases(self, dataset_id: int) -> list[Release]: ...
    def release(self, dataset_id: int, number: int | None) -> Release: ...
    def manifest(self, dataset_id: int, number: int) -> VerifiedBytes:
        """The release's manifest bytes exactly as published, checked against the anchored sha256, with that
        sha256 and their CID (text, base32 CIDv1)."""
        ...

    def manifest_part(self, dataset_id: int, number: int, part: int) -> VerifiedBytes:
        """Part `part` of the release's manifest (its `item_parts` entry with that `part` number), checked
        against the sha256 listed there (ManifestMismatch otherwise); NotFound for a part it does not list."""
        ...

    def cached_document(self, dataset_id: int, number: int, part: int | None) -> VerifiedBytes | None:
        """The verified bytes of the manifest (`part=None`) or of one of its parts if already held, else None.

        Never blocks (no I/O, no refresh): the API calls it on the event loop and calls `manifest` or
        `manifest_part` from a worker thread only when it answers None.
        """
        ...

    def weights(self, dataset_id: int, number: int, *, offset: int, limit: int) -> Weights: ...
    def report(self, dataset_id: int, number: int) -> TransparencyReport: ...
    def items(self, *, contributor: str | None, offset: int, limit: int) -> Page[Item]: ...
    def item(self, item_id: int) -> Item: ...
    def contributors(self, *, offset: int, limit: int) -> Page[Contributor]: ...
    def contributor(self, address: str) -> Contributor: ...
    def is_registered(self, address: str) -> bool:
        """Whether `address` is a registered contributor now (the registry would accept its submitItem).

        Unlike `contributor`, this must not lag behind the chain: a wallet that registered a moment ago is
        registered, whatever the served snapshot says.
        """
        ...

    def proposals(self, dataset_id: int, *, offset: int, limit: int) -> Page[Proposal]: ...
    def proposal(self, proposal_id: int) -> Proposal: ...


def _verified(data: bytes) -> VerifiedBytes:
    """Bytes given by the caller, trusted as they are: their own sha256 and CID."""
    return VerifiedBytes(data, hashlib.sha256(data).hexdigest(), str(compute_cid(data).cid))


class InMemoryReadModel:
    """A ReadModel over plain dictionaries (tests, demos); fill it with the `add_*` methods."""

    def __init__(self) -> None:
        self._licenses: dict[int, License] = {}
        self._datasets: dict[int, Dataset] = {}
        self._releases: dict[tuple[int, int], Release] = {}
        self._manifests: dict[tuple[int, int], VerifiedBytes] = {}
        self._parts: dict[tuple[int, int, int], VerifiedBytes] = {}
        self._weights: dict[tuple[int, int], Weights] = {}
        self._reports: dict[tuple[int, int], TransparencyReport] = {}
        self._items: dict[int, Item] = {}
        self._contributors: dict[str, Contributor] = {}
        self._proposals: dict[int, Proposal] = {}

    # -- filling -----------------------------------------------------------------------------------
    def add_license(self, lic: License) -> None:
        self._licenses[lic.id] = lic

    def add_dataset(self, dataset: Dataset) -> None:
        self._datasets[dataset.id] = dataset

    def add_release(
        self,
        dataset_id: int,
        manifest: bytes,
        *,
        state_block: int,
        scheme_id: str,
        item_count: int,
        weights: Weights | None = None,
        report: TransparencyReport | None = None,
        parts: Sequence[bytes] = (),
    ) -> Release:
        """Record the next release of `dataset_id`; CID and sha256 are computed from `manifest` and from each
        of `parts` (served as parts 0, 1, ...: the caller lists them in the manifest's `item_parts`)."""
        ds = self.dataset(dataset_id)
        number = ds.release_count + 1
        doc = _verified(manifest)
        release = Release(
            dataset_id=dataset_id,
            number=number,
            manifest_cid=doc.cid,
            manifest_sha256=doc.sha256,
            state_block=state_block,
            scheme_id=scheme_id,
            parent=number - 1 or None,
            item_count=item_count,
        )
        self._releases[dataset_id, number] = release
        self._manifests[dataset_id, number] = doc
        for index, part in enumerate(parts):
            self._parts[dataset_id, number, index] = _verified(part)
        if weights is not None:
            self._weights[dataset_id, number] = weights
        if report is not None:
            self._reports[dataset_id, number] = report
        self._datasets[dataset_id] = ds.model_copy(update={"release_count": number, "latest_release": number})
        return release

    def add_item(self, item: Item) -> None:
        self._items[item.id] = item

    def add_contributor(self, contributor: Contributor) -> None:
        self._contributors[contributor.address.lower()] = contributor

    def add_proposal(self, proposal: Proposal) -> None:
        self._proposals[proposal.id] = proposal

    # -- ReadModel ---------------------------------------------------------------------------------
    def licenses(self) -> list[License]:
        return [self._licenses[k] for k in sorted(self._licenses)]

    def datasets(self) -> list[Dataset]:
        return [self._datasets[k] for k in sorted(self._datasets)]

    def dataset(self, dataset_id: int) -> Dataset:
        try:
            return self._datasets[dataset_id]
        except KeyError:
            raise NotFound(f"dataset {dataset_id} does not exist") from None

    def releases(self, dataset_id: int) -> list[Release]:
        ds = self.dataset(dataset_id)
        return [self._releases[dataset_id, n] for n in range(1, ds.release_count + 1)]

    def release(self, dataset_id: int, number: int | None) -> Release:
        ds = self.dataset(dataset_id)
        if number is None:
            if ds.latest_release is None:
                raise NotFound(f"dataset {dataset_id} has no release yet")
            number = ds.latest_release
        try:
            return self._releases[dataset_id, number]
        except KeyError:
            raise NotFound(
                f"dataset {dataset_id} has no release {number} (it has {ds.release_count})"
            ) from None

    def manifest(self, dataset_id: int, number: int) -> VerifiedBytes:
        self.release(dataset_id, number)
        return self._manifests[dataset_id, number]

    def manifest_part(self, dataset_id: int, number: int, part: int) -> VerifiedBytes:
        self.release(dataset_id, number)
        try:
            return self._parts[dataset_id, number, part]
        except KeyError:
            raise NotFound(
                f"release {number} of dataset {dataset_id} lists no manifest part {part}"
            ) from None

    def cached_document(self, dataset_id: int, number: int, part: int | None) -> VerifiedBytes | None:
        if part is None:
            return self._manifests.get((dataset_id, number))
        return self._parts.get((dataset_id, number, part))

    def weights(self, dataset_id: int, number: int, *, offset: int, limit: int) -> Weights:
        self.release(dataset_id, number)
        try:
            full = self._weights[dataset_id, number]
        except KeyError:
            raise NotFound(f"release {number} of dataset {dataset_id} has no weights recorded") from None
        rows: list[ItemWeight] = full.items.items
        return full.model_copy(update={"items": page(rows, offset, limit)})

    def report(self, dataset_id: int, number: int) -> TransparencyReport:
        self.release(dataset_id, number)
        try:
            return self._reports[dataset_id, number]
        except KeyError:
            raise NotFound(f"release {number} of dataset {dataset_id} has no transparency report") from None

    def items(self, *, contributor: str | None, offset: int, limit: int) -> Page[Item]:
        rows = (self._items[k] for k in sorted(self._items))
        if contributor is not None:
            who = contributor.lower()
            rows = (i for i in rows if i.contributor.lower() == who)
        return page(rows, offset, limit)

    def item(self, item_id: int) -> Item:
        try:
            return self._items[item_id]
        except KeyError:
            raise NotFound(f"item {item_id} does not exist") from None

    def contributors(self, *, offset: int, limit: int) -> Page[Contributor]:
        return page(sorted(self._contributors.values(), key=lambda c: c.id), offset, limit)

    def contributor(self, address: str) -> Contributor:
        try:
            return self._contributors[address.lower()]
        except KeyError:
            raise NotFound(f"{address} is not a registered contributor") from None

    def is_registered(self, address: str) -> bool:
        return address.lower() in self._contributors

    def proposals(self, dataset_id: int, *, offset: int, limit: int) -> Page[Proposal]:
        self.dataset(dataset_id)
        rows = (self._proposals[k] for k in sorted(self._proposals))
        return page((p for p in rows if p.dataset_id == dataset_id), offset, limit)

    def proposal(self, proposal_id: int) -> Proposal:
        try:
            return self._proposals[proposal_id]
        except KeyError:
            raise NotFound(f"proposal {proposal_id} does not exist") from None
