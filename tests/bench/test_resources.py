"""A bench run deletes exactly its own Redis keys (bench/resources.py), never the others."""

import redis

from bench import resources
from tests.redis_server import RedisServer


def test_only_the_runs_keys_are_deleted(tmp_path, monkeypatch):
    server = RedisServer(tmp_path)
    server.start()
    try:
        monkeypatch.setattr(resources, "PREFIX", "bench-run1")
        monkeypatch.setattr(resources, "RUN_ID", "run1")
        base = f"redis://127.0.0.1:{server.port}"
        cache = redis.Redis.from_url(f"{base}/{resources.CACHE_DB}")
        broker = redis.Redis.from_url(f"{base}/{resources.BROKER_DB}")
        for i in range(1200):
            cache.set(f"bench-run1:1:decision:{i}", "x")
        broker.rpush("bench-run1:bench-run1", "task")
        cache.set("bench-run2:1:decision:1", "another run's")
        cache.set(":1:decision:1", "an app's")
        broker.rpush("celery", "an app's task")

        assert resources.delete_redis_keys(base) == 1201
        assert resources.stray_redis_keys(base) == 0
        assert sorted(cache.keys()) == [b":1:decision:1", b"bench-run2:1:decision:1"]
        assert broker.keys() == [b"celery"]
    finally:
        server.kill()
