"""Revision ids: one spelling per revision, numeric order, growth past four digits."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tutopanda.core.errors import UsageError
from tutopanda.core.store.revisions import (
    EMPTY_REVISION,
    format_revision,
    is_revision,
    next_revision,
    parse_revision,
    revision_key,
)


def test_format_and_next() -> None:
    assert format_revision(1) == "rev-0001"
    assert format_revision(12345) == "rev-12345"
    assert next_revision(None) == "rev-0001"
    assert next_revision(EMPTY_REVISION) == "rev-0001"
    assert next_revision("rev-9999") == "rev-10000"


@given(st.integers(min_value=0, max_value=10**9))
def test_format_and_parse_round_trip(number: int) -> None:
    assert parse_revision(format_revision(number)) == number


@pytest.mark.parametrize(
    "text", ["rev-1", "rev-001", "rev-00001", "REV-0001", "rev-00a1", "rev--001", "", "0001"]
)
def test_malformed_revisions_are_refused(text: str) -> None:
    assert not is_revision(text)
    with pytest.raises(UsageError):
        parse_revision(text)


def test_revisions_sort_numerically() -> None:
    assert sorted(["rev-10000", "rev-0002", "rev-9999"], key=revision_key) == [
        "rev-0002",
        "rev-9999",
        "rev-10000",
    ]
