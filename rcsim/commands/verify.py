"""``rcsim verify SCENARIO``: play a scenario on a real local cluster and on rcsim, and
compare them milestone by milestone (docs/cli.md, docs/fidelity.md "rcsim verify").

Exit 0 when every row is in bounds, 1 when any is not (or a real step failed), 2 for
invalid input, a scenario that cannot be played for real (every reason listed up front),
or a missing server binary.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path
from typing import Any

from rcsim.commands import EXPECTATION_FAILED, OK, USAGE_ERROR, CommandError
from rcsim.verify.compare import markdown, rows
from rcsim.verify.firewall import unavailable_reason
from rcsim.verify.playable import played_differently, refusals, unobservable_expects
from rcsim.verify.refresh import RefreshError, check, refresh
from rcsim.verify.scenario_api import ScenarioError, load_scenario
from rcsim.verify.server import ServerBinary, identify
from rcsim.verify.session import needs_firewall, real_run
from rcsim.verify.simside import measure


def add_parser(sub: Any) -> None:
    parser = sub.add_parser(
        "verify",
        help="run a scenario on a real local cluster and on rcsim, and compare them",
        description=(
            "Start a real cluster of the scenario's topology on loopback (127.0.0.20+, ports "
            "7100+), play its steps for real, run it on rcsim over several seeds, and print a "
            "milestone-by-milestone table. Partitions need root (iptables)."
        ),
    )
    parser.add_argument("scenario", metavar="SCENARIO", help="a scenario file or a bundled name")
    parser.add_argument(
        "--server", metavar="PATH", help="the server binary (default: redis-server on PATH)"
    )
    parser.add_argument("--runs", type=int, metavar="N", help="real runs (default 3)")
    parser.add_argument(
        "--seeds",
        type=int,
        metavar="M",
        help="rcsim seeds 1..M (default 10; with --against, the report's seeds)",
    )
    parser.add_argument(
        "--against",
        metavar="REPORT",
        help="no real servers: re-run only the rcsim side against the real runs a report "
        "of this scenario holds (e.g. tests/data/verify-reports/NAME.json)",
    )
    parser.add_argument("--report", metavar="FILE", help="write the JSON report")
    parser.add_argument("--logs", metavar="DIR", help="keep the nodes' log files of every real run")


def _binary(path: str | None) -> ServerBinary:
    found = shutil.which(path or "redis-server")
    if found is None:
        raise CommandError(
            f"server binary not found: {path or 'redis-server'} (apt-get install redis-server, or --server PATH)"
        )
    if shutil.which("redis-cli") is None:
        raise CommandError("redis-cli not found on PATH (apt-get install redis-tools)")
    try:
        return identify(found)
    except (OSError, ValueError) as error:
        raise CommandError(str(error)) from None


def _write_report(path: str, report: dict[str, Any]) -> None:
    try:
        Path(path).write_text(
            json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
    except OSError as error:
        raise CommandError(f"cannot write {path}: {error.strerror or error}") from None


def _against(scenario: Any, args: argparse.Namespace) -> int:
    """``--against REPORT``: the rcsim side only, against the report's real runs."""
    for flag, value in (("--runs", args.runs), ("--server", args.server), ("--logs", args.logs)):
        if value is not None:
            raise CommandError(f"{flag} has no effect with --against (no real runs are made)")
    try:
        report = json.loads(Path(args.against).read_text(encoding="utf-8"))
    except OSError as error:
        raise CommandError(f"cannot read {args.against}: {error.strerror or error}") from None
    except ValueError as error:
        raise CommandError(f"{args.against}: not JSON: {error}") from None
    if not isinstance(report, dict) or "source" not in report:
        raise CommandError(f"{args.against}: not an rcsim verify report")
    if args.seeds is not None and args.seeds < 1:
        raise CommandError("--seeds must be at least 1")
    seeds = (
        list(range(1, args.seeds + 1))
        if args.seeds is not None
        else [int(s) for s in report.get("seeds") or range(1, 11)]
    )
    try:
        check(scenario, report, args.against)  # before anything is printed
    except RefreshError as error:
        raise CommandError(str(error)) from None
    out = sys.stdout
    server = report.get("server") or {}
    label = f"{server.get('product', '?')} {server.get('version', '?')}"
    out.write(f"{scenario.name}  ({scenario.source})\n")
    out.write(f"real: {report.get('runs')} runs kept in {args.against} ({label})\n")
    out.write(f"rcsim seeds {seeds[0]}..{seeds[-1]} ...\n\n")
    out.flush()
    try:
        refreshed, table = refresh(scenario, report, seeds, args.against)
    except RefreshError as error:
        raise CommandError(str(error)) from None
    out.write(markdown(table))
    failed = [r for r in table if not r.in_bounds()]
    if args.report:
        _write_report(args.report, refreshed)
    verdict = "PASS" if refreshed["in_bounds"] else "FAIL"
    out.write(
        f"\n{verdict}: {len(table) - len(failed)}/{len(table)} rows in bounds ({label}, "
        f"{report.get('runs')} kept real runs, {len(seeds)} seeds)\n"
    )
    return OK if verdict == "PASS" else EXPECTATION_FAILED


def run(args: argparse.Namespace) -> int:
    try:
        scenario = load_scenario(args.scenario)
    except ScenarioError as error:
        sys.stderr.write("".join(line + "\n" for line in error.errors))
        return USAGE_ERROR
    if args.against:
        return _against(scenario, args)
    args.runs = 3 if args.runs is None else args.runs
    args.seeds = 10 if args.seeds is None else args.seeds
    if args.runs < 1 or args.seeds < 1:
        raise CommandError("--runs and --seeds must be at least 1")
    refused = refusals(scenario, unavailable_reason() if needs_firewall(scenario) else None)
    out = sys.stdout
    if refused:
        sys.stderr.write(f"rcsim verify: {scenario.source} cannot be played on a real cluster:\n")
        sys.stderr.write("".join(f"  {line}\n" for line in refused))
        if args.report:  # for the docs' summary (rcsim/verify/docs.py): why it was not played
            _write_report(
                args.report,
                {"scenario": scenario.name, "source": scenario.source, "refused": refused},
            )
        return USAGE_ERROR
    binary = _binary(args.server)
    out.write(f"{scenario.name}  ({scenario.source})\nserver: {binary.label}\n")
    for line in unobservable_expects(scenario):
        out.write(f"note: not observable for real, not compared: {line}\n")
    for line in played_differently(scenario):
        out.write(f"note: {line}\n")
    real = []
    for number in range(1, args.runs + 1):
        out.write(f"real run {number}/{args.runs} ...\n")
        out.flush()
        keep = Path(args.logs) / f"run{number}" if args.logs else None
        try:
            real.append(real_run(scenario, binary, keep, seed=number))
        except Exception as error:  # everything was undone; say what went wrong in one line
            message = f"real run {number}: {type(error).__name__}: {error}"
            raise CommandError(message, EXPECTATION_FAILED) from None
    out.write(f"rcsim seeds 1..{args.seeds} ...\n\n")
    sim = [measure(scenario, seed) for seed in range(1, args.seeds + 1)]
    table = rows(real, sim)
    out.write(markdown(table))
    errors = [e for m in real for e in m.errors]
    for message in errors:
        sys.stderr.write(f"error: {message}\n")
    failed = [r for r in table if not r.in_bounds()]
    if args.report:
        report = {
            "scenario": scenario.name,
            "source": scenario.source,
            "sha256": scenario.sha256,
            "server": {"path": binary.path, "product": binary.product, "version": binary.version},
            "runs": args.runs,
            "seeds": list(range(1, args.seeds + 1)),
            "rows": [r.as_dict() for r in table],
            "real": [m.as_dict() for m in real],
            "rcsim": [m.as_dict() for m in sim],
            "in_bounds": not failed and not errors,
        }
        _write_report(args.report, report)
    verdict = "PASS" if not failed and not errors else "FAIL"
    out.write(
        f"\n{verdict}: {len(table) - len(failed)}/{len(table)} rows in bounds ({binary.product} {binary.version}, {args.runs} real runs, {args.seeds} seeds)\n"
    )
    return OK if verdict == "PASS" else EXPECTATION_FAILED
