"""Cluster-bus links as Linux TCP connections (issue 11 §1): see :mod:`simulator.links.net`."""

from simulator.links.link import Link, LinkHandler
from simulator.links.linux import (
    BUS,
    CLOSED,
    CONNECTING,
    CRASHED,
    ESTABLISHED,
    LINUX,
    PAUSED,
    RUNNING,
    LinuxTcp,
)
from simulator.links.net import TcpNet

__all__ = [
    "BUS",
    "CLOSED",
    "CONNECTING",
    "CRASHED",
    "ESTABLISHED",
    "LINUX",
    "PAUSED",
    "RUNNING",
    "Link",
    "LinkHandler",
    "LinuxTcp",
    "TcpNet",
]
