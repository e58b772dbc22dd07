"""Which program runs which scenario, and running them round after round."""
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field

ALL_SCENARIOS = ["S1", "S2", "S3", "S4", "S5", "S6", "S7", "S8", "S9"]
REFERENCE_IMPL = "libtpuring (direct)"
# The longest legitimate run (Wine's S9, or S3's 5,000 samples) takes seconds; a run past
# this is a hang, and that job is not retried in later rounds.
RUN_TIMEOUT_S = 90

# Peers, in table order: executable under <build>/bench/peers/ and the row name.
PEERS = [
    ("peer-asio-thread-pool", "boost.asio thread_pool"),
    ("peer-asio-io-context-uring", "boost.asio io_context (io_uring)"),
    ("peer-onetbb-task-group", "oneTBB task_group"),
    ("peer-libuv-queue-work", "libuv uv_queue_work"),
    ("peer-glib-thread-pool", "GLib GThreadPool"),
    ("peer-naive-queue", "naive mutex+condvar"),
]


@dataclass
class Implementation:
    name: str
    command: list            # the program and its fixed arguments
    scenarios: list          # scenarios it provides
    env: dict = None
    kind: str = "impl"       # "impl" or "floor"
    missing_reason: str = "" # set when the program could not be built


@dataclass
class Job:
    impl: Implementation
    scenario: str
    extra_args: list = field(default_factory=list)


def _listing(command, env=None):
    try:
        result = subprocess.run(command + ["--list"], capture_output=True, text=True,
                                timeout=120, env=env)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if result.returncode != 0:
        return None
    return [line.split() for line in result.stdout.splitlines() if line.strip()]


def discover(build_dir, wine_exe=None, wine_env=None, wine_cmd=None):
    """Everything that can run, including placeholder rows for what could not be built."""
    bench = os.path.join(build_dir, "bench")
    impls = []

    scenarios_bin = os.path.join(bench, "scenarios", "bench-scenarios")
    listing = _listing([scenarios_bin]) if os.path.exists(scenarios_bin) else None
    if listing is None:
        reason = "not built (library does not link yet)"
        impls.append(Implementation(REFERENCE_IMPL, [], [], missing_reason=reason))
        impls.append(Implementation("libtpuring (ring)", [], [], missing_reason=reason))
    else:
        impls.append(Implementation(REFERENCE_IMPL, [scenarios_bin, "--mode", "direct"],
                                    [row[0] for row in listing]))
        impls.append(Implementation("libtpuring (ring)", [scenarios_bin, "--mode", "ring"],
                                    [row[0] for row in listing if "ring" in row[1:]]))

    if wine_exe and wine_cmd:
        command = [wine_cmd, wine_exe]
        listing = _listing(command, env=wine_env)
        if listing is None:
            impls.append(Implementation("Wine (same scenarios, mingw-w64)", [], [],
                                        missing_reason="the Windows program did not run"))
        else:
            impls.append(Implementation("Wine (same scenarios, mingw-w64)", command,
                                        [row[0] for row in listing], env=wine_env))

    for program, name in PEERS:
        path = os.path.join(bench, "peers", program)
        listing = _listing([path]) if os.path.exists(path) else None
        if listing is None:
            impls.append(Implementation(name, [], [], missing_reason="not built (package missing)"))
        else:
            impls.append(Implementation(name, [path], [row[0] for row in listing]))

    floors_bin = os.path.join(bench, "floors", "bench-floors")
    for row in (_listing([floors_bin]) or []) if os.path.exists(floors_bin) else []:
        floor_name, scenario = row[0], row[1]
        impls.append(Implementation(f"floor:{floor_name}", [floors_bin, "--floor", floor_name],
                                    [scenario], kind="floor"))
    return impls


def make_jobs(impls, scenarios, quick):
    extra = ["--quick"] if quick else []
    return [Job(impl, scenario, extra)
            for scenario in scenarios
            for impl in impls
            if impl.command and scenario in impl.scenarios]


def _run_one(job):
    command = list(job.impl.command)
    if job.impl.kind != "floor":
        command += ["--scenario", job.scenario]
    command += job.extra_args
    started = time.monotonic()
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=RUN_TIMEOUT_S,
                                env=job.impl.env)
        status, stdout, stderr = result.returncode, result.stdout, result.stderr
    except subprocess.TimeoutExpired as expired:
        status = "timeout"
        stdout = expired.stdout.decode() if isinstance(expired.stdout, bytes) else (expired.stdout or "")
        stderr = f"timed out after {RUN_TIMEOUT_S} s"
    lines = []
    for text in stdout.splitlines():
        text = text.strip()
        if text.startswith("{"):
            try:
                lines.append(json.loads(text))
            except json.JSONDecodeError:
                pass
    return status, lines, stderr.strip(), time.monotonic() - started


def run_rounds(jobs, rounds):
    """Runs every job once per round, rounds outermost, so slow drifts of the machine spread
    over all rows alike. Returns the raw records and the failures."""
    records, failures, hung = [], [], set()
    for round_index in range(rounds):
        round_started = time.monotonic()
        for job in jobs:
            key = (job.impl.name, job.scenario)
            if key in hung:
                continue
            status, lines, stderr, seconds = _run_one(job)
            if status == "timeout":
                hung.add(key)
            if status != 0:
                failures.append({"impl": job.impl.name, "scenario": job.scenario,
                                 "round": round_index, "status": status,
                                 "stderr": stderr[-2000:]})
                print(f"[bench]   {job.impl.name} {job.scenario}: failed ({status}) {stderr[-300:]}",
                      file=sys.stderr, flush=True)
            for line in lines:
                line["round"] = round_index
                if job.impl.kind == "floor":
                    line["floor"] = True
                # The row name comes from the plan, so renamed rows stay consistent.
                if job.impl.kind != "floor":
                    line["impl"] = job.impl.name
                records.append(line)
        print(f"[bench] round {round_index + 1}/{rounds} done in {time.monotonic() - round_started:.0f} s",
              file=sys.stderr, flush=True)
    return records, failures
