"""Per-token ingest rate limit: a token bucket (sustained rate, burst capacity).

With REDIS_URL set the bucket lives in Redis, so the limit holds across every server process;
otherwise it lives in this process.
"""

from __future__ import annotations

import logging
import threading
import time
from functools import cache

from django.conf import settings

logger = logging.getLogger(__name__)

_REDIS_BUCKET = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local want = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local data = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(data[1])
local ts = tonumber(data[2])
if tokens == nil then
  tokens = burst
  ts = now
end
tokens = math.min(burst, tokens + math.max(0, now - ts) / 1000 * rate)
local granted = math.min(want, math.floor(tokens))
tokens = tokens - granted
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', now)
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
return granted
"""


class _LocalBuckets:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, float]] = {}

    def take(self, key: str, want: int, *, rate: float, burst: int) -> int:
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(key, (float(burst), now))
            tokens = min(float(burst), tokens + (now - last) * rate)
            granted = min(want, int(tokens))
            self._buckets[key] = (tokens - granted, now)
            return granted


_local = _LocalBuckets()


@cache
def _redis_script():  # type: ignore[no-untyped-def]
    import redis

    client = redis.Redis.from_url(settings.REDIS_URL)
    return client.register_script(_REDIS_BUCKET)


def rate_limit_take(
    *, key: str, want: int, rate: float | None = None, burst: int | None = None
) -> int:
    """Take up to `want` tokens from the bucket `key`; return how many were granted. The rate
    (tokens a second) and burst default to ingest's."""
    rate = float(settings.BATON_INGEST_RATE if rate is None else rate)
    burst = int(settings.BATON_INGEST_BURST if burst is None else burst)
    if want <= 0:
        return 0
    if settings.REDIS_URL:
        try:
            return int(_redis_script()(keys=[f"baton:rl:{key}"], args=[rate, burst, want]))
        except Exception:
            # Losing Redis must not stop ingest: fall back to this process's own bucket.
            logger.exception("rate limit bucket in Redis unavailable; using the local one")
    return _local.take(key, want, rate=rate, burst=burst)
