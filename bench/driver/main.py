"""tools/bench - how libtpuring compares, in one run on this machine.

Installs what is missing (Debian packages; mingw-w64 and Wine only with --wine), builds
optimised into build-bench/, runs every scenario for every implementation for several rounds,
prints one table per scenario with the ratio to libtpuring (direct dispatch), and writes
bench/results/report.md, bench/results/results.json and bench/results/chart.svg.

  tools/bench                      # everything, 5 rounds
  tools/bench --scenarios S1,S3    # pick scenarios
  tools/bench --rounds 3
  tools/bench --quick              # 1 round, smaller sizes: a smoke run
  tools/bench --wine               # add the same scenario sources built for Windows, under Wine
  tools/bench --micro              # also run the Google Benchmark micro-benchmarks
"""
import argparse
import os
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # keep the source tree clean
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "bench"))

from driver import chart, environment, plan, report  # noqa: E402
from driver.scenarios import SCENARIOS  # noqa: E402


def parse_arguments():
    parser = argparse.ArgumentParser(prog="tools/bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=None, help="rounds per scenario (default 5; 1 with --quick)")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS), help="comma-separated, e.g. S1,S3")
    parser.add_argument("--quick", action="store_true", help="one round with smaller sizes")
    parser.add_argument("--wine", action="store_true", help="also run the scenarios built for Windows under Wine")
    parser.add_argument("--micro", action="store_true", help="also run the Google Benchmark micro-benchmarks")
    parser.add_argument("--no-install", action="store_true", help="do not apt-get install missing packages")
    parser.add_argument("--no-build", action="store_true", help="use the existing build as it is")
    parser.add_argument("--build-dir", default=os.path.join(ROOT, "build-bench"))
    parser.add_argument("--results-dir", default=os.path.join(ROOT, "bench", "results"))
    args = parser.parse_args()
    args.scenarios = [s.strip().upper() for s in args.scenarios.split(",") if s.strip()]
    unknown = [s for s in args.scenarios if s not in SCENARIOS]
    if unknown:
        parser.error(f"unknown scenarios: {', '.join(unknown)} (known: {', '.join(SCENARIOS)})")
    if args.rounds is None:
        args.rounds = 1 if args.quick else 5
    return args


def run_micro(build_dir, results_dir):
    binary = os.path.join(build_dir, "bench", "micro", "bench-micro")
    if not os.path.exists(binary):
        environment.log("bench-micro was not built")
        return
    out = os.path.join(results_dir, "micro.json")
    environment.log("running the micro-benchmarks")
    try:
        subprocess.run([binary, "--benchmark_min_time=0.2", f"--benchmark_out={out}",
                        "--benchmark_out_format=json"], check=False, timeout=900)
    except subprocess.TimeoutExpired:
        environment.log("bench-micro did not finish within 15 minutes")


def main():
    args = parse_arguments()
    started = time.monotonic()
    load_before = environment.load_average()  # before our own build adds to it
    if not args.no_install:
        environment.ensure_packages(args.wine)
    if not args.no_build:
        environment.build(ROOT, args.build_dir)

    wine_exe = wine_env = wine_cmd = None
    if args.wine:
        wine_exe = environment.build_windows_scenarios(ROOT, args.build_dir)
        wine_cmd = environment.wine_command()
        if wine_exe and wine_cmd:
            wine_env = environment.wine_environment(args.build_dir)

    if load_before > 0.5 * (os.cpu_count() or 1):
        environment.log(f"warning: the machine is busy (load average {load_before:.1f}); "
                        "figures will be noisy")
    impls = plan.discover(args.build_dir, wine_exe, wine_env, wine_cmd)
    jobs = plan.make_jobs(impls, args.scenarios, args.quick)
    environment.log(f"{len(jobs)} runs per round, {args.rounds} round(s)")
    records, failures = plan.run_rounds(jobs, args.rounds)

    os.makedirs(args.results_dir, exist_ok=True)
    summary = report.summarise(records)
    machine = environment.machine_description()
    machine["load_average_at_start"] = load_before
    machine["load_average_at_end"] = environment.load_average()
    config = {"rounds": args.rounds, "quick": args.quick, "scenarios": args.scenarios, "wine": args.wine}
    tables = report.build_tables(impls, summary, args.scenarios, failures, args.rounds)
    chart.set_row_order([impl.name for impl in impls])
    chart_name = chart.draw(summary, args.results_dir)
    report.write_markdown(os.path.join(args.results_dir, "report.md"), tables, machine, config, failures,
                          chart_name)
    report.write_json(os.path.join(args.results_dir, "results.json"), records, summary, failures, machine,
                      config, impls)
    for table in tables:
        print(report.render_markdown_table(table))
    if args.micro:
        run_micro(args.build_dir, args.results_dir)
    written = [os.path.join(args.results_dir, "report.md")]
    if chart_name:
        written.append(os.path.join(args.results_dir, chart_name))
    environment.log(f"wrote {', '.join(os.path.relpath(path) for path in written)} "
                    f"({time.monotonic() - started:.0f} s in all)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
