"""curation.errors: one root for every error, and a drawing of the whole tree that cannot fall behind."""

from __future__ import annotations

import importlib
import pkgutil
import re

import pytest

import backend
import curation
from curation import errors
from curation.errors import CurationError


def _exception_classes() -> dict[str, type[BaseException]]:
    found: dict[str, type[BaseException]] = {}
    for root in (curation, backend):
        for info in pkgutil.walk_packages(root.__path__, root.__name__ + "."):
            module = importlib.import_module(info.name)
            for name, obj in vars(module).items():
                if isinstance(obj, type) and issubclass(obj, BaseException) and obj.__module__ == info.name:
                    found[f"{info.name}.{name}"] = obj
    return found


CLASSES = _exception_classes()


def test_the_scan_finds_the_errors_of_every_floor() -> None:
    modules = {name.rsplit(".", 1)[0] for name in CLASSES}
    assert {"curation.errors", "backend.errors", "backend.chain.rpc", "backend.api.errors"} <= modules


@pytest.mark.parametrize("qualified", sorted(CLASSES))
def test_every_error_derives_from_the_root_and_is_drawn(qualified: str) -> None:
    cls = CLASSES[qualified]
    assert issubclass(cls, CurationError), f"{qualified} does not derive from CurationError"
    name = qualified.rsplit(".", 1)[1]
    assert re.search(rf"\b{name}\b", errors.__doc__ or ""), (
        f"{name} is missing from curation/errors.py's tree"
    )
