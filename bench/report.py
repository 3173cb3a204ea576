"""Output: one JSON object per line on stdout (also kept in var/bench/<run id>.jsonl, the input of
`python -m bench.table`), and a line a person reads on stderr for each."""

import json
import sys

from bench.resources import VAR

JSONL = VAR.parent / f"{VAR.name}.jsonl"


def log(message: str) -> None:
    print(f"# {message}", file=sys.stderr, flush=True)


def emit(line: dict) -> None:
    text = json.dumps(line)
    print(text, flush=True)
    JSONL.parent.mkdir(parents=True, exist_ok=True)
    with JSONL.open("a") as f:
        f.write(text + "\n")
    log(summary(line))


def _side(side: dict, unit: str) -> str:
    return f"{side['name']} {side['median']:,} {unit} (rounds {side['rounds']})"


def summary(line: dict) -> str:
    """One readable line per JSON line."""
    name = line.get("figure", line.get("run", "?"))
    if "ratio" in line:
        r = line["ratio"]
        text = (
            f"{name}: ratio median {r['median']} (min {r['min']}, max {r['max']}, rounds"
            f" {r['rounds']}); {_side(line['measured'], line['unit'])} vs"
            f" {_side(line['baseline'], line['unit'])}"
        )
    elif "p95_ms" in line and "rows" in line:  # a list page (bench/lists.py)
        machine = line["machine"]
        text = (
            f"{name}: p95 {line['p95_ms']} ms, median {line['median_ms']} ms,"
            f" {line['rows']:,} rows,"
            f" {line['queries']} queries, {line['bytes']:,} bytes; load {machine['load_1m']}"
            + ("" if machine["idle"] else " — machine busy")
        )
    elif "p95_ms" in line and line.get("first_view"):  # bench/pages.py's first views
        machine = line["machine"]
        text = (
            f"{name}: p95 {line['p95_ms']} ms, median {line['median_ms']} ms,"
            f" {line['queries']} queries; load {machine['load_1m']}"
            + ("" if machine["idle"] else " — machine busy")
        )
    elif "p95_ms" in line:
        machine = line["machine"]
        text = (
            f"{name}: p95 {line['p95_ms']} ms, median {line['median_ms']} ms,"
            f" {line['queries']} queries ({line['queries_with_fewer_events']} with"
            f" {line['fewer_events']:,} events); load {machine['load_1m']}"
            + ("" if machine["idle"] else " — machine busy")
        )
    else:
        text = f"{name}: " + ", ".join(f"{k}={v}" for k, v in line.items() if k != "figure")
    if "target" in line and line.get("met") is not None:
        text += f"; target {line['target']}: {'met' if line['met'] else 'NOT met'}"
    elif "target" in line:
        text += f"; {line['target']}"
    return text
