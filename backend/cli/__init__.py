"""The `curation` command line."""

__all__: list[str] = []
