"""What a bench run owns, and nothing else: a database and Redis keys named after the run.

* PostgreSQL: `<name>_bench_<run id>` beside DATABASE_URL's database (default
  postgres://postgres@127.0.0.1:5432/rollout), created for the run and dropped at its end
  (BENCH_KEEP_DB=1 keeps it). Two runs at once, or a run beside the test suite, never meet.
* Redis (REDIS_URL, default redis://127.0.0.1:6379, when it answers): the cache in database 15 and
  the broker in database 14, every key under the prefix `bench-<run id>:` (the cache's KEY_PREFIX,
  kombu's global_keyprefix, a queue and a control exchange of the run's own; see
  config/settings/bench.py). At the end the run deletes exactly the keys under its prefix (SCAN +
  DEL): never FLUSHDB, never `cache.clear()`, so whatever else lives in those databases stays.
"""

import os
import secrets
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
RUN_ID = os.environ.get("BENCH_RUN_ID") or secrets.token_hex(4)
PREFIX = f"bench-{RUN_ID}"
CACHE_DB, BROKER_DB = 15, 14
VAR = ROOT / "var" / "bench" / RUN_ID


def database_url() -> str:
    url = os.environ.get("DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/rollout"
    parts = urlsplit(url)
    if parts.scheme not in ("postgres", "postgresql", "pgsql"):
        sys.exit("make bench runs on PostgreSQL: set DATABASE_URL=postgres://…")
    name = parts.path.lstrip("/") or "rollout"
    return urlunsplit(parts._replace(path=f"/{name}_bench_{RUN_ID}"))


def database_name(url: str) -> str:
    return urlsplit(url).path.lstrip("/")


def _admin(url: str):
    import psycopg

    admin = urlunsplit(urlsplit(url)._replace(path="/postgres"))
    return psycopg.connect(admin, autocommit=True)


def create_database(url: str) -> None:
    with _admin(url) as conn:
        conn.execute(f'CREATE DATABASE "{database_name(url)}"')


def drop_database(url: str) -> None:
    with _admin(url) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{database_name(url)}" WITH (FORCE)')


def redis_url() -> str | None:
    url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379")
    try:
        import redis

        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except Exception:  # noqa: BLE001 — no Redis: embedded broker and per-process cache
        return None
    return url.rstrip("/")


def child_env(db_url: str, redis: str | None, smtp_port: int) -> dict[str, str]:
    """The environment of the run's gunicorn, workers and of the harness itself."""
    env = dict(os.environ)
    env.update(
        DATABASE_URL=db_url,
        DJANGO_SETTINGS_MODULE="config.settings.bench",
        ROLLOUT_VAR_DIR=str(VAR / "run"),
        BENCH_RUN_ID=RUN_ID,
        EMAIL_URL=f"smtp://127.0.0.1:{smtp_port}",
    )
    if redis:
        env.update(CELERY_BROKER_URL=f"{redis}/{BROKER_DB}", CACHE_URL=f"{redis}/{CACHE_DB}")
    else:
        env.pop("CELERY_BROKER_URL", None)
        env["CACHE_URL"] = "locmemcache://"
    return env


def delete_redis_keys(redis_base: str) -> int:
    """Deletes this run's keys (and only them) from the cache and broker databases."""
    import redis

    deleted = 0
    for db in (CACHE_DB, BROKER_DB):
        client = redis.Redis.from_url(f"{redis_base}/{db}")
        batch = []
        for key in client.scan_iter(match=f"{PREFIX}:*", count=1000):
            batch.append(key)
            if len(batch) >= 500:
                deleted += client.delete(*batch)
                batch = []
        if batch:
            deleted += client.delete(*batch)
    return deleted


def stray_redis_keys(redis_base: str) -> int:
    """Keys naming this run anywhere in the two databases after the clean-up (should be 0)."""
    import redis

    return sum(
        sum(1 for _ in redis.Redis.from_url(f"{redis_base}/{db}").scan_iter(match=f"*{RUN_ID}*"))
        for db in (CACHE_DB, BROKER_DB)
    )
