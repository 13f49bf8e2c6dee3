#!/usr/bin/env python3
# The app's own costs, measured on the real window (issue 7's targets):
# its CPU while charting at the default 250 ms refresh with the engine idle,
# its peak memory, and its main loop and frames while the engine runs at
# full load.  Prints the JSON object of DESIGN.md "Benchmark output".
# Usage: build-aux/measure-app.py BUILD_DIR [SECONDS]   (needs a display;
# without one it runs itself under xvfb-run and a private session bus)
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

WARMUP_S = 10          # start-up, fonts, the first frames: not measured
LOAD_RATE = 3000       # queries/s: both engine threads busy on this machine


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        # The command name may hold spaces: fields count from after ")".
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def run_app(build, work, seconds, load):
    env = dict(os.environ,
               SYNMESH_DATA_DIR=os.path.join(work, "data"),
               SYNMESH_DB=os.path.join(work, "data", "synmesh.db"),
               XDG_CONFIG_HOME=os.path.join(work, "config"),
               GSETTINGS_BACKEND="keyfile",
               GSETTINGS_SCHEMA_DIR=os.path.join(build, "data"),
               # The watch wakes the main loop every 4 ms, a cost of its own:
               # only where stalls are measured.
               SYNMESH_STALL_WATCH="1" if load else "0",
               # Xvfb has no GPU: GL would be Mesa's software rasterizer, a
               # cost no desktop with a GPU pays.  GTK's cairo renderer is
               # the honest software path.
               GSK_RENDERER="cairo", GDK_DEBUG="gl-disable")
    args = [os.path.join(build, "app", "synaptic-mesh")]
    if load:
        args += ["--load", str(LOAD_RATE)]
    app = subprocess.Popen(args, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, text=True)
    time.sleep(WARMUP_S)
    t0, c0 = time.monotonic(), cpu_seconds(app.pid)
    time.sleep(seconds)
    t1, c1 = time.monotonic(), cpu_seconds(app.pid)
    rss = peak_rss_mib(app.pid)
    app.send_signal(signal.SIGTERM)
    _, err = app.communicate(timeout=60)
    stall = re.search(r"longest stall ([0-9.]+) ms", err)
    frame = re.search(r"frames: \d+, p99 ([0-9.]+) ms, longest ([0-9.]+) ms", err)
    return {
        "cpu_percent": 100 * (c1 - c0) / (t1 - t0),
        "rss_mib": rss,
        "stall_ms": float(stall.group(1)) if stall else float("nan"),
        "frame_p99_ms": float(frame.group(1)) if frame else float("nan"),
        "frame_max_ms": float(frame.group(2)) if frame else float("nan"),
        "exit": app.returncode,
    }


def result(name, params, value, unit, target=None, met=None):
    return {"name": name, "params": params, "value": value, "unit": unit,
            "baseline": None, "ratio": None, "target": target, "met": met}


def main():
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        # Services the private bus starts write to its stdout: only the
        # JSON object goes on.
        run = subprocess.run(["xvfb-run", "-a", "-s", "-screen 0 1280x1024x24",
                              "dbus-run-session", "--", sys.executable] + sys.argv,
                             stdout=subprocess.PIPE, text=True)
        out = run.stdout
        print(out[out.find("{"):] if "{" in out else out, end="")
        return run.returncode
    build = os.path.abspath(sys.argv[1])
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 30
    work = tempfile.mkdtemp(prefix="synmesh-measure-")
    try:
        os.makedirs(os.path.join(work, "config", "glib-2.0", "settings"))
        os.makedirs(os.path.join(work, "data"))
        with open(os.path.join(work, "config", "glib-2.0", "settings", "keyfile"), "w") as f:
            # Defaults (250 ms refresh), a free port for the node.
            f.write("[io/github/synmesh/SynapticMesh]\nmesh-bind='tcp://127.0.0.1:*'\n")
        idle = run_app(build, work, seconds, load=False)
        busy = run_app(build, work, seconds, load=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    idle_params = {"refresh_ms": 250, "seconds": seconds, "load": 0}
    busy_params = {"refresh_ms": 250, "seconds": seconds, "load": LOAD_RATE}
    peak = max(idle["rss_mib"], busy["rss_mib"])
    results = [
        result("app-cpu-idle-engine", idle_params, idle["cpu_percent"], "% of one core",
               "<= 3", idle["cpu_percent"] <= 3),
        result("app-cpu-full-load", busy_params, busy["cpu_percent"], "% of one core"),
        result("app-peak-rss", busy_params, peak, "MiB", "<= 150", peak <= 150),
        result("main-loop-longest-stall", busy_params, busy["stall_ms"], "ms", "<= 16",
               busy["stall_ms"] <= 16),
        result("frame-p99", busy_params, busy["frame_p99_ms"], "ms"),
        result("frame-longest", busy_params, busy["frame_max_ms"], "ms", "<= 16",
               busy["frame_max_ms"] <= 16),
    ]
    cpu, flags = platform.machine(), []
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
            elif line.startswith(("flags", "Features")) and not flags:
                flags = line.split(":", 1)[1].split()
    features = [f for f in ("sse4_1", "sse4_2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512dq",
                            "avx512bw", "avx512vl", "asimd") if f in flags]
    print(json.dumps({"bench": "app",
                      "machine": {"cpu": cpu, "features": features, "threads": os.cpu_count()},
                      "results": results}, indent=2))
    return 0 if idle["exit"] == 0 and busy["exit"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
