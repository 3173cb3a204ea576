"""The README's performance table, made from a bench run's JSON lines.

    python -m bench.table var/bench/<run id>.jsonl      (or `- ` / nothing: stdin)

Prints Markdown: a line saying when and on what the figures were taken (date, `uname -m`, cores,
load average), then one row per figure. A paired figure shows each side's median over the rounds
and the median ratio with its min–max; an absolute one its p95 with the load it was taken under.
"""

import json
import sys


def _number(value: float, unit: str) -> str:
    if unit == "ms" or value < 100:
        return f"{value:,.1f} {unit}"
    return f"{value:,.0f} {unit}"


def _mark(line: dict) -> str:
    return "✓" if line.get("met") else "✗"


def _median(values: list) -> float:
    return sorted(values)[len(values) // 2]


def _side(side: dict, unit: str) -> str:
    text = f"{side['name']}: {_number(side['median'], unit)}"
    if "p99_ms" in side:
        text += f", p99 {_median(side['p99_ms'])} ms"
    if "server_cpu_us_per_request" in side:
        text += f", server CPU {_median(side['server_cpu_us_per_request'])} µs/request"
    if "in_app_seconds" in side:
        seconds, in_app = _median(side["seconds"]), _median(side["in_app_seconds"])
        text += f" ({seconds} s; in-app all landed after {in_app} s)"
    return text


def _spread(r: dict) -> str:
    return f"{r['median']:.2f} ({r['min']:.2f}–{r['max']:.2f})"


def _paired_row(line: dict) -> str:
    unit, r = line["unit"], line["ratio"]
    measured = _side(line["measured"], unit)
    baseline = _side(line["baseline"], unit)
    ratio = _spread(r)
    if "cpu_ratio" in line:
        ratio += f"; by server CPU {_spread(line['cpu_ratio'])}"
    if "bare_at_a_page_url" in line:
        baseline += f"; {_side(line['bare_at_a_page_url'], unit)}"
        ratio += f"; to the page-URL view {_spread(line['ratio_to_bare_at_a_page_url'])}"
    target = line["target"].replace("median ratio ", "").replace(">=", "≥")
    if "bound" in line:
        target += f"; bound: {line['bound'].split(':')[0]}"
    return f"| {line['title']} | {measured} | {baseline} | {ratio} | {target} {_mark(line)} |"


def _page_timing(line: dict) -> str:
    """A page's p95 and median, queries, the events in the table and the load."""
    machine = line["machine"]
    busy = "" if machine["idle"] else ", machine busy"
    return (
        f"p95 {line['p95_ms']} ms (median {line['median_ms']} ms), {line['queries']} queries,"
        f" {line['events_in_table']:,} events; load {machine['load_1m']}{busy}"
    )


def _absolute_row(line: dict) -> str:
    measured = _page_timing(line)
    baseline = f"{line['queries_with_fewer_events']} queries with {line['fewer_events']:,} events"
    target = line["target"].replace("p95 ", "").replace(" and the same queries at both sizes", "")
    target += f", same queries {_mark(line)}"
    return f"| {line['title']} | {measured} | {baseline} | — | {target} |"


def _list_row(line: dict) -> str:
    machine = line["machine"]
    busy = "" if machine["idle"] else ", machine busy"
    measured = (
        f"p95 {line['p95_ms']:,} ms (median {line['median_ms']:,} ms), {line['queries']} queries,"
        f" {line['bytes']:,} bytes; load {machine['load_1m']}{busy}"
    )
    return f"| {line['title']} | {measured} | — | — | {line['target']} |"


def _first_view_row(line: dict) -> str:
    return f"| {line['title']} | {_page_timing(line)} | — | — | {line['target']} |"


def _other_row(line: dict) -> str:
    return f"| {line['title']} | {line['value']} s | — | — | — |"


def table(lines: list[dict]) -> str:
    out = []
    for line in lines:
        if "run" in line:
            load = ", ".join(str(x) for x in line["load_1_5_15"])
            out.append(
                f"Run {line['run']}, {line['date']}: {line['machine']}, {line['cores']} cores,"
                f" load average {load} at the start; {line['rounds']} paired rounds per ratio"
                f" (median, min–max); page timings wait for an idle machine.\n"
            )
            out.append("| figure | measured | baseline (same run) | ratio | target |")
            out.append("|---|---|---|---|---|")
        elif "ratio" in line:
            out.append(_paired_row(line))
        elif "p95_ms" in line and line.get("first_view"):
            out.append(_first_view_row(line))
        elif "p95_ms" in line and "rows" in line:
            out.append(_list_row(line))
        elif "p95_ms" in line:
            out.append(_absolute_row(line))
        elif "value" in line:
            out.append(_other_row(line))
    return "\n".join(out)


def main(argv: list[str]) -> None:
    source = sys.stdin if len(argv) < 2 or argv[1] == "-" else open(argv[1])  # noqa: SIM115
    with source:
        lines = [json.loads(text) for text in source if text.strip().startswith("{")]
    print(table(lines))


if __name__ == "__main__":
    main(sys.argv)
