"""What the fresh start would do to the kept reports, row by row.

``python -m rcsim.verify.freshcheck REPORT...`` re-runs rcsim's side of each report as
``make verify-refresh`` does, but from a fresh cluster (``measure(..., fresh=True)``,
rcsim/verify/simside.py), and prints each report's rows in bounds before (as kept) and
after, and every row whose verdict changed with the real values and both rcsim medians.
Nothing is written: it is the check docs/fidelity.md quotes for making the fresh start
verify's default ("What rcsim does not reproduce", no-replica).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from rcsim.verify.refresh import RefreshError, refresh
from rcsim.verify.scenario_api import ScenarioError, load_scenario


def median_of(values: Sequence[Any]) -> float | str:
    numbers = [float(v) for v in values if isinstance(v, int | float)]
    return statistics.median(numbers) if numbers else "/".join(sorted({str(v) for v in values}))


def changes(
    old_rows: Sequence[Mapping[str, Any]], new_rows: Sequence[Mapping[str, Any]]
) -> list[str]:
    """One line per row whose verdict changed (a row new to the table counts as was out)."""
    before = {str(r["label"]): r for r in old_rows}
    lines = []
    for row in new_rows:
        old = before.get(str(row["label"]))
        was = bool(old and old["in_bounds"])
        if was == bool(row["in_bounds"]):
            continue
        then = "—" if old is None else median_of(old.get("rcsim", ()))
        lines.append(
            f"  {'IN ' if row['in_bounds'] else 'OUT'} {row['label']}: real {list(row['real'])}, "
            f"rcsim {then} -> {median_of(row['rcsim'])}"
        )
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rcsim.verify.freshcheck", description=__doc__)
    parser.add_argument("reports", nargs="+", type=Path)
    args = parser.parse_args(argv)
    ins = outs = 0
    for path in args.reports:
        try:
            report = json.loads(path.read_text())
            scenario = load_scenario(str(report["source"]))
            seeds = [int(seed) for seed in report.get("seeds") or ()]
            new, _ = refresh(scenario, report, seeds, str(path), fresh=True)
        except (OSError, ValueError, KeyError, RefreshError, ScenarioError) as error:
            print(f"{path}: skipped: {error}", file=sys.stderr)
            continue
        old_rows, new_rows = report["rows"], new["rows"]
        lines = changes(old_rows, new_rows)
        ins += sum(line.startswith("  IN") for line in lines)
        outs += sum(line.startswith("  OUT") for line in lines)
        kept = sum(bool(r["in_bounds"]) for r in old_rows)
        now = sum(bool(r["in_bounds"]) for r in new_rows)
        print(f"{path.stem}: {kept}/{len(old_rows)} -> {now}/{len(new_rows)}", flush=True)
        for line in lines:
            print(line, flush=True)
    print(f"rows in: {ins}, out: {outs}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
