"""A reshard of named slots sends redis-cli's per-slot commands, in redis-cli's order,
and stops at the first error with the slot left open (a recording fake, no server)."""

from __future__ import annotations

from rcsim.verify.resp import RespError
from rcsim.verify.slotmove import Endpoint, move_slots

SRC = Endpoint("127.0.0.20", 7100, "src-id")
DST = Endpoint("127.0.0.21", 7101, "dst-id")
OTHER = Endpoint("127.0.0.22", 7102, "other-id")


class Fake:
    def __init__(self, keys: list[list[str]], fail_on: str | None = None) -> None:
        self.keys = keys
        self.fail_on = fail_on
        self.sent: list[tuple[int, tuple[object, ...]]] = []

    def __call__(self, endpoint: Endpoint, *args: object) -> object:
        self.sent.append((endpoint.port, args))
        if args[0] == self.fail_on:
            raise RespError("IOERR error or timeout connecting to the client")
        if args[:2] == ("CLUSTER", "GETKEYSINSLOT"):
            return self.keys.pop(0) if self.keys else []
        return "OK"


def test_commands_in_redis_cli_order() -> None:
    fake = Fake([["a", "b"], ["c"]])
    assert move_slots(SRC, DST, [SRC, DST, OTHER], [42], 2, fake) is None
    assert fake.sent == [
        (7101, ("CLUSTER", "SETSLOT", 42, "IMPORTING", "src-id")),
        (7100, ("CLUSTER", "SETSLOT", 42, "MIGRATING", "dst-id")),
        (7100, ("CLUSTER", "GETKEYSINSLOT", 42, 2)),
        (7100, ("MIGRATE", "127.0.0.21", 7101, "", 0, 60000, "KEYS", "a", "b")),
        (7100, ("CLUSTER", "GETKEYSINSLOT", 42, 2)),
        (7100, ("MIGRATE", "127.0.0.21", 7101, "", 0, 60000, "KEYS", "c")),
        (7100, ("CLUSTER", "GETKEYSINSLOT", 42, 2)),
        (7100, ("CLUSTER", "SETSLOT", 42, "NODE", "dst-id")),
        (7101, ("CLUSTER", "SETSLOT", 42, "NODE", "dst-id")),
        (7102, ("CLUSTER", "SETSLOT", 42, "NODE", "dst-id")),
    ]


def test_a_failed_migrate_stops_the_job_with_the_slot_open() -> None:
    fake = Fake([["a"]], fail_on="MIGRATE")
    error = move_slots(SRC, DST, [SRC, DST], [42, 43], 10, fake)
    assert error is not None and error.startswith("slot 42: IOERR")
    assert not any(args[3:4] == ("NODE",) for _, args in fake.sent)
    assert all(args[2] == 42 or args[0] == "MIGRATE" for _, args in fake.sent)
