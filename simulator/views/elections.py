"""Elections folded from the trace, newest round per failed master (§11.2-11.4)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from simulator.trace import TraceEvent
from simulator.views.scan import of_kinds
from simulator.views.shapes import CandidateView

ELECTION_KINDS = frozenset(
    ("election_scheduled", "election_started", "vote", "vote_denied", "promoted")
)


@dataclass
class _Candidate:
    name: str
    rank: int = 0
    offset: int = 0
    delay_ms: int = 0
    scheduled_at: int = 0
    epoch: int | None = None
    quorum: int | None = None
    votes: dict[str, int] = field(default_factory=dict)
    denied: dict[str, str] = field(default_factory=dict)
    won: bool = False

    def frozen(self) -> CandidateView:
        return CandidateView(
            self.name,
            self.rank,
            self.offset,
            self.delay_ms,
            self.scheduled_at,
            self.epoch,
            self.quorum,
            tuple(self.votes.items()),
            tuple(self.denied.items()),
            self.won,
        )


@dataclass
class _Election:
    master: str
    started: int
    candidates: dict[str, _Candidate] = field(default_factory=dict)
    done: bool = False


class ElectionLog:
    """Elections folded from the trace (``election_scheduled`` … ``promoted``), newest
    round per failed master. Incremental; rebuilt when the trace got shorter (rewind)."""

    def __init__(self) -> None:
        self.seen = 0
        self.last: TraceEvent | None = None  # events[seen - 1], to notice a rewound trace
        self.elections: dict[str, _Election] = {}
        self.latest: str | None = None

    def feed(self, events: Sequence[TraceEvent]) -> None:
        """Fold the events appended since the last call; start over if the trace was cut
        below what was folded (a rewind replays new event objects)."""
        if self.seen and (len(events) < self.seen or events[self.seen - 1] is not self.last):
            self.__init__()  # type: ignore[misc]
        for event in of_kinds(events, self.seen, ELECTION_KINDS):
            self._one(event)
        self.seen = len(events)
        self.last = events[-1] if events else None

    def _one(self, event: TraceEvent) -> None:
        kind = event["kind"]
        node = str(event.get("node"))
        target = str(event.get("target"))
        if kind == "election_scheduled":
            election = self.elections.get(target)
            if election is None or election.done:
                election = _Election(target, event["t"])
                self.elections[target] = election
            election.candidates[node] = _Candidate(
                node,
                rank=int(event.get("rank", 0)),
                offset=int(event.get("offset", 0)),
                delay_ms=int(event.get("delay_ms", 0)),
                scheduled_at=event["t"],
            )
            self.latest = target
        elif kind == "election_started":
            candidate = self._candidate(target, node)
            if candidate is not None:
                candidate.epoch = event.get("epoch")
                candidate.quorum = event.get("quorum")
                candidate.votes = {}
                candidate.denied = {}
        elif kind in ("vote", "vote_denied"):
            for election in self.elections.values():
                bidder = election.candidates.get(target)
                if bidder is None or election.done:
                    continue
                if kind == "vote":
                    bidder.votes[node] = int(event.get("epoch", 0))
                else:
                    bidder.denied[node] = str(event.get("reason", ""))
        elif kind == "promoted":
            candidate = self._candidate(target, node)
            if candidate is not None:
                candidate.won = True
            election = self.elections.get(target)
            if election is not None:
                election.done = True

    def _candidate(self, master: str, name: str) -> _Candidate | None:
        election = self.elections.get(master)
        return None if election is None else election.candidates.get(name)
