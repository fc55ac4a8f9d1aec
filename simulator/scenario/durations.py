"""Durations, rates and latency ranges as scenarios write them: ``250ms``, ``1.5s``, ``200/s``.

The simulator's clock is integer milliseconds (:mod:`simulator.engine`), so a duration
must come to a whole number of ms; only latency ranges may use fractions of a ms.
"""

from __future__ import annotations

import math
import re

MAX_DURATION_MS = 30 * 24 * 3600 * 1000
"""The longest time a scenario may name (30 days): longer runs are surely typos."""

MAX_RATE = 1_000_000.0
"""The highest request rate per client (per second)."""

UNITS_MS: dict[str, float] = {
    "ms": 1.0,
    "s": 1000.0,
    "m": 60_000.0,
    "h": 3_600_000.0,
    "d": 86_400_000.0,
}
RATE_UNITS_S: dict[str, float] = {"s": 1.0, "m": 60.0, "h": 3600.0}

DURATION_PATTERN = r"^\s*[0-9]+(\.[0-9]+)?\s*(ms|s|m|h|d)?\s*$"
RATE_PATTERN = r"^\s*[0-9]+(\.[0-9]+)?\s*/\s*(s|m|h)\s*$"
LATENCY_PATTERN = r"^\s*[0-9]+(\.[0-9]+)?\s*(ms|s)?\s*(\.\.\s*[0-9]+(\.[0-9]+)?\s*(ms|s)?\s*)?$"

_DURATION = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*([a-z]*)\s*$")
_RATE = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*/\s*([a-z]*)\s*$")


def _duration_ms_float(text: str | int | float) -> float:
    """A duration in (possibly fractional) ms; ``ValueError`` names what is wrong."""
    if isinstance(text, bool):
        raise ValueError(f"expected a duration like 250ms, 2s or 1.5m, got {text!r}")
    if isinstance(text, int):
        value = float(text) if abs(text) < 10**18 else math.inf
        if value < 0:
            raise ValueError(f"a duration must not be negative, got {text}")
    elif isinstance(text, float):
        raise ValueError(f"expected a duration with a unit like 250ms or 1.5s, got {text!r}")
    else:
        match = _DURATION.match(str(text))
        if not match:
            raise ValueError(f"expected a duration like 250ms, 2s or 1.5m, got {text!r}")
        number, unit = match.groups()
        if unit and unit not in UNITS_MS:
            raise ValueError(f"unknown time unit '{unit}' in {text!r} (use {', '.join(UNITS_MS)})")
        value = float(number) * UNITS_MS[unit or "ms"]
    if not math.isfinite(value) or value > MAX_DURATION_MS:
        raise ValueError(f"duration {text!r} is longer than the limit of 30 days")
    return value


def parse_duration(text: str | int) -> int:
    """``"250ms"`` → 250, ``"1.5s"`` → 1500, ``2000`` → 2000 (plain integers are ms).

    Units: ms, s, m, h, d. Raises ``ValueError`` for a bad text, a fraction of a ms,
    a negative value or more than 30 days.
    """
    value = _duration_ms_float(text)
    if value != int(value):
        raise ValueError(f"durations are whole milliseconds, got {text!r}")
    return int(value)


def parse_latency(text: str | int) -> tuple[float, float]:
    """``"0.1ms..0.5ms"`` → ``(0.1, 0.5)`` ms; a single duration is a fixed latency."""
    if isinstance(text, bool):
        raise ValueError(f"expected a latency like 1ms or 0.1ms..0.5ms, got {text!r}")
    if isinstance(text, int):
        single = _duration_ms_float(text)
        return single, single
    low_text, sep, high_text = str(text).partition("..")
    low = _duration_ms_float(low_text)
    high = _duration_ms_float(high_text) if sep else low
    if high < low:
        raise ValueError(f"latency range goes backwards: {text!r}")
    return low, high


def parse_rate(text: str | int | float) -> float:
    """``"200/s"`` → 200.0 per second; also ``/m``, ``/h``; plain numbers are per second."""
    if isinstance(text, bool):
        raise ValueError(f"expected a rate like 200/s, got {text!r}")
    if isinstance(text, int | float):
        value = float(text) if not isinstance(text, int) or abs(text) < 10**18 else math.inf
    else:
        match = _RATE.match(str(text))
        if not match:
            raise ValueError(f"expected a rate like 200/s or 30/m, got {text!r}")
        number, unit = match.groups()
        if unit not in RATE_UNITS_S:
            raise ValueError(f"unknown rate unit '/{unit}' in {text!r} (use /s, /m or /h)")
        value = float(number) / RATE_UNITS_S[unit]
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"a rate must be a non-negative number, got {text!r}")
    if value > MAX_RATE:
        raise ValueError(f"rate {text!r} is above the limit of {int(MAX_RATE)}/s")
    return value


def format_duration(ms: int) -> str:
    """The shortest exact text for ``ms``: 1500 → ``"1.5s"``, 250 → ``"250ms"``."""
    if ms and ms % 60_000 == 0:
        return f"{ms // 60_000}m"
    if ms >= 1000 and ms % 1000 == 0:
        return f"{ms // 1000}s"
    if ms >= 1000 and ms % 100 == 0:
        return f"{ms // 1000}.{ms % 1000 // 100}s"
    return f"{ms}ms"
