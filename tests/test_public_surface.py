"""Every module of `curation` and `backend` states its public surface in `__all__`, and keeps to it (httpx's
test_exported_members, applied to every module): the names exist and are unique (ruff's RUF022 sorts them), and every public
class or function a module defines is either exported or named with a leading underscore. A package's
route module's surface is its `router`. A new public name is a decision, not an accident.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from types import ModuleType

import pytest

import backend
import curation


def _modules() -> list[str]:
    names = []
    for root in (curation, backend):
        names.append(root.__name__)
        for info in pkgutil.walk_packages(root.__path__, root.__name__ + "."):
            names.append(info.name)
    return sorted(names)


def _endpoints(module: ModuleType) -> set[object]:
    """Route handlers and CLI commands: reached through a router or the `curation` command tree, named after
    the operation they serve, so a route module's surface is its `router` and a command module's `register`."""
    router = getattr(module, "router", None)
    found = {getattr(r, "endpoint", None) for r in getattr(router, "routes", ())}
    return found | _commands()


def _commands() -> set[object]:
    from backend.cli.main import app

    found: set[object] = set()
    groups = [app]
    while groups:
        group = groups.pop()
        for command in group.registered_commands:
            fn = command.callback
            while fn is not None:  # the guards wrap with functools.wraps: every layer is the command
                found.add(fn)
                fn = getattr(fn, "__wrapped__", None)
        groups.extend(g.typer_instance for g in group.registered_groups if g.typer_instance is not None)
    return found


@pytest.mark.parametrize("name", _modules())
def test_every_module_states_its_surface_and_keeps_to_it(name: str) -> None:
    module = importlib.import_module(name)
    exported = getattr(module, "__all__", None)
    assert exported is not None, f"{name} has no __all__"
    assert len(exported) == len(set(exported)), f"{name}.__all__ names something twice"
    missing = [n for n in exported if not hasattr(module, n)]
    assert not missing, f"{name}.__all__ names what the module does not have: {missing}"
    defined_here = sorted(
        n
        for n, obj in vars(module).items()
        if not n.startswith("_")
        and (inspect.isclass(obj) or inspect.isfunction(obj))
        and getattr(obj, "__module__", None) == name
        and "[" not in n  # a parametrised generic (Page[Item]) made here is not a new definition
        and obj not in _endpoints(module)
    )
    unexported = [n for n in defined_here if n not in exported]
    assert not unexported, (
        f"{name} defines public names it does not export (export them or add a _): {unexported}"
    )
