"""Figure: OFREP single evaluation, POST /ofrep/v1/evaluate/flags/{key}, warm, in paired rounds
of wrk against two baselines in the same run:

* a bare Django view answering the same POST with JSON of the same shape, mounted beside OFREP
  (bench/urls.py: /ofrep/v1/bench/bare-evaluate), so it goes through the same middleware —
  target: median paired ratio >= 0.80;
* the native decision endpoint, GET /api/v1/decision, asked about the same people — target:
  within 15 % (median paired ratio >= 0.85).
"""

import json
import re
import shutil
import subprocess

from bench import client, paired, procs
from bench.report import emit, log
from bench.resources import VAR

TARGET_BARE = 0.80
TARGET_NATIVE = 0.85
PEOPLE = 200
BARE = "/ofrep/v1/bench/bare-evaluate"


def wrk_post(port: int, path: str, headers: dict, bodies: list[bytes], seconds: int) -> dict:
    """{"value": requests/s, "p99_ms", "requests"} from wrk POSTing `bodies` in turn."""
    script = VAR / "ofrep.lua"
    script.parent.mkdir(parents=True, exist_ok=True)
    entries = ",".join(json.dumps(b.decode()) for b in bodies)
    header_lines = "".join(
        f"wrk.headers[{json.dumps(k)}] = {json.dumps(v)}\n"
        for k, v in {**headers, "Content-Type": "application/json"}.items()
    )
    script.write_text(
        f'local bodies = {{{entries}}}\nlocal i = 0\nwrk.method = "POST"\n{header_lines}'
        "request = function()\n  i = i % #bodies + 1\n"
        f"  return wrk.format(nil, {json.dumps(path)}, nil, bodies[i])\nend\n"
    )
    argv = [shutil.which("wrk") or "wrk", f"-t{client.WRK_THREADS}", f"-c{client.WRK_CONNECTIONS}"]
    argv += [f"-d{seconds}s", "--latency", "-s", str(script), f"http://127.0.0.1:{port}"]
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout  # noqa: S603
    if "Non-2xx" in out:
        raise SystemExit(f"wrk saw errors on {path}:\n{out}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)]
    return {"value": rps, "p99_ms": round(float(p99.group(1)) * scale, 2), "requests": requests}


def bench_ofrep(world: dict, server, port: int, rounds: int, seconds: int) -> None:
    slug, users = world["slug"], world["users"][:PEOPLE]
    auth = {"Authorization": f"Bearer {world['token']}"}
    single = f"/ofrep/v1/evaluate/flags/{slug}"
    bodies = [json.dumps({"context": {"targetingKey": u}}).encode() for u in users]
    for body, user in zip(bodies, users, strict=True):  # warm, as a running integration keeps it
        status, answer = client.request(port, "POST", single, body, {**auth, **_JSON})
        if status != 200 or b'"reason"' not in answer:
            raise SystemExit(f"POST {single} answered {status} {answer[:100]!r}")
        status, _ = client.request(
            port, "GET", f"/api/v1/decision?workflow={slug}&user={user}", headers=auth
        )
        if status != 200:
            raise SystemExit(f"GET /api/v1/decision answered {status}")
    status, answer = client.request(port, "POST", BARE, bodies[0], {**auth, **_JSON})
    if status != 200 or not answer.startswith(b"{"):
        raise SystemExit(f"{BARE} answered {status} {answer[:100]!r}")

    def measured(side):
        def run() -> dict:
            cpu = procs.cpu_seconds(server)
            result = side()
            cpu = procs.cpu_seconds(server) - cpu
            result["server_cpu_us_per_request"] = round(cpu / result.pop("requests") * 1e6)
            return result

        return run

    sides = {
        "ofrep": measured(lambda: wrk_post(port, single, auth, bodies, seconds)),
        "bare": measured(lambda: wrk_post(port, BARE, auth, bodies, seconds)),
        "native": measured(
            lambda: client.wrk(port, f"/api/v1/decision?workflow={slug}", auth, users, seconds)
        ),
    }
    log(f"OFREP single evaluation vs bare view and native decision: {rounds} paired rounds")
    results = paired.run_rounds(sides, rounds, log)
    to_bare = paired.ratio(results, "ofrep", "bare")
    to_native = paired.ratio(results, "ofrep", "native")
    title = (
        f"`POST /ofrep/v1/evaluate/flags/{{key}}`, warm (wrk, {client.WRK_CONNECTIONS} connections)"
    )
    ofrep = paired.side(results, "ofrep", "OFREP single evaluation")
    # Two lines from the same rounds, so each baseline gets its readable line and table row.
    emit(
        {
            "figure": "ofrep",
            "title": title,
            "unit": "requests/s",
            "measured": ofrep,
            "baseline": paired.side(
                results, "bare", f"bare Django view at {BARE}, same POST, same JSON shape"
            ),
            "ratio": to_bare,
            "cpu_ratio": paired.spread(
                [
                    r["bare"]["server_cpu_us_per_request"] / r["ofrep"]["server_cpu_us_per_request"]
                    for r in results
                ]
            ),
            "target": f"median ratio >= {TARGET_BARE:.2f}",
            "met": to_bare["median"] >= TARGET_BARE,
        }
    )
    emit(
        {
            "figure": "ofrep_vs_native_decision",
            "title": f"{title} against `GET /api/v1/decision` (same people, same rounds)",
            "unit": "requests/s",
            "measured": ofrep,
            "baseline": paired.side(results, "native", "GET /api/v1/decision, same people"),
            "ratio": to_native,
            "cpu_ratio": paired.spread(
                [
                    r["native"]["server_cpu_us_per_request"]
                    / r["ofrep"]["server_cpu_us_per_request"]
                    for r in results
                ]
            ),
            "target": f"median ratio >= {TARGET_NATIVE:.2f} (within 15 %)",
            "met": to_native["median"] >= TARGET_NATIVE,
        }
    )


_JSON = {"Content-Type": "application/json"}
