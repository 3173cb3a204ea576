"""HTTP load against the run's gunicorn: single requests, timed GETs and wrk."""

import http.client
import json
import re
import shutil
import subprocess
import sys
import time

from bench.resources import VAR

WRK_THREADS, WRK_CONNECTIONS = 2, 32


def request(port: int, method: str, path: str, body: bytes | None = None, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def get_status(port: int, path: str) -> int:
    return request(port, "GET", path)[0]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def timed_gets(port: int, path: str, headers: dict, n: int) -> list[float]:
    """Milliseconds per GET, one after another on one connection."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    times = []
    for _ in range(n):
        start = time.perf_counter()
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        response.read()
        times.append((time.perf_counter() - start) * 1000)
        if response.status != 200:
            sys.exit(f"GET {path} answered {response.status}")
    conn.close()
    return times


def wrk(port: int, path: str, headers: dict, users: list[str], seconds: int) -> dict:
    """{"value": requests/s, "p99_ms"} from wrk, rotating through the people in `users`."""
    script = VAR / "paths.lua"
    script.parent.mkdir(parents=True, exist_ok=True)
    separator = "&" if "?" in path else "?"
    entries = ",".join(json.dumps(f"{path}{separator}user={u}") for u in users)
    header_lines = "".join(
        f"wrk.headers[{json.dumps(k)}] = {json.dumps(v)}\n" for k, v in headers.items()
    )
    script.write_text(
        f"local paths = {{{entries}}}\nlocal i = 0\n{header_lines}"
        "request = function()\n  i = i % #paths + 1\n"
        "  return wrk.format(nil, paths[i])\nend\n"
    )
    argv = [shutil.which("wrk") or "wrk", f"-t{WRK_THREADS}", f"-c{WRK_CONNECTIONS}"]
    argv += [f"-d{seconds}s", "--latency", "-s", str(script), f"http://127.0.0.1:{port}"]
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout  # noqa: S603
    if "Non-2xx" in out:
        sys.exit(f"wrk saw errors on {path}:\n{out}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)]
    return {"value": rps, "p99_ms": round(float(p99.group(1)) * scale, 2), "requests": requests}
