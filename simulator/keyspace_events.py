"""``notify-keyspace-events``: its flag letters (src/notify.c, 7.0.15; §26.4).

:func:`parse_flags` is ``keyspaceEventsStringToFlags`` (an unknown letter is an error),
:func:`format_flags` is ``keyspaceEventsFlagsToString`` (what ``CONFIG GET`` shows).
"""

from __future__ import annotations

CLASSES = "g$lshzxetd"
"""The event classes, in ``keyspaceEventsFlagsToString``'s order; ``A`` is all of them."""

KEYSPACE = "K"  # publish on __keyspace@<db>__:<key>
KEYEVENT = "E"  # publish on __keyevent@<db>__:<event>
OTHER = "mn"  # key-miss and new-key events, not part of A

GENERIC = "g"
STRING = "$"
EXPIRED = "x"
EVICTED = "e"


def parse_flags(text: str) -> frozenset[str]:
    """The flags in ``text``; raises ValueError naming the first unknown letter."""
    flags: set[str] = set()
    for letter in text:
        if letter == "A":
            flags.update(CLASSES)
        elif letter in CLASSES or letter in KEYSPACE + KEYEVENT + OTHER:
            flags.add(letter)
        else:
            raise ValueError(f"notify-keyspace-events: unknown event class '{letter}'")
    return frozenset(flags)


def format_flags(flags: frozenset[str]) -> str:
    """The canonical string of ``flags`` (``A`` when every class is on)."""
    text = "A" if set(CLASSES) <= flags else "".join(c for c in CLASSES if c in flags)
    return text + "".join(c for c in KEYSPACE + KEYEVENT + OTHER if c in flags)


def channels(
    flags: frozenset[str], cls: str, event: str, key: str, db: int = 0
) -> list[tuple[str, str]]:
    """``notifyKeyspaceEvent``: the (channel, message) pairs to publish for ``event`` of
    class ``cls`` on ``key``, keyspace channel first; none when the class is off."""
    if cls not in flags:
        return []
    out = []
    if KEYSPACE in flags:
        out.append((f"__keyspace@{db}__:{key}", event))
    if KEYEVENT in flags:
        out.append((f"__keyevent@{db}__:{event}", key))
    return out
