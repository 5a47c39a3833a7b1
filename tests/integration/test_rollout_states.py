"""The routing document's compare-and-set on SQLite and PostgreSQL: a writer holding a
stale version never overwrites, and concurrent changes all land one after the other."""

from __future__ import annotations

import threading

from sqlalchemy import Engine

from tradeloop.rollout.config import RolloutConfig
from tradeloop.rollout.routing import ROUTING_DOC
from tradeloop.store.sql.rollout_records import SqlRolloutStates, release_states
from tradeloop.usecases.canary_supervisor import load_routing, update_routing

T0 = 1_767_571_200_000_000_000


def test_rollout_state_when_version_is_stale_then_put_refused(engine: Engine) -> None:
    store = SqlRolloutStates(engine)
    assert store.get(ROUTING_DOC) is None
    assert store.put(ROUTING_DOC, {"mode": "canary"}, 0, T0)
    assert not store.put(ROUTING_DOC, {"mode": "full"}, 0, T0)  # someone created it first
    assert store.put(ROUTING_DOC, {"mode": "full"}, 1, T0)
    assert not store.put(ROUTING_DOC, {"mode": "disabled"}, 1, T0)  # stale
    assert store.get(ROUTING_DOC) == (2, {"mode": "full"})
    store.put("release:m1", {"model_id": "m1", "stage": "shadow"}, 0, T0)
    assert [s["model_id"] for s in release_states(engine)] == ["m1"]


def test_update_routing_when_threads_race_then_every_change_lands(engine: Engine) -> None:
    store, config = SqlRolloutStates(engine), RolloutConfig(mode="canary")
    seeds: list[int] = []

    def bump(k: int) -> None:
        def change(current):  # type: ignore[no-untyped-def]
            seeds.append(k)
            return current.switched("canary", T0 + k, f"writer {k}",
                                    rng_seed=current.rng_seed + 1)  # fmt: skip

        update_routing(store, config, change, T0 + k)

    threads = [threading.Thread(target=bump, args=(k,)) for k in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    version, routing = load_routing(store, config)
    assert routing.rng_seed == 1337 + 8  # no increment lost to a race
    assert version == 8
