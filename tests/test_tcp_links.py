"""Bus links as Linux TCP connections (simulator/links/): each test is named after a rule."""

from __future__ import annotations

import copy

import pytest

from simulator.engine import Engine
from simulator.links import (
    CLOSED,
    CONNECTING,
    CRASHED,
    ESTABLISHED,
    LINUX,
    PAUSED,
    RUNNING,
    Link,
    LinuxTcp,
    TcpNet,
)
from simulator.network import Network


class Host:
    """A process on the bus: records what its sockets tell it; can answer on connect."""

    def __init__(self, world: World, name: str) -> None:
        self.world = world
        self.name = name
        self.log: list[tuple[int, str, str, object]] = []
        self.inbound: list[Link] = []
        self.greeting: str | None = None  # sent by on_established, as Redis sends its PING

    def _note(self, what: str, link: Link, arg: object = None) -> None:
        self.log.append((self.world.engine.now, what, link.remote, arg))

    def on_established(self, link: Link) -> None:
        self._note("established", link)
        if self.greeting is not None:
            link.send(self.greeting, 100)

    def on_refused(self, link: Link) -> None:
        self._note("refused", link)

    def on_failed(self, link: Link) -> None:
        self._note("failed", link)

    def on_accepted(self, link: Link) -> None:
        self._note("accepted", link)
        self.inbound.append(link)

    def on_message(self, link: Link, message: object) -> None:
        self._note("message", link, message)

    def on_error(self, link: Link, reason: str) -> None:
        self._note("error", link, reason)

    def messages(self) -> list[tuple[int, object]]:
        return [(t, arg) for t, what, _, arg in self.log if what == "message"]


class World:
    """The real engine and network, plus the process states the oracle reports."""

    def __init__(
        self,
        seed: int = 1,
        latency: tuple[float, float] = (0.0, 0.0),
        params: LinuxTcp = LINUX,
    ) -> None:
        self.engine = Engine(seed)
        self.network = Network(self.engine.rng("network"))
        self.network.latency_ms = latency
        self.states: dict[str, str] = {}
        self.trace: list[tuple[int, str, str, str, dict[str, object]]] = []
        self.syn_probes: list[int] = []  # times a→b was asked while cut (SYN transmissions)
        self.forced_losses = 0  # the next N latency draws lose their packet
        self.net = TcpNet(self.engine, self.reachable, self.state, self.latency, self.emit, params)
        self.hosts = {name: Host(self, name) for name in ("a", "b", "c")}
        for name, host in self.hosts.items():
            self.net.attach(name, host)

    def reachable(self, src: str, dst: str) -> bool:
        ok = self.network.reachable(src, dst)
        if not ok and (src, dst) == ("a", "b"):
            self.syn_probes.append(self.engine.now)
        return ok

    def state(self, host: str) -> str:
        return self.states.get(host, RUNNING)

    def latency(self, src: str, dst: str) -> int | None:
        if self.forced_losses:
            self.forced_losses -= 1
            return None
        return self.network.delay(src, dst, self.engine.now)

    def emit(self, kind: str, node: str, target: str, **fields: object) -> None:
        self.trace.append((self.engine.now, kind, node, target, fields))

    def at(self, t: int) -> None:
        self.engine.run_until(t)

    def established(self, src: str = "a", dst: str = "b") -> Link:
        link = self.net.connect(src, dst)
        self.engine.run_until(self._is_up, 200_000)
        assert link.state == ESTABLISHED
        return link

    def _is_up(self) -> bool:
        links = [link for host in self.hosts for link in self.net.links(host)]
        return all(link.state != CONNECTING for link in links)


def _cut(world: World) -> None:
    world.network.partition([["a"], ["b", "c"]])


# --------------------------------------------------------------------------- Linux constants


def test_linux_give_up_times_follow_tcp_model_timeout() -> None:
    linux = LinuxTcp()
    assert linux.give_up_after_ms(linux.syn_retries, linux.syn_rto_ms) == 127_000
    assert linux.give_up_after_ms(linux.retries2, linux.rto_min_ms) == 924_600
    assert not linux.syn_expired(9, 67_000) and linux.syn_expired(10, 131_000)
    classic = LinuxTcp(syn_linear_timeouts=0)
    assert not classic.syn_expired(5, 63_000) and classic.syn_expired(6, 127_000)


# --------------------------------------------------------------------------- connect


def test_connect_to_crashed_process_is_refused_at_once() -> None:
    world = World()
    world.states["b"] = CRASHED
    link = world.net.connect("a", "b")
    world.at(5)
    assert world.hosts["a"].log == [(0, "refused", "b", None)]
    assert link.state == CLOSED
    assert [(t, kind, fields) for t, kind, _, _, fields in world.trace] == [
        (0, "link_connect", {}),
        (0, "link_freed", {"reason": "refused"}),
    ]


def test_syn_retransmissions_follow_linux_backoff() -> None:
    """Linux >= 6.5: five retransmissions 1 s apart (``tcp_syn_linear_timeouts`` 4), then
    doubling; 6 + 4 retransmissions, ETIMEDOUT when the 11th RTO expires (131 s)."""
    world = World()
    _cut(world)
    link = world.net.connect("a", "b")
    world.at(200_000)
    assert world.syn_probes == [
        0,
        1000,
        2000,
        3000,
        4000,
        5000,
        7000,
        11_000,
        19_000,
        35_000,
        67_000,
    ]
    assert world.hosts["a"].log == [(131_000, "failed", "b", None)]
    assert link.syn_retries == 10 and link.state == CLOSED
    assert world.trace[-1] == (131_000, "link_freed", "a", "b", {"reason": "timeout"})


def test_syn_retransmissions_double_from_the_start_on_older_kernels() -> None:
    world = World(params=LinuxTcp(syn_linear_timeouts=0))
    _cut(world)
    world.net.connect("a", "b")
    world.at(200_000)
    assert world.syn_probes == [0, 1000, 3000, 7000, 15_000, 31_000, 63_000]
    assert world.hosts["a"].log == [(127_000, "failed", "b", None)]


@pytest.mark.parametrize(
    ("heal_at", "established_at", "retries"),
    [
        (500, 1000, 1),
        (999, 1000, 1),
        (1001, 2000, 2),
        (5500, 7000, 6),
        (12_000, 19_000, 8),
        (67_001, None, 10),
    ],
)
def test_connect_completes_at_first_syn_retransmission_after_heal(
    heal_at: int, established_at: int | None, retries: int
) -> None:
    world = World()
    _cut(world)
    link = world.net.connect("a", "b")
    world.engine.schedule(heal_at, world.network.heal)
    world.at(200_000)
    if established_at is None:  # healed after the last retry: ETIMEDOUT all the same
        assert world.hosts["a"].log == [(131_000, "failed", "b", None)]
        return
    assert world.hosts["a"].log == [(established_at, "established", "b", None)]
    assert world.hosts["b"].log == [(established_at, "accepted", "a", None)]
    assert (established_at, "link_established", "a", "b", {"syn_retries": retries}) in world.trace
    assert link.state == ESTABLISHED


def test_connect_needs_the_answer_to_come_back() -> None:
    """A one-way cut b→a lets the SYN in but drops the SYN-ACK: the connect keeps waiting."""
    world = World()
    world.network.cut(["b"], ["a"])
    world.net.connect("a", "b")
    world.engine.schedule(1500, world.network.heal)
    world.at(10_000)
    assert world.hosts["a"].log == [(2000, "established", "b", None)]


def test_crashed_process_behind_a_cut_is_refused_at_the_retransmission_after_heal() -> None:
    world = World()
    _cut(world)
    world.states["b"] = CRASHED
    world.net.connect("a", "b")
    world.engine.schedule(1500, world.network.heal)
    world.at(10_000)
    assert world.hosts["a"].log == [(2000, "refused", "b", None)]


def test_messages_written_while_connecting_go_out_before_the_connect_handlers_ping() -> None:
    world = World()
    _cut(world)
    world.hosts["a"].greeting = "PING"
    link = world.net.connect("a", "b")
    link.send("FAIL about c", 200)
    assert link.queued_bytes == 200 and link.socket_bytes == 0 and link.send_queue_bytes == 200
    world.engine.schedule(500, world.network.heal)
    world.at(2000)
    assert world.hosts["b"].messages() == [(1000, "FAIL about c"), (1000, "PING")]


def test_paused_peer_completes_the_handshake_and_accepts_on_resume() -> None:
    world = World()
    world.states["b"] = PAUSED
    link = world.net.connect("a", "b")
    world.at(10)
    link.send("PING", 100)
    world.at(5000)
    assert world.hosts["a"].log == [(0, "established", "b", None)]
    assert world.hosts["b"].log == []
    world.states["b"] = RUNNING
    world.net.host_resumed("b")
    assert world.hosts["b"].log == [(5000, "accepted", "a", None), (5000, "message", "a", "PING")]


# --------------------------------------------------------------------------- established links


def test_bytes_sent_across_a_cut_arrive_in_order_at_next_retransmission_after_heal() -> None:
    world = World()
    link = world.established()
    world.at(1000)
    _cut(world)
    for t, message in ((1000, "m1"), (1100, "m2"), (2000, "m3")):
        world.at(t)
        link.send(message, 2000)
    world.engine.schedule(1500, world.network.heal)  # at 2500
    world.at(3000)
    link.send("m4", 2000)  # after the heal, behind the stalled ones (head of line)
    world.at(10_000)
    # RTO 200 ms, doubling: retransmissions at 1200, 1600, 2400, 4000.
    assert world.hosts["b"].messages() == [(4000, "m1"), (4000, "m2"), (4000, "m3"), (4000, "m4")]
    assert link.queued_bytes == 0


def test_backoff_resets_once_the_bytes_get_through() -> None:
    world = World()
    link = world.established()
    world.forced_losses = 1
    link.send("m1", 100)
    world.at(1000)
    world.forced_losses = 1
    link.send("m2", 100)
    world.at(2000)
    assert world.hosts["b"].messages() == [(200, "m1"), (1200, "m2")]


def test_loss_delays_message_and_those_behind_it() -> None:
    world = World()
    link = world.established()
    world.forced_losses = 1
    link.send("lost once", 100)
    world.at(50)
    link.send("behind it", 100)
    world.at(1000)
    other = world.established("c", "b")
    other.send("other link", 100)
    world.at(2000)
    assert world.hosts["b"].messages() == [
        (200, "lost once"),
        (200, "behind it"),
        (1000, "other link"),
    ]


def test_loss_never_drops_a_message() -> None:
    world = World(seed=7)
    world.network.loss = 0.3
    link = world.net.connect("a", "b")
    sent: list[int] = []
    for i in range(200):
        world.at(world.engine.now + 10)
        if link.state == ESTABLISHED:
            link.send(i, 100)
            sent.append(i)
    world.at(600_000)
    assert [m for _, m in world.hosts["b"].messages()] == sent
    assert len(sent) > 150 and link.queued_bytes == 0


def test_retransmissions_give_up_after_tcp_retries2() -> None:
    world = World()
    link = world.established()
    _cut(world)
    link.send("m1", 100)
    world.at(1_000_000)
    assert world.hosts["a"].log[-1] == (924_600, "error", "b", "timeout")
    assert world.trace[-1][1:] == ("link_freed", "a", "b", {"reason": "timeout"})


def test_kernel_holds_one_send_buffer_redis_queues_the_rest() -> None:
    world = World()
    link = world.established()
    _cut(world)
    for _ in range(10):
        link.send("PING", 4000)
    assert link.socket_bytes == 16_384
    assert link.send_queue_bytes == 40_000 - 16_384


def test_cut_while_on_the_wire_is_retransmitted_not_lost() -> None:
    world = World(latency=(50.0, 50.0))
    link = world.established()
    world.at(1000)
    link.send("m1", 100)
    world.engine.schedule(10, _cut, world)
    world.engine.schedule(100, world.network.heal)
    world.at(5000)
    assert [m for _, m in world.hosts["b"].messages()] == ["m1"]
    assert world.hosts["b"].messages()[0][0] > 1100


def test_freed_link_loses_what_it_held() -> None:
    world = World()
    link = world.established()
    _cut(world)
    link.send("m1", 100)
    link.send("m2", 100)
    world.at(3000)
    link.close("ping_timeout")  # clusterCron's link refresh
    assert link.state == CLOSED and link.queued_bytes == 0
    world.network.heal()
    world.at(10_000)
    assert world.hosts["b"].messages() == []
    assert world.trace[-1] == (3000, "link_freed", "a", "b", {"reason": "ping_timeout"})
    # b never saw the FIN (cut): its inbound end learns at its next write, by RST.
    world.hosts["b"].inbound[0].send("PONG", 100)
    world.at(10_001)
    assert world.hosts["b"].log[-1] == (10_000, "error", "a", "reset")
    assert world.hosts["a"].messages() == []


def test_closing_a_reachable_link_tells_the_peer_at_once() -> None:
    world = World()
    link = world.established()
    link.close("node_removed")
    world.at(5)
    assert world.hosts["b"].log[-1] == (0, "error", "a", "closed")


def test_peer_crash_is_seen_at_once_when_reachable() -> None:
    world = World()
    world.established()
    world.states["b"] = CRASHED
    world.net.host_crashed("b")
    world.at(5)
    assert world.hosts["a"].log[-1] == (0, "error", "b", "closed")
    assert world.trace[-1] == (0, "link_freed", "a", "b", {"reason": "closed"})


def test_peer_crash_behind_a_cut_is_a_reset_at_the_next_send_after_heal() -> None:
    world = World()
    link = world.established()
    _cut(world)
    world.states["b"] = CRASHED
    world.net.host_crashed("b")
    world.at(1000)
    assert world.hosts["a"].log == [(0, "established", "b", None)]
    link.send("PING", 100)
    world.engine.schedule(500, world.network.heal)
    world.at(5000)
    assert world.hosts["a"].log[-1] == (1600, "error", "b", "reset")


def test_paused_peer_buffers_until_resume() -> None:
    world = World()
    link = world.established()
    world.states["b"] = PAUSED
    for t, message in ((100, "m1"), (200, "m2")):
        world.at(t)
        link.send(message, 100)
    world.at(5000)
    assert world.hosts["b"].messages() == []
    assert link.queued_bytes == 0  # the paused peer's kernel ACKed them
    world.states["b"] = RUNNING
    world.net.host_resumed("b")
    assert world.hosts["b"].messages() == [(5000, "m1"), (5000, "m2")]


def test_paused_host_sees_its_link_errors_after_the_input_before_them() -> None:
    world = World()
    inbound_at_a = world.established("b", "a")
    world.hosts["b"].greeting = None
    out = world.established("a", "b")
    world.states["a"] = PAUSED
    out.send("PING", 100)  # written just before the stop
    inbound_at_a.send("MEET?", 100)
    world.at(10)
    world.net.host_crashed("b")
    world.states["b"] = CRASHED
    world.at(20)
    world.states["a"] = RUNNING
    world.net.host_resumed("a")
    tail = [(what, remote, arg) for _, what, remote, arg in world.hosts["a"].log[-3:]]
    assert tail == [("message", "b", "MEET?"), ("error", "b", "closed"), ("error", "b", "closed")]


# --------------------------------------------------------------------------- determinism


def _lossy_run(world: World, until: int) -> None:
    world.network.loss = 0.2
    link = world.net.connect("a", "b")
    back = world.net.connect("b", "a")
    for i in range(100):
        world.at(world.engine.now + 37)
        if i == 30:
            _cut(world)
        if i == 60:
            world.network.heal()
        for one in (link, back):
            if one.state == ESTABLISHED:
                one.send(i, 300)
    world.at(until)


def test_same_seed_same_links() -> None:
    first, second = World(seed=3), World(seed=3)
    _lossy_run(first, 60_000)
    _lossy_run(second, 60_000)
    assert first.hosts["b"].log == second.hosts["b"].log
    assert first.trace == second.trace


def test_a_deep_copy_replays_identically() -> None:
    world = World(seed=5)
    world.network.loss = 0.2
    link = world.established()
    _cut(world)
    for i in range(5):
        link.send(i, 100)
    world.engine.schedule(700, world.network.heal)
    twin = copy.deepcopy(world)
    world.at(5000)
    twin.at(5000)
    assert world.hosts["b"].log == twin.hosts["b"].log
    assert [m for _, m in twin.hosts["b"].messages()] == [0, 1, 2, 3, 4]


# --------------------------------------------------------------------------- keepalive


def test_keepalive_times_out_a_silent_link_after_idle_and_three_probes() -> None:
    """``clusterAcceptHandler`` sets keepalive 2·NT s (NT 5 s: idle 10 s, probes every 3 s)."""
    world = World()
    world.established()
    inbound = world.hosts["b"].inbound[0]
    inbound.keepalive(10)
    _cut(world)
    world.at(60_000)
    assert world.hosts["b"].log[-1] == (19_000, "error", "a", "timeout")
    assert inbound.state == CLOSED


def test_keepalive_is_answered_by_a_paused_peers_kernel() -> None:
    world = World()
    world.established()
    world.hosts["b"].inbound[0].keepalive(10)
    world.states["a"] = PAUSED
    world.at(100_000)
    assert world.hosts["b"].log == [(0, "accepted", "a", None)]


def test_keepalive_finds_a_peer_that_crashed_behind_a_cut() -> None:
    world = World()
    world.established()
    world.hosts["b"].inbound[0].keepalive(10)
    _cut(world)
    world.states["a"] = CRASHED
    world.net.host_crashed("a")  # its FIN is lost in the cut
    world.engine.schedule(12_000, world.network.heal)
    world.at(60_000)
    assert world.hosts["b"].log[-1] == (13_000, "error", "a", "reset")


def test_traffic_keeps_keepalive_quiet() -> None:
    world = World()
    link = world.established()
    world.hosts["b"].inbound[0].keepalive(10)
    for t in range(0, 60_000, 5000):
        world.at(t)
        link.send("PING", 100)
    world.at(60_000)
    assert [what for _, what, _, _ in world.hosts["b"].log].count("error") == 0


# --------------------------------------------------------------------------- other ports


def test_a_port_nobody_listens_on_refuses() -> None:
    world = World()
    world.net.connect("a", "b", service="replication", handler=world.hosts["a"])
    world.at(5)
    assert world.hosts["a"].log == [(0, "refused", "b", None)]


def test_links_to_another_port_have_their_own_handler_and_no_bus_trace() -> None:
    world = World()
    replication = Host(world, "b")
    world.net.attach("b", replication, service="replication")
    link = world.net.connect("a", "b", service="replication", handler=world.hosts["a"])
    world.at(1)
    link.send("PSYNC", 100)
    world.at(2)
    assert replication.log == [(0, "accepted", "a", None), (1, "message", "a", "PSYNC")]
    assert world.hosts["b"].log == []
    assert world.trace == []


def test_a_preconnected_link_is_up_at_once_without_trace_or_callbacks() -> None:
    """For the converged start state: links exist before the first event."""
    world = World()
    link = world.net.preconnected("a", "b")
    assert link.state == ESTABLISHED and world.trace == [] and world.hosts["b"].log == []
    link.send("PING", 100)
    world.at(1)
    assert world.hosts["b"].messages() == [(0, "PING")]
    assert [end.remote for end in world.net.links("b")] == ["a"]


# --------------------------------------------------------------------------- the trace


def test_connects_refused_again_and_again_are_traced_once() -> None:
    """A dead peer is reconnected every cron tick; the trace shows the first refusal and
    then the outcome that ends the run, with how many refusals it ended."""
    world = World()
    world.states["b"] = CRASHED
    for t in (0, 100, 200):
        world.at(t)
        world.net.connect("a", "b")
    world.at(300)
    world.states["b"] = RUNNING
    world.net.connect("a", "b")
    world.at(400)
    assert [(t, kind, fields) for t, kind, _, _, fields in world.trace] == [
        (0, "link_connect", {}),
        (0, "link_freed", {"reason": "refused"}),
        (300, "link_established", {"syn_retries": 0, "after_refused": 3}),
    ]
    assert [what for _, what, _, _ in world.hosts["a"].log] == ["refused"] * 3 + ["established"]


def test_a_restarted_process_traces_its_first_connects_again() -> None:
    world = World()
    world.states["b"] = CRASHED
    world.net.connect("a", "b")
    world.at(100)
    world.states["a"] = CRASHED
    world.net.host_crashed("a")
    world.states["a"] = RUNNING
    world.net.connect("a", "b")
    world.at(200)
    kinds = [(t, kind) for t, kind, _, _, _ in world.trace]
    assert kinds == [
        (0, "link_connect"),
        (0, "link_freed"),
        (100, "link_connect"),
        (100, "link_freed"),
    ]
