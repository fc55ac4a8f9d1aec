"""Sweeps: one scenario over a grid of settings × seeds, run by any
:class:`concurrent.futures.Executor` (a process pool by default; a Dask
``Client.get_executor()`` spreads a large sweep over machines).

A setting is ``PATH=VALUE`` applied to the scenario's YAML before validation
(``cluster.config.cluster-node-timeout=2000``, ``network.loss=0.01``,
``clients.0.rate=500/s``), so a swept value is checked exactly as if it were written
in the file. Each run reports the milestones of its first failed master (see
:mod:`simulator.harness.report`), its ``recovery`` (all failed masters: see
:func:`recovery_ms`), the lost writes and the bus traffic (messages per second for the
cluster, bytes per second per node).
"""

from __future__ import annotations

import itertools
import math
import statistics
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Executor, Future
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import yaml

from simulator.harness.report import metrics
from simulator.harness.runner import run
from simulator.scenario import ScenarioError, parse_scenario
from simulator.scenario.model import Scenario

SWEEP_METRICS = (
    "first_pfail",
    "first_fail",
    "promoted",
    "all_ok",
    "recovery",
    "lost_writes",
    "bus_msgs_per_s",
    "bus_bytes_per_node_s",
)
METRIC_LABELS = {
    "first_pfail": "first PFAIL ms",
    "first_fail": "first FAIL ms",
    "promoted": "promotion ms",
    "all_ok": "cluster ok ms",
    "recovery": "recovery ms",
    "lost_writes": "lost writes",
    "bus_msgs_per_s": "bus msg/s",
    "bus_bytes_per_node_s": "bus B/s/node",
}
BUS_METRICS = {"bus_msgs_per_s", "bus_bytes_per_node_s"}
"""Bus traffic over the whole run (metrics.bus): messages per second sent by the whole
cluster, and bytes per second sent by one node (the cluster's bytes over its nodes)."""
MAX_SEEDS = 1_000_000


class SweepError(ValueError):
    """A bad ``--seeds`` or ``--set``: one line naming what and where."""


def parse_seeds(text: str) -> list[int]:
    """``1-200``, ``1,5,9`` or ``3-5,10``: the seeds, in order, without repeats."""
    seeds: list[int] = []
    for part in text.split(","):
        part = part.strip()
        low, sep, high = part.partition("-")
        try:
            first = int(low)
            last = int(high) if sep else first
        except ValueError:
            raise SweepError(
                f"--seeds {text}: '{part}' is not a seed or a range like 1-200"
            ) from None
        if first < 0 or last < first:
            raise SweepError(f"--seeds {text}: '{part}' is not an increasing range of seeds ≥ 0")
        if last - first + 1 + len(seeds) > MAX_SEEDS:
            raise SweepError(f"--seeds {text}: more than {MAX_SEEDS} seeds")
        seeds.extend(range(first, last + 1))
    return list(dict.fromkeys(seeds))


def parse_set(text: str) -> tuple[str, list[Any]]:
    """``PATH=V1,V2,...`` → the dotted path and the YAML-parsed values."""
    path, sep, values = text.partition("=")
    path = path.strip()
    if not sep or not path or not values.strip():
        raise SweepError(f"--set {text}: expected PATH=VALUE[,VALUE...]")
    parsed: list[Any] = []
    for raw in values.split(","):
        try:
            parsed.append(yaml.safe_load(raw.strip()))
        except yaml.YAMLError:
            raise SweepError(f"--set {text}: cannot read the value '{raw.strip()}'") from None
    return path, parsed


def _assign(data: Any, path: str, value: Any, original: str) -> None:
    keys = path.split(".")
    node = data
    for i, key in enumerate(keys):
        last = i == len(keys) - 1
        if isinstance(node, list):
            if not key.isdigit() or int(key) >= len(node):
                raise SweepError(f"--set {original}: '{key}' is not an index of that list")
            if last:
                node[int(key)] = value
            else:
                node = node[int(key)]
        elif isinstance(node, dict):
            if last:
                node[key] = value
            else:
                node = node.setdefault(key, {})
        else:
            raise SweepError(f"--set {original}: '{'.'.join(keys[:i])}' is not a mapping or list")


def _strip_location(line: str) -> str:
    """``file:12:3: message`` → ``message`` (the positions are of the generated text)."""
    parts = line.split(": ", 1)
    return parts[1] if len(parts) == 2 and parts[0].count(":") >= 2 else line


@dataclass(frozen=True, slots=True)
class Setting:
    """One point of the grid: its label and the scenario text with the values applied."""

    label: str
    text: str
    source: str


def settings(text: str, source: str, sets: Sequence[str]) -> list[Setting]:
    """Every combination of the ``--set`` values, each validated (SweepError if not)."""
    axes = [parse_set(s) for s in sets]
    try:
        base = yaml.safe_load(text)
    except yaml.YAMLError:
        base = None
    if not isinstance(base, dict):
        raise SweepError(f"{source}: not a scenario mapping")
    grid: list[Setting] = []
    for combo in itertools.product(*[[(p, v) for v in values] for p, values in axes]):
        data = yaml.safe_load(text)
        label_parts: list[str] = []
        assigned: list[str] = []  # the whole paths, for an error message
        for (path, value), original in zip(combo, sets, strict=True):
            _assign(data, path, value, original)
            label_parts.append(f"{path.rsplit('.', 1)[-1]}={_show(value)}")
            assigned.append(f"--set {path}={_show(value)}")
        label = " ".join(label_parts) or "as written"
        new_text = text if not combo else yaml.safe_dump(data, sort_keys=False)
        try:
            parse_scenario(new_text, f"{source} [{label}]")
        except ScenarioError as error:
            where = f"{source} with {' '.join(assigned)}" if assigned else source
            raise SweepError(
                f"{where}: " + "; ".join(_strip_location(e) for e in error.errors)
            ) from None
        grid.append(Setting(label, new_text, source))
    return grid


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


# --------------------------------------------------------------------------- one run (picklable)


def run_one(text: str, source: str, seed: int, cron_spread_ms: int = 100) -> dict[str, Any]:
    """Run one (setting, seed) and return its verdict and milestones (plain data)."""
    scenario: Scenario = parse_scenario(text, source)
    sim = run(scenario, seed, cron_phase_spread_ms=cron_spread_ms)
    driver = sim.extras["driver"]
    found = metrics(sim, driver)
    first = found["failovers"][0] if found["failovers"] else {}
    row: dict[str, Any] = {"seed": seed, "passed": driver.passed}
    for key in SWEEP_METRICS:
        row[key] = first.get(key)
    row["recovery"] = recovery_ms(found["failovers"])
    row["lost_writes"] = found["lost_writes"]
    bus = found["bus"]
    row["bus_msgs_per_s"] = bus["total"]["sent_per_s"]
    row["bus_bytes_per_node_s"] = round(bus["total"]["bytes_per_s"] / max(1, len(bus["per_node"])))
    return row


def recovery_ms(failovers: Sequence[dict[str, Any]]) -> int | None:
    """Ms from the first PFAIL of any failed master to the moment the last of them is
    replaced and every live node reports ``cluster_state:ok`` (the latest ``all_ok``):
    what Valkey's mass-failure benchmark measures (docs/fidelity.md, "Mass failure").
    ``None`` when there was no failed master, no PFAIL, or one was never replaced."""
    pfails = [f["at"] + f["first_pfail"] for f in failovers if f["first_pfail"] is not None]
    oks = [None if f["all_ok"] is None else f["at"] + f["all_ok"] for f in failovers]
    if not pfails or not oks or any(ok is None for ok in oks):
        return None
    return max(ok for ok in oks if ok is not None) - min(pfails)


class SerialExecutor(Executor):
    """Runs each task at once in this process (``--jobs 1``, tests)."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as error:  # handed to the caller through the future
            future.set_exception(error)
        return future


# --------------------------------------------------------------------------- Dask

DASK_CONNECT_TIMEOUT_S = 10
"""How long ``--dask ADDRESS`` waits for the scheduler before giving up (one clear line)."""


@contextmanager
def dask_executor(address: str, timeout_s: float | None = None) -> Iterator[Executor]:
    """The executor of the Dask cluster whose scheduler listens at ``address``
        (``tcp://host:8786``; ``host:8786`` means tcp), closed on exit; the connection is
    given ``timeout_s`` seconds (default :data:`DASK_CONNECT_TIMEOUT_S`).

        Each task is :func:`run_one` with the setting's scenario *text* and a seed, so a
        worker needs rcsim installed (the same version) but no scenario files; the results
        are the same as a local run's for the same seeds (the runs are pure functions of
        their arguments). ``SweepError`` when the optional ``distributed`` package is
        missing or no scheduler answers at ``address``.
    """
    try:
        from distributed import Client
        from distributed.comm import get_address_host_port
    except ImportError:
        raise SweepError(
            "--dask needs the distributed package, which is not installed: "
            "pip install 'rcsim[dask]'"
        ) from None
    try:  # checked first: a Client half-built from a malformed address prints a traceback
        get_address_host_port(address)
    except ValueError as error:
        raise SweepError(
            f"--dask {address}: not a scheduler address like tcp://host:8786 ({_first_line(error)})"
        ) from None
    try:
        timeout = DASK_CONNECT_TIMEOUT_S if timeout_s is None else timeout_s
        client = Client(address, timeout=timeout, set_as_default=False)
    except OSError as error:  # refused, unreachable, timed out
        raise SweepError(
            f"--dask {address}: no Dask scheduler answered there ({_first_line(error)}); "
            "start one with 'dask scheduler' and give its address"
        ) from None
    try:
        # pure=False: each (setting, seed) is its own task even if two settings coincide.
        yield client.get_executor(pure=False)
    finally:
        client.close()


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


# --------------------------------------------------------------------------- the sweep


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile of sorted ``values``."""
    rank = max(1, math.ceil(fraction * len(values)))
    return values[rank - 1]


def summarize(values: Iterable[float | None]) -> dict[str, Any]:
    """n, missing, min, median, p95, max of the values that exist."""
    values = list(values)
    present = sorted(v for v in values if v is not None)
    missing = len(values) - len(present)
    if not present:
        return {"n": 0, "missing": missing, "min": None, "median": None, "p95": None, "max": None}
    return {
        "n": len(present),
        "missing": missing,
        "min": present[0],
        "median": statistics.median(present),
        "p95": percentile(present, 0.95),
        "max": present[-1],
    }


def sweep(
    text: str,
    source: str,
    sets: Sequence[str],
    seeds: Sequence[int],
    executor: Executor,
    cron_spread_ms: int = 100,
    keep_rows: bool = False,
) -> list[dict[str, Any]]:
    """Run the grid on ``executor``; one summary per setting (in grid order).

    ``keep_rows``: each summary also carries ``rows``, every run's row (seed order), for
    a picture of the distributions (``rcsim sweep --plot``).

    ``cron_spread_ms``: the nodes' cron phases are drawn in [0, spread); 100 models
    processes started independently, 5 the real-Redis harness that started them at once.
    """
    grid = settings(text, source, sets)
    futures = [
        [
            executor.submit(run_one, setting.text, setting.source, seed, cron_spread_ms)
            for seed in seeds
        ]
        for setting in grid
    ]
    summaries: list[dict[str, Any]] = []
    for setting, pending in zip(grid, futures, strict=True):
        rows = [future.result() for future in pending]
        summaries.append(
            {
                "setting": setting.label,
                "runs": len(rows),
                "passed": sum(1 for r in rows if r["passed"]),
                "metrics": {key: summarize([r[key] for r in rows]) for key in SWEEP_METRICS},
                "failed_seeds": [r["seed"] for r in rows if not r["passed"]],
            }
        )
        if keep_rows:
            summaries[-1]["rows"] = rows
    return summaries


def table(summaries: Sequence[dict[str, Any]]) -> str:
    """The human table: per setting, the pass count and each milestone's distribution."""
    lines: list[str] = []
    for summary in summaries:
        lines.append(f"{summary['setting']}: {summary['passed']}/{summary['runs']} passed")
        lines.append(f"  {'milestone':<15} {'n':>5} {'min':>8} {'median':>8} {'p95':>8} {'max':>8}")
        for key in SWEEP_METRICS:
            stats = summary["metrics"][key]
            cells = [_cell(stats[k]) for k in ("min", "median", "p95", "max")]
            label = METRIC_LABELS[key]
            lines.append(
                f"  {label:<15} {stats['n']:>5} {cells[0]:>8} {cells[1]:>8} {cells[2]:>8} {cells[3]:>8}"
            )
        if summary["failed_seeds"]:
            shown = ", ".join(str(s) for s in summary["failed_seeds"][:20])
            more = " …" if len(summary["failed_seeds"]) > 20 else ""
            lines.append(f"  failed seeds: {shown}{more}")
        lines.append("")
    return "\n".join(lines)


def _cell(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"
