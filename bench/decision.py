"""Figure: GET /api/v1/decision, warm, against a bare Django view returning the same JSON under the
same server, in paired rounds of wrk.

The bare view is mounted twice (bench/urls.py): under /api/v1/, where it goes through exactly what
an API request goes through — the baseline of the ratio and its target — and at a page URL, where
it goes through what a page goes through; that second ratio is printed beside the first, so a
saving that only API URLs get is seen as such and not counted as the endpoint's own."""

from bench import client, paired, procs
from bench.report import emit, log

TARGET = 0.90
PEOPLE = 200  # the people wrk asks about, in turn
BARE_API, BARE_PAGE = "/api/v1/bench/bare-decision", "/bench/bare-decision"


def bench_decision(world: dict, server, port: int, rounds: int, seconds: int) -> None:
    slug, users = world["slug"], world["users"][:PEOPLE]
    auth = {"Authorization": f"Bearer {world['token']}"}
    for user in users:  # warm the shared cache, as a running integration keeps it
        path = f"/api/v1/decision?workflow={slug}&user={user}"
        status, _ = client.request(port, "GET", path, headers=auth)
        if status != 200:
            raise SystemExit(f"GET {path} answered {status}")
    bare = {"bare": BARE_API, "bare_page": BARE_PAGE}
    for path in bare.values():
        # Must answer 200 with a body: wrk counts only 4xx and 5xx as errors, so a redirect to
        # the sign-in page would pass for an answer.
        status, body = client.request(port, "GET", f"{path}?workflow={slug}&user=x", headers=auth)
        if status != 200 or not body.startswith(b"{"):
            raise SystemExit(f"{path} answered {status} {body[:100]!r}")

    def wrk(path: str, headers: dict):
        def side() -> dict:
            cpu = procs.cpu_seconds(server)
            result = client.wrk(port, f"{path}?workflow={slug}", headers, users, seconds)
            cpu = procs.cpu_seconds(server) - cpu
            result["server_cpu_us_per_request"] = round(cpu / result.pop("requests") * 1e6)
            return result

        return side

    sides = {"decision": wrk("/api/v1/decision", auth)}
    # The same request headers everywhere (the bare view ignores the token), so the bare view
    # under /api/v1/ goes through exactly the middleware a token-authenticated request does.
    sides.update({name: wrk(path, auth) for name, path in bare.items()})
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
                results, "bare", f"bare Django view at {BARE_API}, same JSON, same server"
            ),
            "bare_at_a_page_url": paired.side(
                results, "bare_page", f"the same view at {BARE_PAGE} (a page's middleware)"
            ),
            "ratio_to_bare_at_a_page_url": paired.ratio(results, "decision", "bare_page"),
            # Server CPU per request, bare over decision: the same comparison, much less moved
            # by whatever else the machine runs (gunicorn's workers only: not wrk, not Redis).
            "cpu_ratio": paired.spread(
                [
                    r["bare"]["server_cpu_us_per_request"]
                    / r["decision"]["server_cpu_us_per_request"]
                    for r in results
                ]
            ),
            "ratio": ratio,
            "target": f"median ratio >= {TARGET:.2f}",
            "met": ratio["median"] >= TARGET,
        }
    )
