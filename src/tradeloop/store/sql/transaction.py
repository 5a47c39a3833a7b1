"""One transaction for several writes: a store function given an ``Engine`` opens its own;
given the ``Connection`` of a unit of work, it writes inside that one (which commits or
rolls back everything together)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from sqlalchemy import Connection, Engine

Target = Engine | Connection


@contextlib.contextmanager
def transaction(target: Target) -> Iterator[Connection]:
    if isinstance(target, Connection):
        yield target  # the unit of work that owns it commits
        return
    with target.begin() as connection:
        yield connection
