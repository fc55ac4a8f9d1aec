"""``clusterCron`` every 100 ms (§6), and ``clusterBeforeSleep``.

The cron drives everything that happens without a packet: reconnecting links,
the random ping, PFAIL, the replication link, manual-failover timeouts, elections
and replica migration.
"""

from __future__ import annotations

from math import floor

from simulator.messages import FAIL, HANDSHAKE, MASTER, NOADDR, PFAIL, SLAVE
from simulator.native import mypyc_attr
from simulator.node.constants import CALIBRATION_CRON_OVERHEAD_MS, CRON_PERIOD_MS, RUNNING
from simulator.node.cron_deadlines import CronDeadlines
from simulator.node.peer import PeerView


@mypyc_attr(allow_interpreted_subclasses=True)
class Cron(CronDeadlines):
    """The node's timer and its event-loop hooks."""

    def start(self) -> None:
        """Schedule my 100 ms cron at my own phase."""
        now = self.engine.now
        nxt = now - (now % CRON_PERIOD_MS) + self.phase
        if nxt <= now:
            nxt += CRON_PERIOD_MS
        self._cron_full = True  # a new process: its first tick scans every peer
        self.cron_due = float(nxt)
        self.cron_timer = self.engine.schedule_at(nxt, self.cron)

    def started_earlier(self) -> None:
        """This process was started on its own, some time before the run (§6.2).

        ``clusterCron`` counts its runs in a ``static iteration`` from the process start and
        sends the random ping when it is a multiple of 10 (§6 step 2). Processes started
        independently (the real converged set-up: a random 0-1 s apart) are at unrelated
        ticks of that 10-tick cycle, so their random pings fall in different tenths of the
        second; started all at the same moment they would share one. Drawn from its own
        stream, so every other draw is unchanged.
        """
        self.iteration = self.engine.rng(f"start:{self.name}").randrange(10)

    def stop_timers(self) -> None:
        self.engine.cancel(self.cron_timer)
        self.cron_timer = None

    def cron(self) -> None:
        """``clusterCron``, every 100 ms (§6).

        Steps 1 and 3 run Redis's per-node code on the peers whose deadline has come
        (:mod:`simulator.node.cron_deadlines`), in node-table order; the others have
        nothing to do this tick, so the outcome is that of the full scan."""
        engine = self.engine
        now = engine.now
        # The next run is 100 ms after this one ends, woken up to 1 ms late (§6.1): a
        # period a little over 100 ms, which decides on which tick "older than NT/2" and
        # "pending for more than NT" first hold. An overdue run (after SIGCONT) counts
        # from now, as ``te->when = now + 100 ms`` does.
        tick = max(self.cron_due, now)
        self.cron_due = (
            tick + CRON_PERIOD_MS + CALIBRATION_CRON_OVERHEAD_MS + self.cron_rng.random()
        )
        self.cron_timer = engine.schedule_at(int(self.cron_due), self.cron)
        nt = self.config.node_timeout
        self.iteration += 1
        update_state = False
        me = self.me
        peers = self._peer_list
        due = self._due_peers(now, nt)

        # Step 1: links, handshake expiry, PFAIL count.
        expired: list[PeerView] = []
        for peer in due:
            flags = peer.flags
            if peer is me or flags & NOADDR:
                continue
            if flags & HANDSHAKE and now - peer.ctime > max(nt, 1000):
                expired.append(peer)
                continue
            if not peer.link:
                self._connect(peer, now)
        self.stats_pfail_nodes = self._count_pfail() if self._pfail_watch else 0
        for peer in expired:
            self.remove_peer(peer.name)
            self._emit("handshake_timeout", peer.name)
        if expired:
            due = [peer for peer in due if peer not in expired]

        # Step 2: a random ping once a second, to the oldest pong of 5 random samples.
        if self.iteration % 10 == 0:
            oldest: PeerView | None = None
            random = self.rng.random
            total = len(peers)
            for _ in range(5):
                peer = peers[floor(random() * total)]  # = int(...): BusOutput._gossip
                if not peer.link or peer.ping_sent != 0 or peer is me or peer.flags & HANDSHAKE:
                    continue
                if oldest is None or peer.pong_received < oldest.pong_received:
                    oldest = peer
            if oldest is not None:
                self.send_ping(oldest)

        # Step 3: per-node checks (orphaned masters: see _replica_counts).
        i_am_replica = bool(me.flags & SLAVE)
        half = nt // 2
        mf_slave = self.mf.slave if (self.mf.end and me.flags & MASTER) else None
        for peer in due:
            flags = peer.flags
            if peer is me or flags & (NOADDR | HANDSHAKE):
                continue
            ping_sent = peer.ping_sent
            if peer.link:
                # Link refresh: a link that is not answering is freed and reconnected.
                if (
                    ping_sent
                    and now - peer.link_ctime > nt
                    and now - ping_sent > half
                    and now - peer.data_received > half
                ):
                    self._free_link(peer, "ping_timeout")  # reconnected on the next tick
                elif (ping_sent == 0 and now - peer.pong_received > half) or mf_slave == peer.name:
                    self.send_ping(peer)
                    continue
            if ping_sent == 0:
                continue
            delay = min(now - ping_sent, now - peer.data_received)
            if delay > nt and not flags & (PFAIL | FAIL):
                self._mark_pfail(peer)
                update_state = True
                self._emit("pfail", peer.name, delay_ms=delay)
        if due:
            self._refile(due)
        orphaned_masters = max_slaves = this_slaves = 0
        if i_am_replica and self._orphaned_masters():
            orphaned_masters, max_slaves, this_slaves = self._replica_counts()

        # Step 4: a replica's replicationCron (once a second) reconnects a link that is down.
        if i_am_replica:
            self.host.replication_cron(self)

        # Steps 5-6: manual failover timeout, failover, replica migration.
        if self.mf.end:
            self._manual_failover_check_timeout(now)
        if i_am_replica:
            if self.mf.end:  # else clusterHandleManualFailover returns at once
                self._handle_manual_failover()
            self._handle_slave_failover()
            if (
                orphaned_masters
                and max_slaves >= 2
                and this_slaves == max_slaves
                and self.config.get("cluster-allow-replica-migration")
            ):
                self._handle_slave_migration(max_slaves)
        else:
            # replicationCron: PING replicas every repl-ping-replica-period (§20.1).
            self.host.replication_cron(self)

        if update_state or self.state == "fail":
            self.update_state()
        if self._todo_failover or self._todo_state:
            self._before_sleep()
        if self.pass_watch:
            self.host.on_event_loop_pass(self)  # handleBlockedClientsTimeout (§20.3)

    def _connect(self, peer: PeerView, now: int) -> None:
        """Open my outbound link to ``peer`` (``clusterNodeCronHandleReconnect``).

        The connect is non-blocking: the link exists at once and queues what I send on
        it; the PING (or MEET) goes out when the handshake completes
        (:meth:`~simulator.node.links.LinkEvents.on_established`). A connect to a crashed
        process fails a round trip later (RST), so the link lives for the rest of this
        cron tick and a periodic ping may still be queued on it, which is what lets
        failure detection run; across a partition the SYN is retransmitted until the
        heal, or until the link refresh below frees the link.
        """
        self.links[peer.name] = self.host.connect(self.name, peer.name)
        peer.link = True
        peer.link_ctime = now

    def _free_link(self, peer: PeerView, reason: str) -> None:
        """``freeClusterLink(node->link)``: what the link held is lost."""
        peer.link = False
        self._cron_watch(peer)
        link = self.links.pop(peer.name, None)
        if link is not None:
            link.close(reason)

    def _before_sleep(self) -> None:
        """``clusterBeforeSleep``: work flagged so far runs now; work it flags waits for the next wake."""
        todo_failover, todo_state = self._todo_failover, self._todo_state
        self._todo_failover = self._todo_state = False
        if todo_failover and self.me.flags & SLAVE:
            self._handle_slave_failover()
            if self._todo_failover and self.mf.end and self.me.flags & SLAVE:
                self._manual_election_next_pass()  # §12.1
        if todo_state:
            self.update_state()

    def _manual_election_next_pass(self) -> None:
        """A manual failover's election was just scheduled for now
        (``clusterHandleSlaveFailover`` flags ``CLUSTER_TODO_HANDLE_FAILOVER`` and
        returns): it starts in the next pass's ``clusterBeforeSleep``, which comes at
        once because something waits to be written, the PONG answering the paused
        master's PING (§12.1). That PONG goes out first, so on the link to the old master
        the AUTH_REQUEST finds it unacknowledged and Nagle holds it for the old master's
        delayed ACK (§4.5). The flag stays set: an earlier pass (a poll, a packet)
        starts it as well."""
        self.engine.schedule_at(self.engine.now, self._manual_election_pass)

    def _manual_election_pass(self) -> None:
        """That next pass; a process stopped meanwhile runs it when it is woken again."""
        if self.status == RUNNING and self._todo_failover:
            self._before_sleep()

    def wake(self) -> None:
        """One event-loop iteration without a bus packet (a client command, a poll)."""
        if self._todo_failover or self._todo_state:
            self._before_sleep()
