"""The data plane's pure algorithms: redis-cli planners, request routing, pub/sub,
the write ledger and the persistence model.

Each module works on plain values or a small Protocol, never on the cluster bus, so
the bus can be wired to them later (see docs/data-plane.md).
"""
