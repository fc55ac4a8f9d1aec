"""Pub/Sub on one node: Redis's glob matcher and the subscription registries (§19).

:func:`stringmatchlen` follows src/util.c ``stringmatchlen`` byte for byte, including
its edge cases (an unclosed ``[`` matches the set read so far; ``*`` never matches an
empty string; a trailing ``\\`` is a literal backslash; ranges compare *signed* chars).

:class:`PubSubRegistry` holds one node's channel, pattern and shard-channel
subscriptions (src/pubsub.c). It only delivers locally: fan-out to other nodes
(PUBLISH to every node, SPUBLISH to the own shard) is the cluster bus's job, and every
receiving node calls :meth:`PubSubRegistry.publish` / :meth:`~PubSubRegistry.spublish`
on its own registry, ignoring the count.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from simulator.slots import key_hash_slot

# --------------------------------------------------------------------------- glob matching


def _signed(byte: int) -> int:
    """A byte as C's (signed, on x86) ``char``."""
    return byte - 256 if byte >= 128 else byte


def _lower(c: int) -> int:
    """glibc ``tolower`` in the C locale on a signed char value: ASCII letters fold,
    -128..-2 come back as their unsigned value (128..254), -1 (EOF) stays -1."""
    if 65 <= c <= 90:
        return c + 32
    if -128 <= c <= -2:
        return c + 256
    return c


def _as_bytes(text: bytes | str) -> bytes:
    return text.encode("utf-8") if isinstance(text, str) else bytes(text)


def stringmatchlen(pattern: bytes | str, string: bytes | str, nocase: bool = False) -> bool:
    """Glob-style match as Redis's ``stringmatchlen`` (src/util.c, 7.0.15).

    ``*`` any run, ``?`` one byte, ``[...]`` a set with ``a-z`` ranges (reversed ranges
    are swapped), ``[^...]`` negation and ``\\`` escapes, ``\\x`` a literal ``x``.
    PSUBSCRIBE uses ``nocase=False``.
    """
    pat = _as_bytes(pattern)
    text = _as_bytes(string)
    skip_longer = [False]
    return _match(pat, 0, len(pat), text, 0, len(text), nocase, skip_longer)


def _match(
    pat: bytes,
    p: int,
    plen: int,
    s: bytes,
    i: int,
    slen: int,
    nocase: bool,
    skip_longer: list[bool],
) -> bool:
    """The C loop with explicit indexes; reading at the pattern's end yields NUL, as the
    C code reads the sds terminator."""
    end = len(pat)

    def at(k: int) -> int:
        return pat[k] if k < end else 0

    while plen and slen:
        c = at(p)
        if c == 0x2A:  # '*'
            while plen and at(p + 1) == 0x2A:
                p += 1
                plen -= 1
            if plen == 1:
                return True
            while slen:
                if _match(pat, p + 1, plen - 1, s, i, slen, nocase, skip_longer):
                    return True
                if skip_longer[0]:
                    return False
                i += 1
                slen -= 1
            # Nothing matched the rest anywhere: no longer match of an earlier '*'
            # can help either (the 7.0 CVE-2022-36021 fix).
            skip_longer[0] = True
            return False
        elif c == 0x3F:  # '?'
            i += 1
            slen -= 1
        elif c == 0x5B:  # '['
            p += 1
            plen -= 1
            negate = at(p) == 0x5E  # '^'
            if negate:
                p += 1
                plen -= 1
            matched = False
            sc = _signed(s[i])
            while True:
                if at(p) == 0x5C and plen >= 2:  # '\\' escape inside a set
                    p += 1
                    plen -= 1
                    if at(p) == s[i]:
                        matched = True
                elif at(p) == 0x5D:  # ']'
                    break
                elif plen == 0:  # unclosed '[': step back so the outer step lands at the end
                    p -= 1
                    plen += 1
                    break
                elif plen >= 3 and at(p + 1) == 0x2D:  # 'a-z'
                    start, stop, ch = _signed(at(p)), _signed(at(p + 2)), sc
                    if start > stop:
                        start, stop = stop, start
                    if nocase:
                        start, stop, ch = _lower(start), _lower(stop), _lower(ch)
                    p += 2
                    plen -= 2
                    if start <= ch <= stop:
                        matched = True
                elif nocase:
                    if _lower(_signed(at(p))) == _lower(sc):
                        matched = True
                elif at(p) == s[i]:
                    matched = True
                p += 1
                plen -= 1
            if negate:
                matched = not matched
            if not matched:
                return False
            i += 1
            slen -= 1
        else:
            if c == 0x5C and plen >= 2:  # '\\' escapes the next byte
                p += 1
                plen -= 1
            c = at(p)
            if nocase:
                if _lower(_signed(c)) != _lower(_signed(s[i])):
                    return False
            elif c != s[i]:
                return False
            i += 1
            slen -= 1
        p += 1
        plen -= 1
        if slen == 0:
            while at(p) == 0x2A:
                p += 1
                plen -= 1
            break
    return plen == 0 and slen == 0


# --------------------------------------------------------------------------- registries


@dataclass(frozen=True, slots=True)
class Push:
    """One message pushed to a client, as its RESP array.

    ``kind``: ``message`` (channel, payload), ``pmessage`` (pattern, channel, payload),
    ``smessage`` (channel, payload), ``sunsubscribe`` (channel, remaining count).
    """

    client: str
    kind: str
    fields: tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class Published:
    """A local delivery: ``receivers`` is the PUBLISH/SPUBLISH reply (§19: local only)."""

    receivers: int
    pushes: tuple[Push, ...]


class PubSubRegistry:
    """One node's subscriptions (src/pubsub.c): channels, patterns, shard channels.

    Clients are names; subscribers of a channel are kept in subscription order (Redis
    appends to a list). Patterns are tried in first-subscription order (Redis walks a
    hash table, whose order is arbitrary: a simplification).
    """

    def __init__(self) -> None:
        self._channels: dict[str, list[str]] = {}
        self._patterns: dict[str, list[str]] = {}
        self._shard: dict[str, list[str]] = {}
        self._client_channels: dict[str, dict[str, None]] = {}
        self._client_patterns: dict[str, dict[str, None]] = {}
        self._client_shard: dict[str, dict[str, None]] = {}

    # ------------------------------------------------------------ counts

    def subscription_count(self, client: str) -> int:
        """``clientSubscriptionsCount``: channels + patterns (the SUBSCRIBE reply count)."""
        return len(self._client_channels.get(client, {})) + len(
            self._client_patterns.get(client, {})
        )

    def shard_count(self, client: str) -> int:
        """``clientShardSubscriptionsCount`` (the SSUBSCRIBE reply count)."""
        return len(self._client_shard.get(client, {}))

    # ------------------------------------------------------------ (un)subscribe

    @staticmethod
    def _add(
        table: dict[str, list[str]], mine: dict[str, dict[str, None]], client: str, name: str
    ) -> None:
        own = mine.setdefault(client, {})
        if name not in own:
            own[name] = None
            table.setdefault(name, []).append(client)

    @staticmethod
    def _remove(
        table: dict[str, list[str]], mine: dict[str, dict[str, None]], client: str, name: str
    ) -> None:
        own = mine.get(client, {})
        if name in own:
            del own[name]
            table[name].remove(client)
            if not table[name]:
                del table[name]

    def subscribe(self, client: str, channels: Iterable[str]) -> list[tuple[str, str, int]]:
        """SUBSCRIBE: one ``("subscribe", channel, count)`` reply per channel."""
        out = []
        for ch in channels:
            self._add(self._channels, self._client_channels, client, ch)
            out.append(("subscribe", ch, self.subscription_count(client)))
        return out

    def psubscribe(self, client: str, patterns: Iterable[str]) -> list[tuple[str, str, int]]:
        out = []
        for pat in patterns:
            self._add(self._patterns, self._client_patterns, client, pat)
            out.append(("psubscribe", pat, self.subscription_count(client)))
        return out

    def ssubscribe(self, client: str, channels: Iterable[str]) -> list[tuple[str, str, int]]:
        """SSUBSCRIBE (routing, incl. CROSSSLOT, is :mod:`routing`'s job)."""
        out = []
        for ch in channels:
            self._add(self._shard, self._client_shard, client, ch)
            out.append(("ssubscribe", ch, self.shard_count(client)))
        return out

    def _un(
        self,
        kind: str,
        table: dict[str, list[str]],
        mine: dict[str, dict[str, None]],
        count: str,
        client: str,
        names: Iterable[str] | None,
    ) -> list[tuple[str, str | None, int]]:
        chosen = list(mine.get(client, {})) if names is None else list(names)
        out: list[tuple[str, str | None, int]] = []
        for name in chosen:
            self._remove(table, mine, client, name)
            n = self.shard_count(client) if count == "shard" else self.subscription_count(client)
            out.append((kind, name, n))
        if names is None and not out:
            n = self.shard_count(client) if count == "shard" else self.subscription_count(client)
            out.append((kind, None, n))
        return out

    def unsubscribe(
        self, client: str, channels: Iterable[str] | None = None
    ) -> list[tuple[str, str | None, int]]:
        """UNSUBSCRIBE (None = all; with nothing to drop, one reply with a nil channel)."""
        return self._un(
            "unsubscribe", self._channels, self._client_channels, "all", client, channels
        )

    def punsubscribe(
        self, client: str, patterns: Iterable[str] | None = None
    ) -> list[tuple[str, str | None, int]]:
        return self._un(
            "punsubscribe", self._patterns, self._client_patterns, "all", client, patterns
        )

    def sunsubscribe(
        self, client: str, channels: Iterable[str] | None = None
    ) -> list[tuple[str, str | None, int]]:
        return self._un("sunsubscribe", self._shard, self._client_shard, "shard", client, channels)

    def remove_client(self, client: str) -> None:
        """The client disconnected: drop all its subscriptions silently."""
        for table, mine in (
            (self._channels, self._client_channels),
            (self._patterns, self._client_patterns),
            (self._shard, self._client_shard),
        ):
            for name in list(mine.get(client, {})):
                self._remove(table, mine, client, name)
            mine.pop(client, None)

    # ------------------------------------------------------------ publishing

    def publish(self, channel: str, message: str) -> Published:
        """``pubsubPublishMessage`` for PUBLISH: channel subscribers, then every matching
        pattern's subscribers. A client on the channel and on a matching pattern (or on
        two matching patterns) gets the message once per subscription and is counted
        each time, as Redis does."""
        pushes = [Push(c, "message", (channel, message)) for c in self._channels.get(channel, [])]
        for pattern, clients in self._patterns.items():
            if stringmatchlen(pattern, channel):
                pushes.extend(Push(c, "pmessage", (pattern, channel, message)) for c in clients)
        return Published(len(pushes), tuple(pushes))

    def spublish(self, channel: str, message: str) -> Published:
        """SPUBLISH: shard-channel subscribers only (shard pub/sub ignores patterns)."""
        pushes = [Push(c, "smessage", (channel, message)) for c in self._shard.get(channel, [])]
        return Published(len(pushes), tuple(pushes))

    def drop_slot(self, slot: int) -> list[Push]:
        """``removeChannelsInSlot``: my shard lost ``slot`` (§19), so every subscriber
        of every shard channel in it gets ``sunsubscribe <channel> <remaining>`` and is
        dropped. Channels in byte order (Redis walks a radix tree)."""
        pushes: list[Push] = []
        doomed = sorted(
            (ch for ch in self._shard if key_hash_slot(ch) == slot), key=lambda c: c.encode()
        )
        for ch in doomed:
            for client in list(self._shard[ch]):
                self._remove(self._shard, self._client_shard, client, ch)
                pushes.append(Push(client, "sunsubscribe", (ch, self.shard_count(client))))
        return pushes

    def drop_slots(self, slots: Iterable[int]) -> list[Push]:
        """:meth:`drop_slot` for each slot, in ascending order (the bus's ``on_slots_lost``)."""
        out: list[Push] = []
        for slot in sorted(set(slots)):
            out.extend(self.drop_slot(slot))
        return out

    # ------------------------------------------------------------ introspection

    def numsub(self, channel: str) -> int:
        """PUBSUB NUMSUB for one channel (per node)."""
        return len(self._channels.get(channel, []))

    def numpat(self) -> int:
        """PUBSUB NUMPAT: number of distinct patterns on this node."""
        return len(self._patterns)

    def channels(self, pattern: str | None = None) -> list[str]:
        """PUBSUB CHANNELS [pattern], sorted for determinism (Redis: hash order)."""
        return sorted(c for c in self._channels if pattern is None or stringmatchlen(pattern, c))

    def shard_numsub(self, channel: str) -> int:
        return len(self._shard.get(channel, []))

    def shard_channels(self, pattern: str | None = None) -> list[str]:
        return sorted(c for c in self._shard if pattern is None or stringmatchlen(pattern, c))
