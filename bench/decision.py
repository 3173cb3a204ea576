"""Figure: GET /api/v1/decision, warm, against a bare Django view returning the same JSON under the
same server (bench/urls.py), in paired rounds of wrk."""

from bench import client, paired
from bench.report import emit, log

TARGET = 0.90
PEOPLE = 200  # the people wrk asks about, in turn


def bench_decision(world: dict, port: int, rounds: int, seconds: int) -> None:
    slug, users = world["slug"], world["users"][:PEOPLE]
    auth = {"Authorization": f"Bearer {world['token']}"}
    for user in users:  # warm the shared cache, as a running integration keeps it
        path = f"/api/v1/decision?workflow={slug}&user={user}"
        status, _ = client.request(port, "GET", path, headers=auth)
        if status != 200:
            raise SystemExit(f"GET {path} answered {status}")
    sides = {
        "decision": lambda: client.wrk(
            port, f"/api/v1/decision?workflow={slug}", auth, users, seconds
        ),
        "bare": lambda: client.wrk(
            port, f"/bench/bare-decision?workflow={slug}", {}, users, seconds
        ),
    }
    log(f"decision endpoint vs bare view: {rounds} paired rounds of {seconds} s of wrk")
    results = paired.run_rounds(sides, rounds, log)
    ratio = paired.ratio(results, "decision", "bare")
    emit(
        {
            "figure": "decision",
            "title": f"`GET /api/v1/decision`, warm (wrk, {client.WRK_CONNECTIONS} connections)",
            "unit": "requests/s",
            "measured": paired.side(results, "decision", "decision endpoint"),
            "baseline": paired.side(
                results, "bare", "bare Django view, same JSON, same server and middleware"
            ),
            "ratio": ratio,
            "target": f"median ratio >= {TARGET:.2f}",
            "met": ratio["median"] >= TARGET,
        }
    )
