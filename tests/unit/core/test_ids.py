"""Natural-key ids: the same key always gives the same id (order ids depend on it)."""

from __future__ import annotations

import hashlib
import json

from hypothesis import given
from hypothesis import strategies as st

from tradeloop.core.ids import natural_key_id


@given(st.lists(st.one_of(st.text(), st.integers()), max_size=5))
def test_natural_key_id_when_any_parts_then_sha256_of_their_json(parts: list[object]) -> None:
    payload = json.dumps([str(p) for p in parts], separators=(",", ":"))
    assert natural_key_id(parts, 32) == hashlib.sha256(payload.encode()).hexdigest()[:32]
