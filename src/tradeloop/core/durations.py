"""Human durations such as ``30d``, ``12h``, ``90m``, ``45s``."""

from __future__ import annotations

import re

_UNITS = {"d": 86_400.0, "h": 3_600.0, "m": 60.0, "s": 1.0}
_PATTERN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([dhms])\s*$")


def parse_duration_sec(text: str) -> float:
    """Seconds in ``text`` (``30d``, ``12h``, ``90m``, ``45s``); ValueError names the fix."""
    match = _PATTERN.match(text)
    if not match:
        raise ValueError(f"{text!r} is not a duration; write e.g. 30d, 12h, 90m or 45s")
    return float(match.group(1)) * _UNITS[match.group(2)]
