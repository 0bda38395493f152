"""The scratch database and Redis keys a benchmark part makes for itself, and their removal."""

from __future__ import annotations

import psycopg
import redis
from psycopg import sql


def remove_scratch(admin_url: str, redis_url: str, database: str, prefix: str) -> None:
    """Drop ``database`` (whoever is still connected) and every Redis key naming ``prefix`` (RQ's too)."""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database)))
    client = redis.Redis.from_url(redis_url)
    try:
        keys = list(client.scan_iter(match=f"*{prefix}*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()
