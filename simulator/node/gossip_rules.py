"""Older Redis rules for choosing a ping's gossip entries (``cluster.behaviour.gossip``).

Redis 7.0 (:meth:`~simulator.node.bus.BusOutput._gossip`, §7.1) appends every node it
flags PFAIL to each PING and PONG, on top of max(3, N/10) random entries. Earlier
versions left PFAIL nodes to chance, and in a big cluster with a short node timeout a
node's failure reports could expire (2 × NT, §8.2) before a majority of masters had
reported it (redis/redis#2285). For the "Reports that expire" lesson a scenario can
select one of those rules; everything else stays Redis 7.0.

* ``redis-3.0``: ``clusterSendPing`` of Redis 3.0.0 (commits 3fd43062c and 233729fe7, Jan
  2015; kept until 02777bb25, Apr 2017, released in 5.0): max(3, N/10) entries drawn at
  random, at most 3 × wanted draws, and during the first wanted − 1 draws only PFAIL or
  FAIL nodes are taken ("some bias towards FAIL/PFAIL nodes"); nothing is appended.
* ``redis-3.0-rc1``: ``clusterSendPing`` of Redis 3.0.0-rc1 and rc2, the code #2285 was
  reported against: always 3 entries drawn at random, no bias, nothing appended.

Both skip, as 7.0 does, myself, nodes in HANDSHAKE or NOADDR, nodes without a link and
without slots, and repeats. Gossip entries and their processing are 7.0's (times in
seconds; the 3.0 code sent milliseconds truncated to 32 bits, which only the pong-time
rule of §7.3 would read, and that rule came with 7.0's traffic reductions).
"""

from __future__ import annotations

from typing import Any

from simulator.messages import FAIL, HANDSHAKE, NOADDR, PFAIL, GossipFields

REDIS_7_0 = "redis-7.0"
REDIS_3_0 = "redis-3.0"
REDIS_3_0_RC1 = "redis-3.0-rc1"
GOSSIP_RULES = (REDIS_7_0, REDIS_3_0, REDIS_3_0_RC1)
"""The values of ``cluster.behaviour.gossip`` (docs/scenario-format.md); redis-7.0 is the default."""

RC1_ENTRIES = 3
RC1_MAX_DRAWS = (
    1000  # rc1 had no limit; a bound so a tiny table cannot spin (never reached with N > 4)
)


def legacy_gossip(node: Any, rule: str) -> tuple[GossipFields, ...]:
    """The gossip section ``node`` (a :class:`~simulator.node.bus.BusOutput`) builds
    under the older ``rule``."""
    peers = node._peer_list
    total = len(peers)
    fresh = total - 2
    if rule == REDIS_3_0_RC1:
        wanted = RC1_ENTRIES
        draws = RC1_MAX_DRAWS
        biased = 0
    else:
        wanted = min(max(3, total // 10), fresh)
        draws = wanted * 3
        biased = wanted - 1  # while maxiterations > wanted*2 (it is decremented first)
    entries: list[GossipFields] = []
    chosen: set[str] = set()
    random = node.rng.random
    me = node.me
    drawn = 0
    while fresh > 0 and len(entries) < wanted and drawn < draws:
        drawn += 1
        peer = peers[int(random() * total)]
        if peer is me:
            continue
        if drawn <= biased and not peer.flags & (PFAIL | FAIL):
            continue
        if peer.flags & (HANDSHAKE | NOADDR) or (not peer.link and node.numslots(peer) == 0):
            fresh -= 1
            continue
        if peer.name in chosen:
            continue
        chosen.add(peer.name)
        entries.append(node._gossip_entry(peer))
        fresh -= 1
    return tuple(entries)
