"""The fast JCS path must produce exactly what the reference RFC 8785 encoder produces."""

from __future__ import annotations

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from copyseal.core.encoding import jcs, parse_canonical_json
from copyseal.errors import MalformedDocument

scalars = st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | st.text()
json_values = st.recursive(
    scalars | st.floats(allow_nan=False, allow_infinity=False),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=8), children, max_size=5)
    ),
    max_leaves=30,
)
documents = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=8), children, max_size=5)
    ),
    max_leaves=30,
)


@settings(max_examples=400)
@given(json_values)
def test_jcs_equals_the_reference_encoder(value: object) -> None:
    try:
        expected = bytes(rfc8785.dumps(value))
    except rfc8785.CanonicalizationError:
        with pytest.raises(MalformedDocument):
            jcs(value)
        return
    assert jcs(value) == expected


@settings(max_examples=200)
@given(documents)
def test_canonical_documents_round_trip(value: object) -> None:
    assert parse_canonical_json(jcs(value)) == value
