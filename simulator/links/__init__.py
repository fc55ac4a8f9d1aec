"""Cluster-bus links as Linux TCP connections (issue 11 §1): see :mod:`simulator.links.net`."""

from simulator.links.link import Link
from simulator.links.linux import (
    CLOSED,
    CONNECTING,
    CRASHED,
    ESTABLISHED,
    LINUX,
    PAUSED,
    RUNNING,
    LinuxTcp,
)
from simulator.links.net import LinkHandler, TcpNet

__all__ = [
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
