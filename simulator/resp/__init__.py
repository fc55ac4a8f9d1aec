"""RESP for real clients, without sockets or clocks: the protocol, the command table, and
the few model names the socket front (``rcsim/resp_server.py``) needs, so the front
reaches the model only through this package and ``Simulation`` (tests/test_layers.py)."""

from simulator.dataplane.pubsub import stringmatchlen
from simulator.node import PAUSED, RUNNING

__all__ = ["PAUSED", "RUNNING", "stringmatchlen"]
