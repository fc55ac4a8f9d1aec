"""A Redis dict's bucket table, just enough to sample keys the way dict.c does (§25.3).

Eviction samples candidates with ``dictGetSomeKeys`` and ``*-random`` picks with
``dictGetRandomKey``; neither is a uniform draw. ``dictGetSomeKeys`` starts at a random
bucket and walks consecutive buckets, taking whole chains until it has ``count`` keys, so
the head of a chain (the key added to that bucket last: ``dictAddRaw`` inserts at the
head) is more likely to be taken than its tail; ``dictGetRandomKey`` picks a random
non-empty bucket, then a random key of its chain. :class:`DictTable` keeps the keys in
buckets as dict.c does: the bucket is a salted 64-bit hash of the key (Redis uses
SipHash with a random per-process seed; rcsim draws the salt from the seeded stream and
hashes with BLAKE2b), the table doubles when full (``_dictExpandIfNeeded``), and an
expansion moves chains in dict.c's ``dictRehash`` order, at once rather than
incrementally. Tables never shrink (``tryResizeHashTables`` is not modelled).
"""

from __future__ import annotations

import hashlib
import random

from simulator.dataplane.memory import DICT_HT_INITIAL_SIZE


def key_hash64(key: str, salt: bytes) -> int:
    """A key's 64-bit bucket hash: keyed BLAKE2b standing for dict.c's seeded SipHash
    (both act as random functions of the key; this one is deterministic)."""
    digest = hashlib.blake2b(key.encode(), digest_size=8, key=salt).digest()
    return int.from_bytes(digest, "little")


class DictTable:
    """Keys in hash buckets (head of a chain first), for dict.c's sampling functions."""

    __slots__ = ("buckets", "hashes", "salt")

    def __init__(self, salt: bytes) -> None:
        self.salt = salt
        self.buckets: list[list[str]] = []
        self.hashes: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self.hashes)

    def __contains__(self, key: object) -> bool:
        return key in self.hashes

    @property
    def size(self) -> int:
        return len(self.buckets)

    def _hash(self, key: str) -> int:
        return key_hash64(key, self.salt)

    def add(self, key: str) -> None:
        """``dictAdd``: expand if full, then insert at the head of the key's chain."""
        if key in self.hashes:
            return
        if not self.buckets:
            self.buckets = [[] for _ in range(DICT_HT_INITIAL_SIZE)]
        elif len(self.hashes) >= len(self.buckets):
            self._expand(len(self.buckets) * 2)
        h = self._hash(key)
        self.hashes[key] = h
        self.buckets[h & (len(self.buckets) - 1)].insert(0, key)

    def _expand(self, size: int) -> None:
        """``dictRehash``: every chain head to tail, each key to the head of its new bucket."""
        new: list[list[str]] = [[] for _ in range(size)]
        mask = size - 1
        for chain in self.buckets:
            for key in chain:
                new[self.hashes[key] & mask].insert(0, key)
        self.buckets = new

    def remove(self, key: str) -> None:
        h = self.hashes.pop(key, None)
        if h is not None:
            self.buckets[h & (len(self.buckets) - 1)].remove(key)

    def clear(self) -> None:
        self.buckets = []
        self.hashes.clear()

    def some_keys(self, rng: random.Random, count: int) -> list[str]:
        """``dictGetSomeKeys``: up to ``count`` keys from a walk over consecutive buckets
        from a random one; after more than ``count`` (at least 5) empty buckets in a row
        it jumps to another random bucket; at most ``count * 10`` steps."""
        if not self.hashes:
            return []
        count = min(count, len(self.hashes))
        mask = len(self.buckets) - 1
        found: list[str] = []
        i = rng.getrandbits(64) & mask
        empty = 0
        steps = count * 10
        while len(found) < count and steps:
            steps -= 1
            chain = self.buckets[i]
            if not chain:
                empty += 1
                if empty >= 5 and empty > count:
                    i = rng.getrandbits(64) & mask
                    empty = 0
            else:
                empty = 0
                for key in chain:
                    found.append(key)
                    if len(found) == count:
                        return found
            i = (i + 1) & mask
        return found

    def random_key(self, rng: random.Random) -> str | None:
        """``dictGetRandomKey``: a random non-empty bucket, then a random key of its chain."""
        if not self.hashes:
            return None
        size = len(self.buckets)
        while True:
            chain = self.buckets[rng.randrange(size)]
            if chain:
                return chain[rng.randrange(len(chain))]
