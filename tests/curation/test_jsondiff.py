"""curation.jsondiff: what `curation verify` prints when a rebuilt manifest differs from the anchored one."""

from __future__ import annotations

from curation.jsondiff import diff_documents


def test_equal_documents_have_no_differences() -> None:
    doc = {"a": [1, {"b": "x"}], "c": None}
    assert diff_documents(doc, {"a": [1, {"b": "x"}], "c": None}) == []


def test_differences_name_the_path_and_both_values() -> None:
    rebuilt = {"scheme": {"params": {"alpha": "0.7"}}, "items": [1, 2], "extra": 1}
    fetched = {"scheme": {"params": {"alpha": "0.5"}}, "items": [1, 3, 4], "gone": 2}
    assert diff_documents(rebuilt, fetched) == [
        "$.extra: missing",
        "$.gone: unexpected (rebuilt manifest has no such field)",
        "$.items: 3 entries, rebuilt has 2",
        "$.items[1]: 3, rebuilt 2",
        "$.scheme.params.alpha: '0.5', rebuilt '0.7'",
    ]


def test_a_type_change_is_a_difference_even_when_values_compare_equal() -> None:
    assert diff_documents({"n": 1}, {"n": True}) == ["$.n: True, rebuilt 1"]


def test_output_is_capped_and_long_values_are_shortened() -> None:
    many = diff_documents({str(i): i for i in range(50)}, {str(i): -i for i in range(50)}, limit=5)
    assert len(many) == 5
    (line,) = diff_documents({"k": "a" * 200}, {"k": "b" * 200})
    assert line.endswith("...")
    assert len(line) < 200
