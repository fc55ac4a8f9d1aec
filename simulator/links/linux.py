"""What the link model takes from Linux: its TCP constants, and the words it speaks in.

The constants are the kernel's defaults (``include/net/tcp.h``, ``ip-sysctl.rst``) on
the machine the real-Redis data was measured on; :class:`LinuxTcp` takes others for an
experiment (a host with ``tcp_syn_retries`` lowered, say).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from simulator.native import mypyc_attr

# A process, as the kernel of its host treats it.
RUNNING: Final = "running"
PAUSED: Final = "paused"  # SIGSTOP: the kernel completes handshakes and buffers, nothing answers
CRASHED: Final = "crashed"  # no process: the port is closed, the kernel answers RST

# The port a connection goes to: the cluster bus (port + 10000), or another one.
BUS: Final = "bus"

# A socket.
CONNECTING: Final = "connecting"
ESTABLISHED: Final = "established"
CLOSED: Final = "closed"

Reachable = Callable[[str, str], bool]  # a packet from src reaches dst now
ProcessState = Callable[[str], str]  # RUNNING, PAUSED or CRASHED
Latency = Callable[[str, str], int | None]  # one packet's delay, None when it is lost
Emit = Callable[..., Any]  # emit(kind, node, target, **fields)


@mypyc_attr(native_class=False)  # a frozen dataclass: copies as in pure Python
@dataclass(frozen=True)
class LinuxTcp:
    """The Linux constants the model follows."""

    syn_retries: int = 6  # net.ipv4.tcp_syn_retries
    syn_rto_ms: int = 1000  # TCP_TIMEOUT_INIT: first SYN retransmission after 1 s
    # net.ipv4.tcp_syn_linear_timeouts (Linux >= 6.5, "tcp: make the first N SYN RTO
    # backoffs linear"): the SYN RTO stays 1 s for this many more retransmissions, and
    # as many retransmissions are added: SYNs at 0, 1, 2, 3, 4, 5, 7, 11, 19, 35, 67 s,
    # ETIMEDOUT at 131 s. 0 is the older kernels' 0, 1, 3, 7, 15, 31, 63 s, 127 s.
    syn_linear_timeouts: int = 4
    rto_min_ms: int = 200  # TCP_RTO_MIN
    rto_max_ms: int = 120_000  # TCP_RTO_MAX
    retries2: int = 15  # net.ipv4.tcp_retries2
    sndbuf_bytes: int = 16_384  # net.ipv4.tcp_wmem[1], the default send buffer
    keepalive_probes: int = 3  # anetKeepAlive sets TCP_KEEPCNT to 3
    # Delayed ACKs (include/net/tcp.h): a receiver in "pingpong" (interactive) mode holds
    # its ACK up to TCP_DELACK_MIN, HZ/25 = 40 ms, hoping to send it with data; it enters
    # that mode when it sends data within TCP_ATO_MIN (also HZ/25) of receiving, and
    # leaves it when the timer fires (tcp_delack_timer_handler).
    delack_ms: int = 40  # TCP_DELACK_MIN
    ato_min_ms: int = 40  # TCP_ATO_MIN

    def syn_expired(self, retransmits: int, elapsed_ms: int) -> bool:
        """``tcp_write_timeout`` for a connect: out of retransmissions, or out of time."""
        if retransmits >= self.syn_retries + self.syn_linear_timeouts:
            return True
        return retransmits > 0 and elapsed_ms >= self.give_up_after_ms(
            self.syn_retries, self.syn_rto_ms
        )

    def give_up_after_ms(self, retries: int, rto_base_ms: int) -> int:
        """``tcp_model_timeout``: how long retransmissions last before ETIMEDOUT.

        Exponential from ``rto_base_ms`` up to ``TCP_RTO_MAX``, linear after it: 127 s
        for a connect (6 SYN retries from 1 s), 924.6 s for data (15 retries from 200 ms).
        A connect's clock starts at its first SYN, data's at the first transmission of
        the oldest unacknowledged byte (``retrans_stamp``).
        """
        thresh = (self.rto_max_ms // rto_base_ms).bit_length() - 1  # ilog2
        if retries <= thresh:
            return ((2 << retries) - 1) * rto_base_ms
        return ((2 << thresh) - 1) * rto_base_ms + (retries - thresh) * self.rto_max_ms


LINUX = LinuxTcp()
