"""The Redis channel layer, made to outlast a Redis restart.

channels-redis raises out of `receive` when Redis goes away, and a consumer whose receive
raises dies with 1011: while Redis restarted, every ingest and desk socket was closed in
turn, one per failed read. The record does not need Redis (events are stored and acked
without it), so a socket should not die with it. Here `receive` waits and retries, and a
group join that fails is retried in the background, so the socket keeps working. A restarted
Redis has forgotten every group (it keeps nothing on disk): the layer remembers what its
sockets joined and joins it all again once Redis answers, so pushes resume without a
reconnect. Pushes sent meanwhile are lost, as pushes may be (pages
resync on reconnect; the durable analysis mark catches the engine up); each outage is logged.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from channels_redis.core import RedisChannelLayer
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

# Redis being down shows as these; anything else is a bug and is raised.
UNAVAILABLE = (RedisError, ConnectionError, TimeoutError, OSError)
RETRY_FIRST_SECONDS = 0.2
RETRY_MAX_SECONDS = 5.0


class ResilientRedisChannelLayer(RedisChannelLayer):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._down_since: float | None = None
        self._rejoins: dict[tuple[str, str], asyncio.Task[None]] = {}
        # What this process's sockets belong to: joined again after an outage.
        self._members: set[tuple[str, str]] = set()

    def _unavailable(self, what: str, exc: BaseException) -> None:
        if self._down_since is None:
            self._down_since = time.monotonic()
            logger.error("Redis unavailable (%s: %s); live pushes are paused", what, exc)

    def _available(self) -> None:
        if self._down_since is not None:
            logger.warning(
                "Redis is back after %.1f s; rejoining %d group memberships",
                time.monotonic() - self._down_since,
                len(self._members),
            )
            self._down_since = None
            for group, channel in list(self._members):
                self._rejoin_later(group, channel)

    def _rejoin_later(self, group: str, channel: str) -> None:
        key = (group, channel)
        if key not in self._rejoins:
            task = asyncio.ensure_future(self._rejoin(group, channel))
            self._rejoins[key] = task
            task.add_done_callback(lambda _: self._rejoins.pop(key, None))

    async def receive(self, channel: str) -> dict[str, Any]:
        wait = RETRY_FIRST_SECONDS
        while True:
            try:
                return await super().receive(channel)
            except UNAVAILABLE as exc:
                self._unavailable("receive", exc)
            # Nothing arrives for groups Redis has forgotten, so a message cannot be what
            # says it is back: ask it, and rejoin as soon as it answers.
            while True:
                await asyncio.sleep(wait)
                wait = min(wait * 2, RETRY_MAX_SECONDS)
                if await self._answers():
                    self._available()
                    break

    async def _answers(self) -> bool:
        try:
            for index in range(self.ring_size):
                await self.connection(index).ping()
        except UNAVAILABLE:
            return False
        return True

    async def group_add(self, group: str, channel: str) -> None:
        self._members.add((group, channel))
        try:
            await super().group_add(group, channel)
        except UNAVAILABLE as exc:
            self._unavailable("group_add", exc)
            self._rejoin_later(group, channel)
        else:
            self._available()

    async def _rejoin(self, group: str, channel: str) -> None:
        wait = RETRY_FIRST_SECONDS
        deadline = time.monotonic() + self.group_expiry
        while time.monotonic() < deadline and (group, channel) in self._members:
            try:
                await super().group_add(group, channel)
            except UNAVAILABLE:
                await asyncio.sleep(wait)
                wait = min(wait * 2, RETRY_MAX_SECONDS)
                continue
            return

    async def group_discard(self, group: str, channel: str) -> None:
        self._members.discard((group, channel))
        rejoin = self._rejoins.pop((group, channel), None)
        if rejoin is not None:
            rejoin.cancel()
        # A member left behind expires with the group (group_expiry); a push to it is dropped.
        try:
            await super().group_discard(group, channel)
        except UNAVAILABLE as exc:
            self._unavailable("group_discard", exc)
