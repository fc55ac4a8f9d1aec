"""``rcsim tui --resp``: the TUI drives simulated time and the sockets follow it."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from rcsim.commands.tui import make_app
from rcsim.resp_cli import run_tui_with_resp
from tests.test_resp_live import free_base

HOST = "127.0.0.1"


async def ping(port: int, timeout: float) -> bytes:
    reader, writer = await asyncio.open_connection(HOST, port)
    try:
        writer.write(b"PING\r\n")
        await writer.drain()
        return await asyncio.wait_for(reader.readline(), timeout)
    finally:
        writer.close()


def test_tui_resp_pause_stops_replies_and_a_crash_refuses() -> None:
    base = free_base(3)
    args = argparse.Namespace(
        scenario="hello-cluster",
        seed=None,
        masters=None,
        paused=False,
        resp=True,
        base_port=base,
        bind=HOST,
    )
    app = make_app(args)
    seen: dict[str, Any] = {}

    async def pilot(driver: Any) -> None:
        session = app.session
        for _ in range(200):  # the listeners open once the loop runs
            try:
                seen["playing"] = await ping(base, 2)
                break
            except OSError:
                await asyncio.sleep(0.01)
        session.playing = False
        try:
            await ping(base, 0.2)
            seen["paused"] = b"answered"
        except TimeoutError:
            seen["paused"] = b"no reply"
        session.playing = True
        session.inject("kill", node="n2")
        await asyncio.sleep(0.05)
        try:
            await ping(base + 1, 1)
            seen["crashed"] = "answered"
        except ConnectionRefusedError:
            seen["crashed"] = "refused"
        app.exit()

    run_tui_with_resp(app, args, headless=True, auto_pilot=pilot)
    assert seen == {"playing": b"+PONG\r\n", "paused": b"no reply", "crashed": "refused"}
