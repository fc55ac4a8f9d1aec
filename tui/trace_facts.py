"""The facts a TUI session folds from the trace as it grows: the event log's lines (a
big cluster's waves of verdicts as one line each), the caption, request counters and
notable times. Split from tui/model.py: the session plays, this reads what it played.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import compress
from operator import not_

from simulator.trace import TraceEvent, is_notable
from simulator.trace_kinds import ROUTINE
from simulator.views.log_groups import GROUPED_KINDS, VerdictFold, VerdictGroup
from simulator.views.scan import KIND
from simulator.views.shapes import CheckResult
from tui.hints import hint
from tui.log_words import group_line
from tui.words import LOGGED, check_line, describe, fork_line, level

LOG_LIMIT = 2000
SKIPPED = ROUTINE - LOGGED - {"request", "caption"}
"""Kinds :meth:`TraceFacts._one` does nothing with: routine (never notable), not logged,
neither a request nor a caption."""


@dataclass
class LogLine:
    t: int
    text: str
    level: str
    kind: str
    group: VerdictGroup | None = None  # a big cluster's wave of verdicts (tui/log_words.py)


class TraceFacts:
    """Facts folded from the trace: log lines, caption, request counters, notable times
    (elections are folded by ``sim.views.election()``).

    Incremental: :meth:`feed` consumes new events; after a rewind (the trace was cut
    below what was folded) it is rebuilt from the start.
    """

    def __init__(self, grouped: bool = False) -> None:
        self.seen = 0
        self.last: TraceEvent | None = None  # events[seen - 1], to notice a rewound trace
        self.log: deque[LogLine] = deque(maxlen=LOG_LIMIT)
        # A big cluster's waves of identical verdicts, a line each (tui/log_words.py).
        self.verdicts = VerdictFold() if grouped else None
        self._wave_lines: dict[VerdictGroup, LogLine] = {}
        self.caption: str = ""
        self.caption_t: int | None = None
        self.outcomes: Counter[str] = Counter()
        self.notable_times: list[int] = []
        self.changes = 0  # bumped whenever a feed changed the log (the log pane compares it)
        self.appended = 0  # log lines ever appended (the deque drops the oldest)
        self.captions: list[tuple[int, str]] = []  # every caption so far, for the history
        self.checks_seen = 0  # the lesson's check results already in the log
        self.forks_seen = 0
        self.verdict_logged = False

    def feed(
        self,
        events: list[TraceEvent],
        results: Sequence[CheckResult] = (),
        forks: Sequence[tuple[int, int]] = (),
        verdict: str | None = None,
        now: int | None = None,
    ) -> list[TraceEvent]:
        """Consume events appended since the last call; returns them. The lesson's check
        results, the forks and the verdict (not trace events) join the log in time order."""
        changes = self.changes
        seen = self.seen
        rewound = bool(seen) and (len(events) < seen or events[seen - 1] is not self.last)
        if rewound or len(results) < self.checks_seen or len(forks) < self.forks_seen:
            self.__init__(self.verdicts is not None)  # type: ignore[misc]
            rewound = True
        appended, joined = self.appended, self.verdicts.joined if self.verdicts else 0
        new = events[self.seen :]
        self.seen = len(events)
        self.last = events[-1] if events else None
        # Only the kinds :meth:`_one` reads (at 100 nodes nearly every new event is a
        # routine bus message); the checks and forks made before a skipped event are
        # logged before the next read one all the same, in the same order.
        for event in compress(new, map(not_, map(SKIPPED.__contains__, map(KIND, new)))):
            self._extras(results, forks, event["t"])
            self._one(event)
        self._extras(results, forks, None if now is None else now + 1)
        if verdict and not self.verdict_logged:
            self.verdict_logged = True
            self._append(LogLine(results[-1].at if results else 0, verdict, "info", "verdict"))
        grown = self.verdicts is not None and self.verdicts.joined != joined  # a wave's line
        changed = rewound or self.appended != appended or grown  # the log's lines (its pane)
        self.changes = changes + 1 if changed else changes
        return new

    def _append(self, line: LogLine) -> None:
        self.log.append(line)
        self.appended += 1

    def _extras(
        self, results: Sequence[CheckResult], forks: Sequence[tuple[int, int]], before: int | None
    ) -> None:
        """Log the forks made at or before ``before`` and the checks made before it
        (``None``: all of them; a fork made later is not on this timeline yet)."""
        while self.forks_seen < len(forks) and (
            before is None or forks[self.forks_seen][0] <= before
        ):
            t, number = forks[self.forks_seen]
            self.forks_seen += 1
            self._append(LogLine(t, fork_line(number), "alert", "fork"))
        while self.checks_seen < len(results) and (
            before is None or results[self.checks_seen].at < before
        ):
            result = results[self.checks_seen]
            self.checks_seen += 1
            self._append(
                LogLine(
                    result.at, check_line(result), "good" if result.passed else "alert", "check"
                )
            )

    def _one(self, event: TraceEvent) -> None:
        kind = event["kind"]
        t = event["t"]
        if kind == "request":
            outcome = str(event.get("outcome", "error"))
            self.outcomes[outcome] += 1
            return
        if is_notable(event):
            times = self.notable_times
            if not times or times[-1] != t:
                times.append(t)
        if kind == "caption":
            self.caption = str(event.get("text", ""))
            self.caption_t = t
            self.captions.append((t, self.caption))
        if kind in GROUPED_KINDS and self.verdicts is not None:
            self._join(self.verdicts, event)
        elif kind in LOGGED:
            self._append(LogLine(t, describe(event), level(event), kind))
            why = hint(event)
            if why:
                self._append(LogLine(t, why, "alert", "hint"))

    def _join(self, verdicts: VerdictFold, event: TraceEvent) -> None:
        """A big cluster's verdict: a new wave's line, or its wave's line grown."""
        group, new = verdicts.join(event)
        if new:
            line = LogLine(event["t"], describe(event), level(event), event["kind"], group)
            self._wave_lines[group] = line
            self._append(line)
        else:
            self._wave_lines[group].text = group_line(group)
