"""``rcsim run SCENARIO``: run a scenario headless and judge its expectations.

Prints the captions and notable events on a timeline, then PASS/FAIL for every
expectation (with what was seen instead). Exit 0 all pass, 1 any fails, 2 invalid input.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from rcsim.commands import EXPECTATION_FAILED, OK, USAGE_ERROR, CommandError
from rcsim.plots import plot_format, require_matplotlib, save
from rcsim.resp_cli import add_resp_arguments, run_with_resp
from simulator.harness.report import (
    junit_xml,
    report,
    report_json,
    timeline,
    trace_header,
    verdict_line,
)
from simulator.harness.runner import run as run_scenario
from simulator.scenario import ScenarioError, load_scenario, parse_duration
from simulator.scenario.model import Scenario
from simulator.trace import write_jsonl


def add_parser(sub: Any) -> None:
    parser = sub.add_parser(
        "run",
        help="run a scenario headless; exit 0 if every expectation holds, 1 if not",
        description="Run a scenario (a file or a bundled name) without the TUI and check its expectations.",
    )
    parser.add_argument("scenario", metavar="SCENARIO", help="a scenario file or a bundled name")
    parser.add_argument("--seed", type=int, help="override the scenario's seed")
    parser.add_argument(
        "--until", metavar="T", help="stop at simulated time T (e.g. 30s) instead of run_until"
    )
    parser.add_argument("--trace", metavar="FILE.jsonl", help="write every trace event as JSONL")
    parser.add_argument(
        "--trace-bus",
        action="store_true",
        help="also trace every cluster-bus message (bus_message events; off by default)",
    )
    parser.add_argument("--report", metavar="FILE.json", help="write the JSON report")
    parser.add_argument(
        "--junit", metavar="FILE.xml", help="write JUnit XML (a testcase per check)"
    )
    parser.add_argument(
        "--timeline",
        metavar="FILE.svg|png",
        help="draw the run as a picture: node states over time, faults, captions "
        "(needs matplotlib: pip install 'rcsim[plot]')",
    )
    parser.add_argument("--quiet", action="store_true", help="print only the verdict lines")
    add_resp_arguments(parser)


def load(name: str) -> Scenario | None:
    """The scenario, or None after printing every error line to stderr (exit 2 then)."""
    try:
        return load_scenario(name)
    except ScenarioError as error:
        sys.stderr.write("".join(line + "\n" for line in error.errors))
        return None


def until_ms(text: str | None, flag: str = "--until") -> int | None:
    """A duration option's value in ms; a bad one is an error naming ``flag``."""
    if text is None:
        return None
    try:
        return parse_duration(text)
    except ValueError as error:
        raise CommandError(f"{flag} {text}: {error}") from None


def write_file(path: str, text: str) -> None:
    try:
        Path(path).write_text(text, encoding="utf-8")
    except OSError as error:
        raise CommandError(f"cannot write {path}: {error.strerror or error}") from None


def draw_timeline(path: str, scenario: Scenario, sim: Any) -> None:
    """``--timeline``: the run as a picture (rcsim/timeline_plot.py)."""
    from rcsim import __version__
    from rcsim.timeline_plot import timeline_figure

    driver = sim.extras["driver"]
    passed = sum(1 for r in driver.results if r.passed)
    verdict = "PASS" if driver.passed else "FAIL"
    figure = timeline_figure(
        sim.trace.events,
        [(node.name, node.role) for node in scenario.cluster.nodes],
        sim.now,
        title=scenario.name,
        subtitle=f"{scenario.source}, seed {sim.seed}, rcsim {__version__}: "
        f"{verdict} {passed}/{len(driver.results)} expectations, run ended at "
        f"{sim.now / 1000:.3f}s",
    )
    save(figure, path, plot_format(path, "--timeline"))


def run(args: argparse.Namespace) -> int:
    scenario = load(args.scenario)
    if scenario is None:
        return USAGE_ERROR
    until = until_ms(args.until)
    if args.seed is not None and not 0 <= args.seed < 2**63:
        raise CommandError(f"--seed {args.seed}: expected an integer from 0 to 2^63-1")
    timeline_path = getattr(args, "timeline", None)
    if timeline_path:  # before the run: a bad name or a missing library costs nothing
        plot_format(timeline_path, "--timeline")
        require_matplotlib("--timeline")
    if getattr(args, "resp", False):
        sim = run_with_resp(scenario, args, until)
    else:
        sim = run_scenario(
            scenario, args.seed, until=until, trace_bus=getattr(args, "trace_bus", False)
        )
    driver = sim.extras["driver"]
    if args.trace:
        header = trace_header(scenario, sim.seed)
        if until is not None:  # a run cut short: the replay stops there too (docs/trace.md)
            header["until"] = until
        try:
            with open(args.trace, "w", encoding="utf-8", newline="\n") as stream:
                write_jsonl(sim.trace.events, stream, header)
        except OSError as error:
            raise CommandError(f"cannot write {args.trace}: {error.strerror or error}") from None
    if args.report:
        write_file(args.report, report_json(report(sim, driver)))
    if args.junit:
        write_file(args.junit, junit_xml(sim, driver, args.trace))
    if timeline_path:
        draw_timeline(timeline_path, scenario, sim)
    out = sys.stdout
    if not args.quiet:
        out.write(f"{scenario.name}  ({scenario.source}, seed {sim.seed})\n\n")
        out.write("".join(line + "\n" for line in timeline(sim.trace.events)))
        out.write("\n")
    for result in driver.results:
        out.write(verdict_line(result) + "\n")
    for message in driver.errors:
        sys.stderr.write(f"error: {message}\n")
    for row in sim.views.local_caches():  # client-side caching, only when used
        out.write(
            f"local cache {row.client} ({row.mode}, flush_on {list(row.flush_on)}): "
            f"{row.hits} hits ({row.hit_ratio:.0%}), {row.stale} stale local reads, "
            f"{row.invalidations} invalidations\n"
        )
    skipped = driver.not_reached()
    if skipped and not args.quiet:
        steps = ", ".join(str(i + 1) for i in skipped)
        out.write(f"note: the run ended at {sim.now / 1000:.3f}s before step(s) {steps}\n")
    passed = sum(1 for r in driver.results if r.passed)
    total = len(driver.results)
    verdict = "PASS" if driver.passed else "FAIL"
    out.write(f"{verdict}: {passed}/{total} expectations hold ({scenario.source})\n")
    return OK if driver.passed else EXPECTATION_FAILED
