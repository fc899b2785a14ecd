"""Partitioned work: an ordered map over partitions, run in this process, on local processes or on a Dask
cluster (dask.distributed), whose results come back in partition order whatever ran them.

No scheduler of our own: local processes are a concurrent.futures.ProcessPoolExecutor, a cluster is a
distributed.Client's executor. Work functions are module-level functions taking a store source and one
partition (backend.ipfs.checks), so they pickle to any worker; the caller merges results in order, which is
why the bytes of a release cannot depend on where its partitions ran.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import AbstractContextManager
from functools import partial
from types import TracebackType
from typing import Any, TypeVar

from backend.errors import BackendError, ConfigError
from backend.ipfs import ContentStore
from backend.settings import Settings

__all__ = ["PartitionError", "Partitioner", "chunked", "open_partitioner"]

T = TypeVar("T")
R = TypeVar("R")


class PartitionError(BackendError):
    """A partition could not run: a worker process died, a Dask worker was lost, or no scheduler answered."""


def chunked(items: Sequence[T], size: int) -> list[list[T]]:
    """`items` in consecutive partitions of at most `size` (the last may be shorter)."""
    if size < 1:
        raise ConfigError(f"a partition holds at least one job, not {size}")
    return [list(items[i : i + size]) for i in range(0, len(items), size)]


class Partitioner(AbstractContextManager["Partitioner"]):
    """Runs work over partitions; opens its processes or its cluster connection only when a map needs them.

    A map of fewer than two partitions, or over a store that another process cannot open (`store.spec()` is
    None: a wrapper or fault injector given by the caller), runs in this process.
    """

    def __init__(
        self, *, scheduler: str | None = None, workers: int = 0, connect_timeout: float = 10
    ) -> None:
        self.scheduler = scheduler
        self.connect_timeout = connect_timeout
        self.workers = workers or (os.cpu_count() or 1)
        self._executor: Executor | None = None
        self._client: Any = None
        self._where = "this process"
        self.ran: list[
            str
        ] = []  # where each map ran ("this process", "2 local processes", "Dask at ..."): for
        # progress and tests

    @property
    def remote(self) -> bool:
        """Whether maps of two partitions or more leave this process."""
        return self.scheduler is not None or self.workers > 1

    def _open(self) -> tuple[Executor, str]:
        if self._executor is not None:
            return self._executor, self._where
        if self.scheduler is not None:
            try:
                from distributed import Client
            except ImportError:  # pragma: no cover - the cluster extra is part of every install we test
                raise ConfigError(
                    "CURATION_DASK_SCHEDULER is set but dask.distributed is not installed: "
                    "pip install 'curation-commons[cluster]'"
                ) from None
            try:
                self._client = Client(  # type: ignore[no-untyped-call]
                    self.scheduler, timeout=self.connect_timeout, set_as_default=False
                )
            except (OSError, TimeoutError) as exc:
                raise PartitionError(
                    f"no Dask scheduler answered at {self.scheduler} within {self.connect_timeout} s ({exc}); "
                    "start one (`dask scheduler`) or unset CURATION_DASK_SCHEDULER to build on local processes"
                ) from None
            self._executor = self._client.get_executor(pure=False)
            self._where = f"Dask cluster at {self.scheduler}"
        else:
            # forkserver: a worker never inherits the caller's threads, locks or in-process chain
            context = multiprocessing.get_context("forkserver")
            self._executor = ProcessPoolExecutor(self.workers, mp_context=context)
            self._where = f"{self.workers} local processes"
        return self._executor, self._where

    def map(
        self,
        fn: Callable[..., list[R]],
        store: ContentStore,
        parts: Sequence[list[T]],
        *args: Any,
    ) -> Iterator[R]:
        """fn(store source, *args, partition) for every partition; the outcomes, concatenated in order."""
        spec = store.spec() if self.remote and len(parts) > 1 else None
        if spec is None:
            self.ran.append("this process")
            for part in parts:
                yield from fn(store, *args, part)
            return
        executor, where = self._open()
        self.ran.append(where)
        try:
            for outcome in executor.map(partial(fn, spec, *args), parts):
                yield from outcome
        except BrokenProcessPool as exc:
            raise PartitionError(
                f"a build worker process died ({exc}); the build stopped, nothing was kept"
            ) from None
        except Exception as exc:
            if type(exc).__name__ in {"KilledWorker", "CommClosedError", "FutureCancelledError"}:
                raise PartitionError(
                    f"the Dask cluster at {self.scheduler} lost a partition ({type(exc).__name__}: {exc}); "
                    "the build stopped, nothing was kept"
                ) from None
            raise

    def close(self) -> None:
        if isinstance(self._executor, ProcessPoolExecutor):
            self._executor.shutdown(wait=True, cancel_futures=True)
        elif self._executor is not None:
            self._executor.shutdown(wait=True)
        self._executor = None
        if self._client is not None:
            self._client.close()
            self._client = None

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def open_partitioner(settings: Settings) -> Partitioner:
    """The partitioner the settings ask for: Dask at `dask_scheduler`, else `build_workers` local processes."""
    return Partitioner(scheduler=settings.dask_scheduler, workers=settings.build_workers)
