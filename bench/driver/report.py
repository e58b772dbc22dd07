"""Aggregation over rounds, the per-scenario tables, report.md and results.json."""
import json
import statistics
from collections import defaultdict

from .plan import REFERENCE_IMPL
from .scenarios import DISPATCH_SENSITIVE, NOT_YET, SCENARIOS, format_range, format_value

# What every peer is expected to run (S7 only where a peer has a work object).
PEER_SCENARIOS = {"S1", "S2", "S3", "S8", "S9"}


def summarise(records):
    """(impl, scenario, metric) -> median, min, max, median threads, rounds."""
    values, threads, is_floor = defaultdict(list), defaultdict(list), {}
    for record in records:
        key = (record["impl"], record["scenario"], record["metric"])
        values[key].append(float(record["value"]))
        threads[key].append(int(record.get("threads_after", -1)))
        is_floor[record["impl"]] = bool(record.get("floor"))
    summary = {}
    for key, samples in values.items():
        summary[key] = {
            "impl": key[0], "scenario": key[1], "metric": key[2],
            "median": statistics.median(samples), "min": min(samples), "max": max(samples),
            "threads": statistics.median(threads[key]), "rounds": len(samples),
            "floor": is_floor[key[0]],
        }
    return summary


def _row_order(impls, summary, scenario):
    """Implementation rows in plan order, then the floors that reported into this table."""
    rows = []
    for impl in impls:
        if impl.kind == "floor":
            continue
        if impl.missing_reason:
            expected = {REFERENCE_IMPL: set(SCENARIOS), "libtpuring (ring)": DISPATCH_SENSITIVE}.get(
                impl.name, PEER_SCENARIOS)
            if scenario in expected:
                rows.append((impl.name, impl.missing_reason))
            continue
        if scenario in impl.scenarios:
            rows.append((impl.name, None))
        elif impl.name == REFERENCE_IMPL and scenario in NOT_YET:
            rows.append((impl.name, NOT_YET[scenario]))
    floors = sorted({s["impl"] for s in summary.values() if s["floor"] and s["scenario"] == scenario})
    rows += [(name, None) for name in floors]
    return rows


def build_tables(impls, summary, scenarios, failures, planned_rounds):
    """One table per scenario: rows of cells, ready for Markdown."""
    failed = defaultdict(list)
    for failure in failures:
        failed[(failure["impl"], failure["scenario"])].append(str(failure["status"]))
    tables = []
    for scenario in scenarios:
        title, metrics = SCENARIOS[scenario]
        # Every headline metric gets its column, so a metric that failed shows as failed.
        present = metrics
        header = ["implementation"]
        for _, label, higher_better, _ in present:
            header += [f"{label} {'(higher better)' if higher_better else '(lower better)'}", "vs lib"]
        header.append("threads after")
        body = []
        for name, reason in _row_order(impls, summary, scenario):
            if reason:
                body.append([name, reason] + [""] * (len(header) - 2))
                continue
            row, threads = [name], None
            for metric, _, _, unit in present:
                entry = summary.get((name, scenario, metric))
                reference = summary.get((REFERENCE_IMPL, scenario, metric))
                if entry is None:
                    why = failed.get((name, scenario))
                    row += [f"failed ({', '.join(sorted(set(why)))}) in {len(why)}/{planned_rounds} rounds"
                            if why else "-", ""]
                    continue
                cell = format_value(entry["median"], unit)
                if entry["rounds"] > 1:
                    cell += f" ({format_range(entry['min'], entry['max'], unit)})"
                if entry["rounds"] < planned_rounds:
                    cell += f" [{entry['rounds']}/{planned_rounds} rounds]"
                ratio = ""
                if reference and reference["median"]:
                    ratio = f"{entry['median'] / reference['median']:.2f}x"
                row += [cell, ratio]
                threads = entry["threads"]
            row.append("" if threads is None or threads < 0 else f"{threads:.0f}")
            body.append(row)
        tables.append({"scenario": scenario, "title": title, "header": header, "rows": body})
    return tables


def render_markdown_table(table):
    widths = [len(h) for h in table["header"]]
    for row in table["rows"]:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))

    def line(cells):
        return "| " + " | ".join(c.ljust(widths[i]) for i, c in enumerate(cells)) + " |"

    out = [f"### {table['scenario']} - {table['title']}", "",
           line(table["header"]), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out += [line(row) for row in table["rows"]]
    return "\n".join(out) + "\n"


def write_markdown(path, tables, machine, config, failures, chart_name):
    parts = [
        "# libtpuring benchmark report", "",
        f"Machine: {machine['cpu']}, {machine['cores']} cores, Linux {machine['kernel']}, "
        f"Debian {machine['debian']}; commit {machine['commit']}; load average "
        f"{machine.get('load_average_at_start', 0):.1f} at the start, "
        f"{machine.get('load_average_at_end', 0):.1f} at the end (above ~1 on 2 cores means other "
        "work competed with the benchmarks).",
        f"Rounds: {config['rounds']}{' (quick sizes)' if config['quick'] else ''}. "
        "Cells give the median over rounds with (min-max); \"vs lib\" is the row's median divided "
        f"by {REFERENCE_IMPL}'s (so above 1 is better for rates, below 1 is better for times and "
        "sizes). Each scenario runs in a fresh process; \"threads after\" counts the process's "
        "threads when the scenario ends (main thread included).",
        "",
        "Thread counts: libtpuring uses its default pool (elastic by design, maximum 500). "
        "Peers use one thread per core: Asio's thread_pool and io_context threads, libuv's "
        "UV_THREADPOOL_SIZE, GLib's max_threads and the naive queue are set to the core count; "
        "oneTBB uses its default (one thread per core, counting the thread that waits in "
        "task_group::wait, which runs tasks). Floors are kernel mechanisms with no pool.",
        "",
    ]
    if chart_name:
        parts += [f"![chart]({chart_name})", ""]
    parts += [render_markdown_table(t) for t in tables]
    if failures:
        parts += ["## Failed runs", "",
                  "A run that hangs (no exit within the per-run limit) is not retried in later rounds.", ""]
        parts += [f"- {f['impl']} {f['scenario']} round {f['round'] + 1}: {f['status']} "
                  f"{f['stderr'][-200:]}" for f in failures]
    with open(path, "w") as f:
        f.write("\n".join(parts) + "\n")


def write_json(path, records, summary, failures, machine, config, impls):
    document = {
        "machine": machine,
        "config": config,
        "reference": REFERENCE_IMPL,
        "implementations": [{"name": i.name, "scenarios": i.scenarios, "kind": i.kind,
                             "missing_reason": i.missing_reason} for i in impls],
        "summary": sorted(summary.values(), key=lambda s: (s["scenario"], s["impl"], s["metric"])),
        "records": records,
        "failures": failures,
    }
    with open(path, "w") as f:
        json.dump(document, f, indent=1)
