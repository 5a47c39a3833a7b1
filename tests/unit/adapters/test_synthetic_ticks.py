"""The seeded synthetic tape: deterministic, resumable from its cursor, a sane book."""

from __future__ import annotations

from tradeloop.adapters.synthetic.ticks import SyntheticTape, TickParams
from tradeloop.features.tick_book import book_from_payload

PARAMS = TickParams(11, 1_767_571_200_000_000_000, 100, 60_000.0, 0.1, 5, 2.0)


def _strip(messages: list) -> list[tuple[str, dict]]:
    return [(m.message_id, {k: v for k, v in m.payload.items() if k != "wall_ns"})
            for m in messages]  # fmt: skip


def test_tape_when_resumed_from_a_cursor_then_continues_identically() -> None:
    whole = SyntheticTape.starting(PARAMS, ("BTCUSDT", "ETHUSDT"), "md").next_batch(300, 0)
    first = SyntheticTape.starting(PARAMS, ("BTCUSDT", "ETHUSDT"), "md")
    head = first.next_batch(120, 1)
    resumed = SyntheticTape.starting(PARAMS, ("BTCUSDT", "ETHUSDT"), "md", dict(first.cursor))
    tail = resumed.next_batch(180, 2)
    assert _strip(head + tail) == _strip(whole)


def test_tape_when_generated_then_books_uncrossed_on_tick_and_time_ordered() -> None:
    tape = SyntheticTape.starting(PARAMS, ("BTCUSDT",), "md")
    messages = tape.next_batch(2_000, 0)
    books = [book_from_payload(m.payload) for m in messages if m.payload["kind"] == "book"]
    assert len(books) == 2_000
    assert all(b.bids[0][0] < b.asks[0][0] for b in books)
    assert all(abs(p / 0.1 - round(p / 0.1)) < 1e-6 for b in books for p, _ in b.bids + b.asks)
    assert [b.ts for b in books] == sorted(b.ts for b in books)
    assert len({m.message_id for m in messages}) == len(messages)
    assert tape.next_ts("BTCUSDT") == PARAMS.start_ns + 2_000 * 100_000_000


def test_tape_when_imbalance_leans_then_next_move_follows_it() -> None:
    # the signal a scalper can find: the book's imbalance predicts the next mid move
    import numpy as np

    messages = SyntheticTape.starting(PARAMS, ("BTCUSDT",), "md").next_batch(5_000, 0)
    books = [book_from_payload(m.payload) for m in messages if m.payload["kind"] == "book"]
    imbalance = np.array([b.imbalance(3) for b in books[:-1]])
    moves = np.diff([b.mid for b in books])
    assert np.corrcoef(imbalance, moves)[0, 1] > 0.2
