"""Set-up for tools/bench: Debian packages, the optimised Meson build, the Wine build."""
import os
import shutil
import subprocess
import sys

BASE_PACKAGES = [
    "meson", "ninja-build", "g++", "pkg-config", "liburing-dev", "libgtest-dev",
    "libbenchmark-dev", "libboost1.81-dev", "libtbb-dev", "libuv1-dev", "libglib2.0-dev",
    "gnuplot-nox",
]
WINE_PACKAGES = ["mingw-w64", "wine", "wine64"]


def log(message):
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def _installed(package):
    result = subprocess.run(["dpkg-query", "-W", "-f=${Status}", package],
                            capture_output=True, text=True)
    return result.returncode == 0 and "install ok installed" in result.stdout


def ensure_packages(with_wine):
    """apt-get installs whatever is missing (with sudo when not root)."""
    if not shutil.which("dpkg-query"):
        log("not a Debian system: skipping package installation")
        return
    wanted = BASE_PACKAGES + (WINE_PACKAGES if with_wine else [])
    missing = [p for p in wanted if not _installed(p)]
    if not missing:
        return
    prefix = [] if os.geteuid() == 0 else ["sudo"]
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    log("installing " + " ".join(missing))
    subprocess.run(prefix + ["apt-get", "update"], check=True, env=env)
    subprocess.run(prefix + ["apt-get", "install", "-y", "--no-install-recommends"] + missing,
                   check=True, env=env)


def build(root, build_dir):
    """Configures (or reconfigures, so S4-S6 follow the header) and builds. Builds with
    -k 0 so that every program that can be built is, even if one target fails."""
    options = ["--buildtype=release", "-Db_ndebug=true", "-Dbenchmarks=true", "-Dtests=false"]
    if os.path.exists(os.path.join(build_dir, "build.ninja")):
        command = ["meson", "setup", "--reconfigure", build_dir] + options
    else:
        command = ["meson", "setup", build_dir] + options
    log(" ".join(command))
    configured = subprocess.run(command, cwd=root, capture_output=True, text=True)
    if configured.returncode != 0:
        sys.stderr.write(configured.stdout[-4000:] + configured.stderr[-4000:])
        raise SystemExit("meson setup failed")
    for line in configured.stdout.splitlines():
        if line.startswith("Message:"):
            log(line[len("Message: "):])
    log(f"ninja -C {build_dir} -k 0")
    built = subprocess.run(["ninja", "-C", build_dir, "-k", "0"], cwd=root,
                           capture_output=True, text=True)
    if built.returncode != 0:
        failed = [l for l in built.stdout.splitlines() if l.startswith("FAILED:")]
        log("some targets failed to build; their rows will say so:")
        for line in failed:
            log("  " + line)
    return built.returncode == 0


def build_windows_scenarios(root, build_dir):
    """The same scenario sources as a Windows program (mingw-w64), run under Wine."""
    compiler = shutil.which("x86_64-w64-mingw32-gcc")
    if not compiler:
        log("x86_64-w64-mingw32-gcc not found: no Wine row")
        return None
    out_dir = os.path.join(build_dir, "bench", "wine")
    os.makedirs(out_dir, exist_ok=True)
    exe = os.path.join(out_dir, "bench-scenarios.exe")
    scenarios = os.path.join(root, "bench", "scenarios")
    sources = [os.path.join(scenarios, name) for name in sorted(os.listdir(scenarios))
               if name.endswith(".c")]
    sources.append(os.path.join(root, "bench", "common", "results.c"))
    command = [compiler, "-std=c11", "-O2", "-Wall", "-Wextra", "-D_WIN32_WINNT=0x0A00",
               "-DBENCH_HAVE_TIMERS", "-DBENCH_HAVE_WAITS", "-DBENCH_HAVE_ORIGINAL_API",
               "-I", os.path.join(scenarios, "mingw"), "-I", scenarios,
               "-I", os.path.join(root, "bench", "common"),
               *sources, "-o", exe, "-static", "-lpsapi"]
    log("building the Windows scenario program")
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        sys.stderr.write(result.stderr[-4000:])
        log("Windows build failed: no Wine row")
        return None
    return exe


def wine_environment(build_dir):
    prefix = os.path.abspath(os.path.join(build_dir, "wineprefix"))
    env = dict(os.environ, WINEPREFIX=prefix, WINEDEBUG="-all", WINEARCH="win64")
    if not os.path.isdir(prefix):
        log("creating the Wine prefix (once)")
        subprocess.run(["wineboot", "-i"], env=env, capture_output=True, timeout=600)
    return env


def wine_command():
    for name in ("wine64", "wine"):
        if shutil.which(name):
            return name
    return None


def load_average():
    """The one-minute load average: other work on the machine makes every figure noisy."""
    try:
        return os.getloadavg()[0]
    except OSError:
        return 0.0


def machine_description():
    def first_line(path, key):
        try:
            with open(path) as f:
                for line in f:
                    if line.startswith(key):
                        return line.split(":", 1)[1].strip()
        except OSError:
            pass
        return "unknown"

    def output(command):
        try:
            return subprocess.run(command, capture_output=True, text=True).stdout.strip()
        except OSError:
            return "unknown"

    return {
        "kernel": os.uname().release,
        "cpu": first_line("/proc/cpuinfo", "model name"),
        "cores": os.cpu_count(),
        "debian": output(["cat", "/etc/debian_version"]),
        "commit": output(["git", "rev-parse", "--short", "HEAD"]),
    }
