"""Render a pushed fragment once per group, not once per socket.

A push to a queue group reaches every socket in it. The sockets of one process that would
show the same fragment share one render of it: the key names the push (the `stamp` that
`conversations.events.send_now` puts on each group send) and the view (whatever decides the
fragment's content, such as the teams it lists). The cache holds futures, so sockets that
handle the push at the same moment wait for the one render instead of starting their own.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

from channels.db import database_sync_to_async

# A push's renders are wanted for the few hundred milliseconds its fan-out takes; this many
# keys outlive that comfortably, and bound the memory (a queue fragment is tens of kB).
CACHE_SIZE = 128

_renders: OrderedDict[Hashable, asyncio.Future[Any]] = OrderedDict()


async def render_once(key: Hashable, work: Callable[[], Any]) -> Any:
    """`work()` (synchronous, may use the database) for the first socket that asks for `key`;
    every other socket of this process gets the same result."""
    future = _renders.get(key)
    if future is None or future.get_loop() is not asyncio.get_running_loop():
        future = asyncio.ensure_future(database_sync_to_async(work)())
        _renders[key] = future
        while len(_renders) > CACHE_SIZE:
            _renders.popitem(last=False)
    # A socket that closes while it waits must not cancel the render the others wait for.
    return await asyncio.shield(future)


_burst: asyncio.Future[int] | None = None
_bursts = 0


async def burst_end(seconds: float) -> int:
    """Wait for the end of the current burst of changes in this process and name it. The first
    socket to hear of a change opens a burst `seconds` long; every socket that hears of one
    before it ends waits for the same end and gets the same number, so their redraws share one
    render (render_once keyed by it) however many pushes the burst held."""
    global _burst, _bursts
    loop = asyncio.get_running_loop()
    if _burst is None or _burst.done() or _burst.get_loop() is not loop:
        _bursts += 1
        burst: asyncio.Future[int] = loop.create_future()
        number = _bursts
        loop.call_later(seconds, lambda: burst.done() or burst.set_result(number))
        _burst = burst
    return await asyncio.shield(_burst)
