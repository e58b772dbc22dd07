"""The chart: throughput bars, S8 times and latency distributions, drawn by gnuplot as SVG."""
import os
import shutil
import subprocess

from .plan import REFERENCE_IMPL
from .scenarios import LADDER


def _quote(text):
    return '"' + text.replace('"', "'") + '"'


# Bar colours: libtpuring rows stand out, peers share one colour, floors are grey.
LIBTPURING_COLOUR, PEER_COLOUR, FLOOR_COLOUR = 0x228833, 0x4477AA, 0xAAAAAA
_row_rank = {}


def set_row_order(names):
    """Rows follow the plan's order (libtpuring first, peers, floors last)."""
    _row_rank.clear()
    _row_rank.update({name: index for index, name in enumerate(names)})


def _ordered_impls(summary, scenario, metric):
    entries = [s for s in summary.values() if s["scenario"] == scenario and s["metric"] == metric]
    return sorted(entries, key=lambda s: (s["floor"], _row_rank.get(s["impl"], len(_row_rank)), s["impl"]))


def _colour(entry):
    if entry["floor"]:
        return FLOOR_COLOUR
    return LIBTPURING_COLOUR if entry["impl"].startswith("libtpuring") else PEER_COLOUR


def _bar_data(path, entries, scale):
    with open(path, "w") as f:
        for e in entries:
            f.write(f"{_quote(e['impl'])} {e['median'] * scale} {e['min'] * scale} {e['max'] * scale} "
                    f"{_colour(e)}\n")


def _bar_panel(data_dir, summary, scenario, metric, scale, title, ylabel, log_scale=False):
    entries = _ordered_impls(summary, scenario, metric)
    if not entries:
        return None
    path = os.path.join(data_dir, f"{scenario}_{metric}.dat")
    _bar_data(path, entries, scale)
    return "\n".join([
        f"set title {_quote(title)}",
        f"set ylabel {_quote(ylabel)}",
        "set logscale y" if log_scale else "unset logscale y",
        "set yrange [*:*]" if log_scale else "set yrange [0:*]",
        "set style fill solid 0.8 border -1",
        "set boxwidth 0.7",
        "set xrange [-0.6:*]",
        "set xtics rotate by 35 right font ',9'",
        "unset key",
        f"plot {_quote(path)} using 0:2:5:xtic(1) with boxes linecolor rgb variable, "
        f"'' using 0:2:3:4 with yerrorbars linecolor rgb 'black' pointtype 0",
    ])


def _percentile_bars_panel(data_dir, summary, scenario, prefix, title):
    p50 = {e["impl"]: e for e in _ordered_impls(summary, scenario, prefix + "p50_us")}
    p99 = {e["impl"]: e for e in _ordered_impls(summary, scenario, prefix + "p99_us")}
    names = [n for n in p50 if n in p99]
    if not names:
        return None
    path = os.path.join(data_dir, f"{scenario}_{prefix}percentiles.dat")
    with open(path, "w") as f:
        for n in names:
            a, b = p50[n], p99[n]
            f.write(f"{_quote(n)} {a['median']} {a['min']} {a['max']} {b['median']} {b['min']} {b['max']}\n")
    return "\n".join([
        f"set title {_quote(title)}",
        "set ylabel 'microseconds (log)'",
        "set logscale y",
        "set yrange [*:*]",
        "set style data histogram",
        "set style histogram errorbars gap 1 lw 1",
        "set style fill solid 0.7 border -1",
        "set xtics rotate by 35 right font ',9'",
        "set key top left",
        f"plot {_quote(path)} using 2:3:4:xtic(1) title 'p50' linecolor rgb '#4477aa', "
        f"'' using 5:6:7 title 'p99' linecolor rgb '#ee6677'",
    ])


def _ladder_panel(data_dir, summary, scenario, title):
    names = [e["impl"] for e in _ordered_impls(summary, scenario, "p50_us")]
    if not names:
        return None
    plots = []
    for index, name in enumerate(names):
        path = os.path.join(data_dir, f"{scenario}_ladder_{index}.dat")
        with open(path, "w") as f:
            for position, (metric, _) in enumerate(LADDER, start=1):
                entry = summary.get((name, scenario, metric))
                if entry:
                    f.write(f"{position} {entry['median']}\n")
        width = 3 if name == REFERENCE_IMPL else 1.5
        dash = "dt 2" if name.startswith("floor") else "dt 1"
        plots.append(f"{_quote(path)} using 1:2 with linespoints lw {width} {dash} title {_quote(name)}")
    tics = ", ".join(f"'{label}' {i}" for i, (_, label) in enumerate(LADDER, start=1))
    return "\n".join([
        f"set title {_quote(title)}",
        "set ylabel 'microseconds (log)'",
        "set logscale y",
        "set yrange [*:*]",
        f"set xtics ({tics}) norotate font ',9'",
        "set key top left font ',8'",
        "plot " + ", ".join(plots),
    ])


def draw(summary, results_dir):
    """Writes chart.svg; returns its file name, or None if gnuplot is missing or fails."""
    if not shutil.which("gnuplot"):
        return None
    data_dir = os.path.join(results_dir, "chart-data")
    os.makedirs(data_dir, exist_ok=True)
    panels = [p for p in [
        _bar_panel(data_dir, summary, "S1", "callbacks_per_s", 1e-6,
                   "S1 one work object posted 1M times", "M callbacks/s"),
        _bar_panel(data_dir, summary, "S2", "callbacks_per_s", 1e-6,
                   "S2 2 producers x 250k TrySubmit", "M callbacks/s"),
        _bar_panel(data_dir, summary, "S9", "callbacks_per_s", 1e-6,
                   "S9 fan-out 8 wide, 6 deep", "M callbacks/s"),
        _bar_panel(data_dir, summary, "S8", "all_done_ms", 1.0,
                   "S8 64 x Sleep(50): time until all ran", "ms (log)", log_scale=True),
        _percentile_bars_panel(data_dir, summary, "S3", "", "S3 wake latency, submit -> callback"),
        _ladder_panel(data_dir, summary, "S3", "S3 wake latency distribution (median of rounds)"),
        _percentile_bars_panel(data_dir, summary, "S4", "lateness_", "S4 timer lateness"),
        _percentile_bars_panel(data_dir, summary, "S5", "1000_waits_", "S5 SetEvent -> callback, 1k armed"),
    ] if p]
    if not panels:
        return None
    rows = (len(panels) + 1) // 2
    script = "\n".join([
        f"set terminal svg size 1500,{560 * rows} dynamic noenhanced font 'sans,11' background rgb 'white'",
        f"set output {_quote(os.path.join(results_dir, 'chart.svg'))}",
        "set grid ytics",
        "set bmargin 12",
        f"set multiplot layout {rows},2 title 'libtpuring vs peers and kernel floors (median of rounds, bars min-max)'",
        *["\n" + p + "\nreset\nset grid ytics\nset bmargin 12" for p in panels],
        "unset multiplot",
    ])
    script_path = os.path.join(data_dir, "chart.gp")
    with open(script_path, "w") as f:
        f.write(script + "\n")
    result = subprocess.run(["gnuplot", script_path], capture_output=True, text=True)
    if result.returncode != 0:
        print("[bench] gnuplot failed:\n" + result.stderr[-2000:])
        return None
    return "chart.svg"
