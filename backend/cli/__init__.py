"""The `curation` command line."""
