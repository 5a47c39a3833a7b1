"""``tradeloop verify``: history, quality, governance and failed-symbol checks.

The JSON form is stable (``version`` 1)::

    {"version": 1, "ok": bool, "required_rows": 1260,
     "checks": {
       "history":    {"ok": bool, "failures": [{"symbol", "rows"}]},
       "quality":    {"ok": bool, "failures": [{"symbol", "score"}], "average": float|null},
       "governance": {"ok": bool, "counts": {"ACTIVE": n, "DEGRADED": n,
                                             "QUARANTINED": n, "MISSING": n}},
       "symbols":    {"ok": bool, "failures": [{"symbol", "state", "reason"}]}}}

Only the sections asked for appear; ``ok`` is the conjunction of those present.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

SECTIONS = ("history", "quality", "governance", "symbols")


def verify_report(
    snapshot: Mapping[str, Mapping[str, Any]],
    symbols: Iterable[str],
    required_rows: int,
    sections: Iterable[str] = SECTIONS,
    min_quality: float = 0.6,
) -> dict[str, Any]:
    """Judge the stored state of ``symbols`` (universe order)."""
    symbols = list(symbols)
    wanted = [name for name in SECTIONS if name in set(sections)]
    checks: dict[str, Any] = {}
    if "history" in wanted:
        failures = [
            {"symbol": s, "rows": int(snapshot.get(s, {}).get("governed_rows") or 0)}
            for s in symbols
            if int(snapshot.get(s, {}).get("governed_rows") or 0) < required_rows
        ]
        checks["history"] = {"ok": not failures, "failures": failures}
    if "quality" in wanted:
        scores = {s: snapshot.get(s, {}).get("quality_score") for s in symbols}
        failures = [
            {"symbol": s, "score": score}
            for s, score in scores.items()
            if score is None or score < min_quality
        ]
        known = [score for score in scores.values() if score is not None]
        checks["quality"] = {
            "ok": not failures,
            "failures": failures,
            "average": round(sum(known) / len(known), 6) if known else None,
        }
    if "governance" in wanted:
        counts = {"ACTIVE": 0, "DEGRADED": 0, "QUARANTINED": 0, "MISSING": 0}
        for s in symbols:
            counts[str(snapshot.get(s, {}).get("state", "MISSING"))] += 1
        checks["governance"] = {"ok": counts["ACTIVE"] == len(symbols), "counts": counts}
    if "symbols" in wanted:
        failures = [
            {
                "symbol": s,
                "state": snapshot.get(s, {}).get("state", "MISSING"),
                "reason": snapshot.get(s, {}).get("reason", "never ingested"),
            }
            for s in symbols
            if snapshot.get(s, {}).get("state") != "ACTIVE"
        ]
        checks["symbols"] = {"ok": not failures, "failures": failures}
    return {
        "version": 1,
        "ok": all(check["ok"] for check in checks.values()),
        "required_rows": required_rows,
        "checks": checks,
    }
