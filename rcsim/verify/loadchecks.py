"""``requests`` and ``latency`` on a real run: read off the clients' ``request`` events.

The same rules as rcsim's checks (simulator/harness/conditions.py ``_requests`` and
``_latency``, §28.4): the share of a client's request attempts with an outcome, and the
nearest-rank percentile of its ``ok`` latencies, over the last ``window`` ms (None: the
run so far). A real request event is stamped when its reply was read and carries
``latency_ms``, the attempt's round trip as the client saw it (rcsim.verify.clients): on
a host shared with other work the client's own delays are in it, as a real
application's would be. The real server runs at its own speed, so a scenario's
``cluster.service`` (rcsim's cost model, scaled) is not played: a real run shows what
the real server does with the same load.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rcsim.verify.scenario_api import model

Verdict = tuple[bool, str, str]


def _of_client(
    events: Sequence[dict[str, Any]], client: str, window: int | None, now: float
) -> list[dict[str, Any]]:
    since = now - window if window is not None else None
    return [
        e
        for e in events
        if e.get("kind") == "request"
        and e.get("client") == client
        and (since is None or e["t"] >= since)
    ]


def requests(events: Sequence[dict[str, Any]], now: float, c: model.Requests) -> Verdict:
    seen = [e["outcome"] for e in _of_client(events, c.client, c.window, now)]
    window = f" over the last {c.window / 1000:g}s" if c.window is not None else ""
    low = c.minimum if c.minimum is not None else 0.0
    high = c.maximum if c.maximum is not None else 1.0
    expected = f"{low:.0%}-{high:.0%} of {c.client}'s requests{window} answered {c.outcome}"
    if not seen:
        return False, expected, "no request answered"
    share = seen.count(c.outcome) / len(seen)
    return low <= share <= high, expected, f"{share:.0%} of {len(seen)}"


def latency(events: Sequence[dict[str, Any]], now: float, c: model.Latency) -> Verdict:
    values = sorted(
        float(e["latency_ms"])
        for e in _of_client(events, c.client, c.window, now)
        if e.get("outcome") == "ok" and "latency_ms" in e
    )
    window = f" over the last {c.window / 1000:g}s" if c.window is not None else ""
    low = c.minimum if c.minimum is not None else 0
    bound = f"at least {low} ms" if c.maximum is None else f"between {low} and {c.maximum} ms"
    expected = f"p{c.percentile:g} of {c.client}'s latency{window} {bound}"
    if not values:
        return False, expected, "no request answered"
    rank = max(0, min(len(values) - 1, -(-len(values) * c.percentile // 100) - 1))
    seen = values[int(rank)]
    passed = seen >= low and (c.maximum is None or seen <= c.maximum)
    return passed, expected, f"{seen:.1f} ms ({len(values)} requests)"
