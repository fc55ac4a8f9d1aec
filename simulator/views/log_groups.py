"""A big cluster's waves of identical verdicts, one group each (issue 12: the event log
at 1,000 nodes).

When a node of a 1,000-node cluster fails, every other node traces the same verdict
about it: 999 ``pfail`` events (each observer's own ping timed out, §8.1), then 999
``fail`` (a few by the quorum of master reports, the rest told by the FAIL broadcast,
§8.2-8.3), and as many ``fail_cleared`` when it answers again; every node says
``cluster_state:fail`` while slots are uncovered, and every master ``vote``s for the
winner (§11.3). A log of one line per event is a thousand lines of the same sentence,
and it pushes everything else out of the log's last 2,000 lines.

:class:`VerdictFold` folds such a wave into one :class:`VerdictGroup` (which nodes,
in order, first and last time, how many were told by a FAIL message) for the log to show
as one line. Only the log's presentation changes: the trace, and every other reader of
it, still has each event.

A wave is one kind of event about one subject: ``pfail``, ``pfail_cleared``, ``fail``,
``fail_cleared`` about its ``target``; ``vote`` for its ``target`` in one ``epoch``;
``cluster_state`` with one ``state``. It ends (the next such event starts a new group)
when an observer already in it says the same again (its verdict must have been cleared
in between: a new episode), or when the opposite verdict about the same subject arrives
(``fail_cleared`` ends the ``fail`` wave and the other way round; ``pfail`` and
``pfail_cleared``; ``cluster_state`` ``ok`` and ``fail``).
"""

from __future__ import annotations

from simulator.trace import TraceEvent

Subject = tuple[str, str, str]
"""(kind, the node the verdicts are about or "", the value that splits waves or "")."""

_SUBJECT_FIELD = {"vote": "epoch", "cluster_state": "state"}
GROUPED_KINDS = frozenset(
    ("pfail", "pfail_cleared", "fail", "fail_cleared", "vote", "cluster_state")
)
_OPPOSITE = {
    "pfail": "pfail_cleared",
    "pfail_cleared": "pfail",
    "fail": "fail_cleared",
    "fail_cleared": "fail",
}
_STATE_OPPOSITE = {"ok": "fail", "fail": "ok"}


def subject(event: TraceEvent) -> Subject:
    """The wave ``event`` belongs to (its kind must be one of :data:`GROUPED_KINDS`)."""
    kind = event["kind"]
    target = "" if kind == "cluster_state" else str(event.get("target", ""))
    split = _SUBJECT_FIELD.get(kind)
    return kind, target, "" if split is None else str(event.get(split, ""))


def _opposite(wave: Subject) -> Subject | None:
    kind, target, value = wave
    if kind == "cluster_state":
        other = _STATE_OPPOSITE.get(value)
        return None if other is None else (kind, target, other)
    other_kind = _OPPOSITE.get(kind)
    return None if other_kind is None else (other_kind, target, value)


class VerdictGroup:
    """One wave: who said it, in order, and when. Read-only for its readers (only
    :class:`VerdictFold` adds to it)."""

    __slots__ = ("_members", "_times", "first", "last", "subject", "told")

    def __init__(self, event: TraceEvent) -> None:
        self.subject: Subject = subject(event)
        self.first: TraceEvent = event  # the first event of the wave, whole
        self.last: int = event["t"]  # the time of the newest one
        self.told = 0  # ``fail`` events forced by a FAIL message (``via`` not quorum)
        self._members: dict[str, None] = {}  # observers in order (a dict: ordered, O(1) in)
        self._times: list[int] = []
        self._add(event)

    @property
    def kind(self) -> str:
        return self.subject[0]

    @property
    def count(self) -> int:
        """How many nodes said it."""
        return len(self._members)

    def members(self) -> tuple[tuple[str, int], ...]:
        """(observer, time) in the order they said it."""
        return tuple(zip(self._members, self._times, strict=True))

    def _has(self, node: str) -> bool:
        return node in self._members

    def _add(self, event: TraceEvent) -> None:
        self._members[str(event.get("node", ""))] = None
        self._times.append(event["t"])
        self.last = event["t"]
        if event["kind"] == "fail" and event.get("via") != "quorum":
            self.told += 1


class VerdictFold:
    """Folds :data:`GROUPED_KINDS` events into waves, event by event (the log's reader
    calls :meth:`join` as it reads the trace; a rewound trace is read again by a new
    fold)."""

    def __init__(self) -> None:
        self._open: dict[Subject, VerdictGroup] = {}
        self.joined = 0  # events that joined a group already shown (the log redraws)

    def join(self, event: TraceEvent) -> tuple[VerdictGroup, bool]:
        """The group ``event`` belongs to, and whether it is a new one (the first event
        of its wave). ``event``'s kind must be one of :data:`GROUPED_KINDS`."""
        wave = subject(event)
        opposite = _opposite(wave)
        if opposite is not None:
            self._open.pop(opposite, None)  # the opposite verdict ends that wave
        group = self._open.get(wave)
        node = str(event.get("node", ""))
        if group is None or group._has(node):  # the fold owns its groups
            group = VerdictGroup(event)
            self._open[wave] = group
            return group, True
        group._add(event)
        self.joined += 1
        return group, False
