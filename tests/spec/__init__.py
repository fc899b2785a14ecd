"""Conformance vectors of the normative spec (docs/spec/commons-v1.md): the harness, the test, the generator."""
