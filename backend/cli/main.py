"""Entry point of the `curation` command: one Typer app, sub-commands registered per area module."""

from __future__ import annotations

import importlib

import typer

__all__ = ["app"]

app = typer.Typer(
    name="curation",
    help="Curation Commons: community-governed AI training data.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

#: Each area module exposes register(app).
_AREAS = (
    "chain_cmd",
    "ipfs_cmd",
    "index_cmd",
    "contributor_cmd",
    "curator_cmd",
    "operator_cmd",
    "gov_cmd",
    "trainer_cmd",
    "release_cmd",
    "serve_cmd",
    "demo_cmd",
)

for _name in _AREAS:
    importlib.import_module(f"backend.cli.{_name}").register(app)

if __name__ == "__main__":  # `python -m backend.cli.main ...`
    app()
