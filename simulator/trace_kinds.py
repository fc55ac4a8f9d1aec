"""The trace-kind registry: every event kind a simulation emits, defined once.

Each :class:`TraceKind` gives the kind's own fields (after ``t``, ``kind``, ``node`` and
``target``), what ``node`` and ``target`` mean for it, how loud it is and a sentence a
learner can read. The headless timeline (:mod:`simulator.harness.report`), the TUI log
(:mod:`tui.words`), "step to next notable event" (:func:`simulator.trace.is_notable`)
and the tests read this table; ``docs/trace.md`` and ``docs/data-plane.md`` document it
(``tests/test_trace_kinds.py`` checks both ways).

Loudness is one of four tiers, each a superset of the next:

* ``timeline``: a change a learner must see; on the headless run's timeline, in the TUI
  log, and a stop for "next notable event";
* ``log``: a step that explains the timeline; in the TUI log and a notable stop;
* ``state``: a state change worth stopping on, counted but not logged;
* ``routine``: traffic (requests, deliveries, MIGRATE batches); never a stop.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

Tier = Literal["timeline", "log", "state", "routine"]
Tone = Literal["alert", "good", "info"]


class _Blank(dict[str, Any]):
    """Formatting namespace: a field the event lacks reads as ``None`` (as ``.get`` does)."""

    def __missing__(self, key: str) -> Any:
        return None


@dataclass(frozen=True, slots=True)
class TraceKind:
    """One event kind: name, fields, doc section, loudness, plain-words template."""

    name: str
    section: str  # the heading of docs/trace.md (or "data plane") that documents it
    node: str  # what ``node`` is ("" when the kind has none)
    target: str  # what ``target`` is ("" when the kind has none)
    fields: tuple[str, ...]
    doc: str
    words: str  # ``str.format`` template over node, target and the fields
    tier: Tier = "state"
    tone: Tone = "info"

    @property
    def notable(self) -> bool:
        """On the headless timeline (and so in the TUI log)."""
        return self.tier == "timeline"

    @property
    def logged(self) -> bool:
        """Shown in the TUI's event log."""
        return self.tier in ("timeline", "log")

    @property
    def routine(self) -> bool:
        """Routine traffic: "next notable event" and breakpoints skip it."""
        return self.tier == "routine"

    @property
    def keys(self) -> frozenset[str]:
        """Every key an event of this kind may carry besides ``t`` and ``kind``."""
        roles = [k for k, what in (("node", self.node), ("target", self.target)) if what]
        return frozenset((*roles, *self.fields))

    def sentence(self, event: Mapping[str, Any]) -> str:
        """The plain-words sentence for ``event`` (missing fields read ``None``)."""
        values = _Blank(event)
        values.setdefault("node", "")
        values.setdefault("target", "")
        return self.words.format_map(values)


_F = "faults and operator actions"
_D = "failure detection"
_E = "elections and epochs"
_M = "membership"
_L = "bus links"
_P = "data plane"
_B = "bus messages"


def _k(
    name: str,
    section: str,
    node: str,
    target: str,
    fields: str,
    doc: str,
    words: str,
    tier: Tier = "state",
    tone: Tone = "info",
) -> TraceKind:
    return TraceKind(name, section, node, target, tuple(fields.split()), doc, words, tier, tone)


KINDS: dict[str, TraceKind] = {
    k.name: k
    for k in (
        # ------------------------------------------------------------ faults and operator actions
        _k("crash", _F, "victim", "", "power_loss",
           "SIGKILL, or host power loss when power_loss is true; peers see RST at once",
           "{node} crashes (kill -9)", "timeline", "alert"),
        _k("shutdown", _F, "node", "", "",
           "graceful SHUTDOWN: no failover is triggered (§21.3)",
           "{node} shuts down cleanly", "timeline", "alert"),
        _k("shutdown_wait", _F, "node", "", "replicas timeout_ms",
           "SHUTDOWN of a master whose replicas lag: GETACK sent, writes paused until "
           "they caught up or the timeout passed (prepareForShutdown, §21.3)",
           "{node} pauses writes until its replicas ({replicas}) have its whole stream, "
           "then shuts down", "timeline"),
        _k("pause", _F, "node", "", "",
           "SIGSTOP: timers stop, the kernel buffers input",
           "{node} is paused (SIGSTOP): alive but silent", "timeline", "alert"),
        _k("resume", _F, "node", "", "",
           "SIGCONT: buffered input is read, then the overdue cron runs",
           "{node} resumes (SIGCONT)", "timeline", "good"),
        _k("restart", _F, "node", "", "role",
           "the process starts again from its nodes.conf",
           "{node} restarts as a {role}", "timeline", "good"),
        _k("partition", _F, "", "", "groups",
           "the network splits into groups (unnamed endpoints reach everyone)",
           "network split: {groups}", "timeline", "alert"),
        _k("cut", _F, "", "", "sources targets",
           "one-way cut: sources can no longer reach targets",
           "one-way cut: {sources} can't reach {targets}", "timeline", "alert"),
        _k("heal", _F, "", "", "groups",
           "links restored (groups null: everything)",
           "network healed", "timeline", "good"),
        _k("failover", _F, "replica", "", "mode reply",
           "CLUSTER FAILOVER [FORCE|TAKEOVER] was sent to the replica",
           "CLUSTER FAILOVER {mode} on {node}: {reply}", "timeline"),
        _k("set_config", _F, "node or all", "", "directive value",
           "CONFIG SET",
           "{node} sets {directive} to {value}", "log"),
        _k("node_added", _F, "new node", "", "via replica_of",
           "redis-cli --cluster add-node (MEET to via)",
           "{node} joins the cluster (MEET via {via})", "timeline"),
        _k("node_removed", _F, "node", "", "",
           "redis-cli --cluster del-node",
           "{node} is removed from the cluster", "timeline"),
        _k("forget", _F, "node that ran it", "forgotten node", "reply",
           "CLUSTER FORGET: the node dropped the other from its table and blacklists it for "
           "60 s (§1.1), or refused (reply)",
           "{node} forgets {target}: {reply}", "timeline"),
        _k("caption", _F, "", "", "text step",
           "a scenario step's narration (at its action, or when a step that only waits ends)",
           "{text}", "timeline"),
        # ------------------------------------------------------------ failure detection (§8)
        _k("pfail", _D, "observer", "suspect", "delay_ms",
           "a ping to the suspect has been pending for more than NT (clusterCron)",
           "{node} suspects {target} (PFAIL: no pong for {delay_ms} ms)", "timeline"),
        _k("pfail_cleared", _D, "observer", "suspect", "",
           "a PONG arrived on the observer's outbound link",
           "{node} hears from {target} again (PFAIL cleared)", "log", "good"),
        _k("fail", _D, "observer", "failed node", "via reports quorum sender",
           "enough master reports (markNodeAsFailingIfNeeded), or a FAIL message forced it",
           "{node} marks {target} FAIL", "timeline", "alert"),
        _k("fail_cleared", _D, "observer", "node", "reason",
           "clearNodeFailureIfNeeded: the failed node answers again",
           "{node} clears FAIL on {target} ({reason})", "log", "good"),
        _k("cluster_state", _D, "node", "", "state",
           "clusterUpdateState changed the node's state (ok|fail)",
           "{node} says cluster_state:{state}", "timeline"),
        # ------------------------------------------------------------ elections and epochs (§9-§12)
        _k("election_scheduled", _E, "candidate replica", "its master",
           "rank delay_ms offset manual",
           "clusterHandleSlaveFailover: delay = 500 + random(0..499) + 1000*rank",
           "{node} (rank {rank}, offset {offset}) will ask for votes in {delay_ms} ms "
           "to replace {target}", "log"),
        _k("election_delayed", _E, "candidate", "master", "rank added_ms",
           "its rank got worse before it asked for votes",
           "{node} waits {added_ms} ms more (rank now {rank})", "log"),
        _k("election_started", _E, "candidate", "master", "epoch quorum manual",
           "currentEpoch bumped, FAILOVER_AUTH_REQUEST broadcast",
           "{node} asks for votes for epoch {epoch} (needs {quorum})", "timeline"),
        _k("election_expired", _E, "candidate", "master", "epoch",
           "the auth timeout max(2*NT, 2 s) passed without a win",
           "{node}'s election for epoch {epoch} expired", "log"),
        _k("vote", _E, "voting master", "candidate", "epoch master",
           "FAILOVER_AUTH_ACK sent (clusterSendFailoverAuthIfNeeded)",
           "{node} votes for {target} (epoch {epoch})", "timeline"),
        _k("vote_denied", _E, "master", "candidate", "epoch reason",
           "why a master did not vote",
           "{node} refuses to vote for {target}: {reason}", "log"),
        _k("promoted", _E, "new master", "old master", "epoch",
           "clusterFailoverReplaceYourMaster: slots taken, configEpoch set, PONG broadcast",
           "{node} is promoted and takes over {target}'s slots (configEpoch {epoch})",
           "timeline", "good"),
        _k("role", _E, "node", "", "role master reason",
           "the node became a master or a replica of master",
           "{node} is now a replica of {master} ({reason})", "timeline"),
        _k("cant_failover", _E, "replica", "master", "reason data_age_ms",
           "the data-age check refused an automatic failover (§11.2)",
           "{node} can't fail over {target}: {reason}", "log"),
        _k("epoch_collision", _E, "node", "other master", "epoch",
           "same configEpoch as another master and the smaller ID: bumped (§9.2)",
           "{node} and {target} share configEpoch {epoch}: {node} bumps", "timeline", "alert"),
        _k("epoch_bumped", _E, "node", "", "epoch",
           "clusterBumpConfigEpochWithoutConsensus (TAKEOVER, SETSLOT NODE)",
           "{node} bumps its configEpoch to {epoch}", "log"),
        _k("update_sent", _E, "sender", "stale node", "about epoch",
           "an UPDATE told a stale node about a newer claim (§10.3)",
           "{node} sends UPDATE to {target}: {about} owns those slots now", "timeline"),
        _k("update_received", _E, "receiver", "subject", "sender epoch",
           "an UPDATE was applied",
           "{node} learns from {sender}'s UPDATE that {target} owns those slots now"),
        _k("failover_requested", _E, "replica", "master", "mode",
           "the replica started a manual failover (§12)",
           "{node} starts a manual failover of {target} ({mode})", "log"),
        _k("mf_paused", _E, "master", "replica", "until",
           "MFSTART: the master pauses writes (up to 10 s)",
           "{node} pauses writes until {until} ms for {target}'s manual failover"),
        _k("mf_ready", _E, "replica", "", "offset",
           "the replica reached the paused master's offset",
           "{node} caught up with its master (offset {offset})", "log"),
        _k("mf_timeout", _E, "node", "", "",
           "the 5 s manual-failover deadline passed",
           "{node}'s manual failover timed out", "log", "alert"),
        _k("migration", _E, "replica", "orphaned master", "previous_master",
           "replica migration (§13)",
           "{node} migrates to orphaned master {target}", "timeline"),
        # ------------------------------------------------------------ membership (§5)
        _k("handshake_done", _M, "node", "peer", "",
           "the first PONG completed a MEET handshake",
           "{node} completes its handshake with {target}"),
        _k("handshake_timeout", _M, "node", "peer", "",
           "a handshake did not complete within max(NT, 1 s)",
           "{node} gives up its handshake with {target}"),
        _k("node_discovered", _M, "node", "new node", "via",
           "gossip named a node it did not know (transitive discovery)",
           "{node} learns about {target} from {via}"),
        _k("sync", _M, "replica", "master", "offset",
           "the replication link (re)connected",
           "{node} syncs with its master {target}", "log"),
        _k("repl_timeout", _M, "replica", "master", "",
           "replicationCron: no data nor PING from the master for repl-timeout seconds",
           "{node} drops its silent master {target} (repl-timeout)", "log"),
        _k("repl_replica_dropped", _M, "master", "replica", "reason bytes",
           "the master frees a replica client: no REPLCONF ACK for repl-timeout seconds "
           "(reason timeout) or over client-output-buffer-limit (output_buffer_limit)",
           "{node} drops its replica {target} ({reason})", "log"),
        _k("rdb_transfer", _M, "master", "replica", "waited_ms transfer_ms",
           "replicationStartPendingFork: the master's RDB child starts a full sync, on the "
           "replicationCron that found the replica waiting repl-diskless-sync-delay whole "
           "seconds (at once with delay 0)",
           "{node} starts sending its dataset to {target}", "log"),
        _k("backlog_freed", _M, "master", "", "ttl_s",
           "replicationCron: a master without replicas for repl-backlog-ttl seconds frees "
           "its backlog and takes a new replication ID, so a returning replica needs a full "
           "sync (§20.1)",
           "{node} frees its replication backlog after {ttl_s} s without replicas", "log"),
        # ------------------------------------------------------------ bus links (§4.1, TCP)
        _k("link_connect", _L, "connecting node", "peer", "",
           "clusterNodeCronHandleReconnect starts a non-blocking connect (node->link)",
           "{node} connects to {target}'s bus port"),
        _k("link_established", _L, "connecting node", "peer", "syn_retries after_refused",
           "the TCP handshake completed; clusterLinkConnectHandler sends its PING",
           "{node}'s bus link to {target} is up (after {syn_retries} SYN retransmissions)"),
        _k("link_freed", _L, "connecting node", "peer", "reason after_refused",
           "freeClusterLink: refused, timeout, reset, closed, ping_timeout, node_removed",
           "{node} frees its bus link to {target} ({reason})"),
        # ------------------------------------------------------------ bus messages (off by default)
        _k("bus_message", _B, "sender", "receiver", "type sent epoch about about_epoch gossip channel",
           "a bus packet reached its receiver's host (only with Simulation.set_bus_trace)",
           "{node} → {target}: {type}", "routine"),
        # ------------------------------------------------------------ data plane
        _k("request", _P, "node that answered", "",
           "client command key slot outcome latency_ms reply asking",
           "one client request attempt and its outcome",
           "{client} sends {command} {key} to {node}: {outcome}", "routine"),
        _k("key_evicted", _P, "node that evicted", "", "key policy used_memory maxmemory",
           "performEvictions deleted a key to get used_memory under maxmemory (§25); only "
           "on nodes with maxmemory set. used_memory is what maxmemory counts: the "
           "replication buffer only up to repl-backlog-size (§25.1)",
           "{node} evicts {key} ({policy}, {used_memory} of {maxmemory} bytes)", "routine"),
        _k("migrate_blocked", _P, "source", "target", "slot cached timeout_ms job",
           "MIGRATE's target is behind a cut: the source blocks (serves nothing) until a "
           "retransmission gets through or the timeout runs out",
           "{node} blocks in MIGRATE: {target} is unreachable", "timeline", "alert"),
        _k("psync", _P, "replica", "master", "mode offset",
           "the replica asked its master for a partial or full resync",
           "{node} asks {target} for a {mode} resync (offset {offset})"),
        _k("full_sync", _P, "replica", "master", "keys offset",
           "a full resync finished: the replica loaded the master's dataset",
           "{node} loads {keys} keys from {target}"),
        _k("loaded", _P, "node", "", "keys expired offset",
           "keys restored from persistence on restart; expired: skipped as past their TTL",
           "{node} loads {keys} keys from disk ({expired} already expired)"),
        _k("keys_deleted", _P, "node", "", "slots keys",
           "delKeysInSlot after losing slots (§10.2)",
           "{node} deletes {keys} keys in {slots} slots it lost"),
        _k("publish", _P, "node", "", "channel message sharded receivers",
           "PUBLISH or SPUBLISH; receivers is the reply (local only)",
           "{node} publishes to {channel} ({receivers} local receivers)"),
        _k("deliver", _P, "node", "client", "channel push message",
           "a push message delivered to a subscriber",
           "{node} delivers a {push} on {channel} to {target}", "routine"),
        _k("key_expired", _P, "node", "", "key how",
           "a master deleted a key whose TTL passed: lazily on access or by the active "
           "expire cycle (§26); only when keys have TTLs",
           "{node} expires {key} ({how})"),
        _k("expire_cycle", _P, "node", "", "cycle sampled expired time_us timelimit",
           "one activeExpireCycle (slow from the cron, fast from beforeSleep) that expired "
           "keys or ran out of time (§26.2)",
           "{node}'s {cycle} expire cycle samples {sampled} keys and expires {expired}"),
        _k("keyspace_event", _P, "node", "", "channel message receivers",
           "a keyspace notification published on this node only (§26.4)",
           "{node} notifies {channel} ({message}) to {receivers} local subscribers"),
        _k("db_query", _P, "", "", "client op key version wait_ms queue latency_ms",
           "the backing database answered a cache-aside client's read or write "
           "(docs/caching.md); only with cache-aside clients",
           "the database answers {client}'s {op} of {key} (version {version})", "routine"),
        _k("stale_read", _P, "node that answered", "", "client key version current stale_ms",
           "a cache-aside read returned an older version than the database's "
           "(docs/caching.md); only with cache-aside clients",
           "{client} reads {key} version {version} from {node}, but the database has "
           "{current}", "log", "alert"),
        _k("local_read", _P, "node whose tracking vouches for the value", "",
           "client key value stale",
           "a GET answered from the client's local cache, no request; stale: the owning "
           "master holds another value now; only with a local_cache",
           "{client} reads {key} from its local cache ({value}; stale: {stale})", "routine"),
        _k("invalidation", _P, "node", "client", "keys why dropped",
           "an invalidation message from a CLIENT TRACKING table reached the client: keys "
           "changed (write, bcast), the table's limit (limit), or null after a flush",
           "{node} invalidates {keys} in {target}'s local cache ({why})", "log"),
        _k("tracking_lost", _P, "node", "client", "how cached",
           "a tracking client learned its connection to the node is gone (closed by the "
           "node's death, or refused); cached: entries that connection vouched for",
           "{target}'s tracking connection to {node} is {how} ({cached} cached keys)", "log"),
        _k("cache_flush", _P, "node (disconnect)", "", "client reason dropped slot",
           "a client emptied part of its local cache: its tracking connection was lost "
           "(disconnect) or a slot moved (moved), per its flush_on",
           "{client} drops {dropped} cached keys ({reason})", "log"),
        _k("reshard_started", _P, "", "target master (reshard)",
           "job source slots moves steps log unfixed",
           "redis-cli --cluster reshard, rebalance or fix started",
           "redis-cli starts a {job}", "log"),
        _k("setslot", _P, "node", "peer", "slot arg reply by",
           "CLUSTER SETSLOT (or ADDSLOTS/DELSLOTS) on a node",
           "{node}: CLUSTER SETSLOT {slot} {arg} -> {reply}"),
        _k("migrate", _P, "source", "target", "slot keys job",
           "one MIGRATE batch of a slot's keys",
           "{node} migrates {keys} keys of slot {slot} to {target}", "routine"),
        _k("slot_moved", _P, "source", "target", "slot job",
           "a slot's move finished (SETSLOT NODE)",
           "slot {slot} moved from {node} to {target}", "log"),
        _k("reshard_done", _P, "", "", "job ok slots_moved keys_moved error",
           "redis-cli --cluster reshard, rebalance or fix ended",
           "redis-cli's {job} ends: {slots_moved} slots, {keys_moved} keys moved", "log"),
    )
}  # fmt: skip


def kind(name: str) -> TraceKind:
    """The registered kind ``name`` (KeyError names it when unknown)."""
    return KINDS[name]


def kinds_where(tier: Tier, *more: Tier) -> frozenset[str]:
    """The names of every kind in the given tiers."""
    tiers = {tier, *more}
    return frozenset(name for name, k in KINDS.items() if k.tier in tiers)


NOTABLE = kinds_where("timeline")
"""On the headless timeline (``pfail`` and ``fail``: first per target)."""

LOGGED = kinds_where("timeline", "log")
"""Shown in the TUI's event log."""

ROUTINE = kinds_where("routine")
"""Routine traffic, never a "notable" stop."""
