#!/usr/bin/env python3
"""Storage and ingest, vigil against Prometheus, side by side in one run.

Runs the same remote_write workload (bench/bench_rwgen) against `vigil serve`
and against Debian's `prometheus` (--web.enable-remote-write-receiver, on
127.0.0.1, each in its own fresh data directory), one server after the
other, and prints a table for both and the ratios vigil / Prometheus:

 ingest   for each --series count: SERIES series x --samples samples at 15 s
          (the newest about now), node_exporter-like values, one sample per
          series per request (as a live remote_write sends).
          1. samples ingested per CPU second of the server: user+system time
             of the server process (/proc/<pid>/stat) from before the
             generator starts to one second after it ends;
          2. resident memory (VmRSS) per active series, five seconds after
             the generator ended, and the peak (VmHWM);
          4. kill -9, restart on the same directory, time from exec until
             /-/ready answers 200 (a full WAL to replay).
 disk     for each value model (node, random): --disk-series series over
          --disk-hours hours at 15 s with --jitter-ms (5) ms of jitter, old
          timestamps sent in time order into a fresh store (20 consecutive samples of a
          series per request). Both servers cut data older than 3 hours
          out of their head into 2-hour blocks; the script waits until each
          has (headStats of /api/v1/status/tsdb span at most 3 h), then:
          3. bytes per sample of
             - vigil: its whole data directory after SIGTERM (blocks, WAL,
               the head checkpoint);
             - Prometheus: a snapshot with its head (POST
               /api/v1/admin/tsdb/snapshot: its blocks plus the head written
               as one more block), the fairest figure for "blocks + head";
             - for reference, Prometheus's whole data directory after
               SIGTERM (blocks + wal + chunks_head) and vigil's snapshot.

It never fails on a figure: the exit status is 0 unless a server could not
run at all. Timings move by ±30 % between runs: use --runs 2 (the default).

Usage: bench/storage.py [--build build] [--series 100000,1000000] ...
       (see --help)
"""
import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http(method, url, body=None, timeout=10):
    req = urllib.request.Request(url, data=body, method=method)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def mem_status(pid):
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "VmHWM", "RssAnon", "RssFile"):
                out[k] = int(v.split()[0]) * 1024
    return out


def tree_bytes(path, skip=("snapshots",)):
    """Bytes of the regular files under path, not following links, leaving
    out directories named in skip."""
    total = 0
    for d, dirs, files in os.walk(path):
        dirs[:] = [x for x in dirs if x not in skip]
        for f in files:
            try:
                st = os.lstat(os.path.join(d, f))
            except FileNotFoundError:
                continue
            total += st.st_size
    return total


class Server:
    """One server process on a fresh data directory."""

    def __init__(self, kind, build, workdir):
        self.kind = kind
        self.build = build
        self.dir = os.path.join(workdir, kind)
        os.makedirs(self.dir, exist_ok=True)
        self.data = os.path.join(self.dir, "data")
        self.port = free_port()
        self.url = "http://127.0.0.1:%d" % self.port
        self.proc = None
        self.config = os.path.join(self.dir, "config.yml")
        with open(self.config, "w") as f:
            f.write("global:\n  scrape_interval: 15s\n")
        self.log = open(os.path.join(self.dir, "log"), "ab")

    def cmd(self):
        if self.kind == "vigil":
            return [os.path.join(self.build, "vigil"), "serve", "--config.file=" + self.config,
                    "--storage.path=" + self.data,
                    "--web.listen-address=127.0.0.1:%d" % self.port, "--web.enable-admin-api"]
        return ["prometheus", "--config.file=" + self.config, "--storage.tsdb.path=" + self.data,
                "--web.listen-address=127.0.0.1:%d" % self.port,
                "--web.enable-remote-write-receiver", "--web.enable-admin-api"]

    def tsdb_dir(self):
        return os.path.join(self.data, "tsdb") if self.kind == "vigil" else self.data

    def start(self, timeout=900):
        """Starts the server and returns the seconds until /-/ready is 200."""
        t0 = time.monotonic()
        self.proc = subprocess.Popen(self.cmd(), stdout=self.log, stderr=subprocess.STDOUT)
        deadline = t0 + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("%s exited with %d (log: %s/log)" %
                                   (self.kind, self.proc.returncode, self.dir))
            try:
                if http("GET", self.url + "/-/ready", timeout=2)[0] == 200:
                    return time.monotonic() - t0
            except OSError:
                pass
            time.sleep(0.01)
        raise RuntimeError("%s not ready within %ds" % (self.kind, timeout))

    def stop(self, sig=signal.SIGTERM, timeout=600):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def pid(self):
        return self.proc.pid

    def wipe(self):
        shutil.rmtree(self.data, ignore_errors=True)


def run_gen(args, url, series, samples, model, start_ms=None, steps=1, batch=2000):
    cmd = [os.path.join(args.build, "bench_rwgen"), "--url=" + url + "/api/v1/write",
           "--series=%d" % series, "--samples=%d" % samples, "--model=" + model,
           "--connections=%d" % args.connections, "--steps=%d" % steps, "--batch=%d" % batch,
           "--interval=15s", "--jitter=" + ("%dms" % args.jitter_ms if args.jitter_ms else "0"),
           "--timeout=600"]
    if start_ms is not None:
        cmd.append("--start=%d" % start_ms)
    out = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    result = None
    for line in out.stdout.splitlines():
        if line.startswith("RESULT "):
            result = json.loads(line[7:])
        elif args.verbose:
            print("    " + line)
    if result is None:
        raise RuntimeError("bench_rwgen failed:\n" + out.stdout)
    if result["errors"]:
        print("    generator reported errors:\n" + "\n".join(
            "    " + x for x in out.stdout.splitlines() if not x.startswith("RESULT")))
    return result


# ------------------------------------------------------------------ ingest

def ingest_one(args, kind, series, workdir):
    srv = Server(kind, args.build, workdir)
    srv.wipe()
    srv.start()
    try:
        pid = srv.pid()
        cpu0 = cpu_seconds(pid)
        g = run_gen(args, srv.url, series, args.samples, "node")
        time.sleep(1)
        cpu1 = cpu_seconds(pid)
        time.sleep(4)
        mem = mem_status(pid)
        wal = tree_bytes(os.path.join(srv.tsdb_dir(), "wal"))
        srv.stop(signal.SIGKILL)
        ready = srv.start()
        mem_after = mem_status(srv.pid())
    finally:
        srv.stop()
    if not args.keep:
        srv.wipe()
    cpu = cpu1 - cpu0
    return {"series": series, "samples": g["samples"], "errors": g["errors"],
            "wall_s": g["seconds"], "server_cpu_s": cpu, "gen_cpu_s": g["gen_cpu"],
            "samples_per_s": g["samples"] / g["seconds"],
            "samples_per_cpu_s": g["samples"] / cpu if cpu > 0 else float("nan"),
            "rss": mem.get("VmRSS", 0), "hwm": mem.get("VmHWM", 0),
            "rss_anon": mem.get("RssAnon", 0),
            "bytes_per_series": mem.get("VmRSS", 0) / series,
            "wal_bytes": wal, "ready_s": ready, "rss_after_restart": mem_after.get("VmRSS", 0)}


# -------------------------------------------------------------------- disk

def head_span(srv):
    """Seconds between the oldest and newest sample in the head."""
    st, body = http("GET", srv.url + "/api/v1/status/tsdb")
    if st != 200:
        return None
    h = json.loads(body)["data"]["headStats"]
    return (h["maxTime"] - h["minTime"]) / 1000.0


def snapshot_bytes(srv):
    st, body = http("POST", srv.url + "/api/v1/admin/tsdb/snapshot", timeout=600)
    if st != 200:
        return None, "HTTP %d %s" % (st, body[:200])
    name = json.loads(body)["data"]["name"]
    path = os.path.join(srv.tsdb_dir(), "snapshots", name)
    if not os.path.isdir(path):
        return None, "no directory " + path
    return tree_bytes(path, skip=()), None


def disk_one(args, kind, model, workdir):
    srv = Server(kind, args.build, workdir)
    srv.wipe()
    srv.start()
    samples = int(args.disk_hours * 3600 / 15)
    now = int(time.time() * 1000)
    # old data, aligned to 2 hours so both stores cut the same block ranges
    start = (now - int(args.disk_hours * 3600 * 1000) - 2 * 3600 * 1000) // 7200000 * 7200000
    try:
        g = run_gen(args, srv.url, args.disk_series, samples, model, start_ms=start, steps=20,
                    batch=2000)
        # Let each server's own head compaction catch up before measuring:
        # both keep at most 3 hours in the head and cut older data into
        # 2-hour blocks (Prometheus right after appends, vigil in its
        # maintenance round, the first a minute after start).
        deadline = time.monotonic() + 150
        while time.monotonic() < deadline:
            span = head_span(srv)
            if span is not None and span <= 3 * 3600 + 60:
                break
            time.sleep(1)
        time.sleep(2)
        snap, snap_err = snapshot_bytes(srv)
        srv.stop(signal.SIGTERM)
        tsdb = srv.tsdb_dir()
        whole = tree_bytes(srv.data)
        bdir = os.path.join(tsdb, "blocks") if kind == "vigil" else tsdb
        blocks = sum(tree_bytes(os.path.join(bdir, e)) for e in os.listdir(bdir)
                     if len(e) == 26 and os.path.isdir(os.path.join(bdir, e))) \
            if os.path.isdir(bdir) else 0
    finally:
        srv.stop()
    if not args.keep:
        srv.wipe()
    n = g["samples"] or 1
    return {"model": model, "series": args.disk_series, "samples": g["samples"],
            "errors": g["errors"], "whole": whole, "blocks": blocks, "snapshot": snap,
            "snapshot_err": snap_err, "whole_per_sample": whole / n,
            "blocks_per_sample": blocks / n,
            "snapshot_per_sample": snap / n if snap is not None else None}


# ------------------------------------------------------------------ report

def ratio(a, b):
    if a is None or b is None or not b:
        return float("nan")
    return a / b


def fmt(x, spec):
    return "n/a" if x is None else format(x, spec)


def print_ingest(runs):
    print("\n== ingest: samples per server CPU second, memory per series, restart")
    hdr = "%-9s %-11s %12s %10s %10s %11s %10s %10s %10s %9s %9s"
    print(hdr % ("series", "server", "samples/s", "cpu s", "samples/", "RSS MiB", "bytes/",
                 "peak MiB", "WAL MiB", "ready s", "errors"))
    print(hdr % ("", "", "(wall)", "", "cpu s", "", "series", "", "", "", ""))
    for run_no, res in enumerate(runs, 1):
        for series, pair in res.items():
            v, p = pair["vigil"], pair["prometheus"]
            for name, r in (("vigil", v), ("prometheus", p)):
                print("%-9s %-11s %12.0f %10.2f %10.0f %11.1f %10.0f %10.1f %10.1f %9.2f %9d" % (
                    series, name, r["samples_per_s"], r["server_cpu_s"], r["samples_per_cpu_s"],
                    r["rss"] / 2**20, r["bytes_per_series"], r["hwm"] / 2**20,
                    r["wal_bytes"] / 2**20, r["ready_s"], r["errors"]))
            print("%-9s %-11s %12.2f %10.2f %10.2f %11.2f %10.2f %10.2f %10.2f %9.2f   (run %d)" % (
                series, "ratio v/p", ratio(v["samples_per_s"], p["samples_per_s"]),
                ratio(v["server_cpu_s"], p["server_cpu_s"]),
                ratio(v["samples_per_cpu_s"], p["samples_per_cpu_s"]), ratio(v["rss"], p["rss"]),
                ratio(v["bytes_per_series"], p["bytes_per_series"]), ratio(v["hwm"], p["hwm"]),
                ratio(v["wal_bytes"], p["wal_bytes"]), ratio(v["ready_s"], p["ready_s"]),
                run_no))


def print_disk(runs):
    print("\n== disk: bytes per sample (vigil: whole data dir after SIGTERM; "
          "Prometheus: snapshot = blocks + head as a block)")
    hdr = "%-7s %-11s %11s %12s %12s %12s %12s"
    print(hdr % ("model", "server", "samples", "whole dir", "blocks only", "snapshot",
                 "headline"))
    for run_no, res in enumerate(runs, 1):
        for model, pair in res.items():
            v, p = pair["vigil"], pair["prometheus"]
            for name, r in (("vigil", v), ("prometheus", p)):
                head = r["whole_per_sample"] if name == "vigil" else r["snapshot_per_sample"]
                print("%-7s %-11s %11d %12.3f %12.3f %12s %12s" % (
                    model, name, r["samples"], r["whole_per_sample"], r["blocks_per_sample"],
                    fmt(r["snapshot_per_sample"], ".3f"), fmt(head, ".3f")))
                if r["snapshot_err"]:
                    print("        (%s snapshot failed: %s)" % (name, r["snapshot_err"]))
            print("%-7s %-11s %11s %12.3f %12.3f %12.3f %12.3f   (run %d)" % (
                model, "ratio v/p", "", ratio(v["whole_per_sample"], p["whole_per_sample"]),
                ratio(v["blocks_per_sample"], p["blocks_per_sample"]),
                ratio(v["snapshot_per_sample"], p["snapshot_per_sample"]),
                ratio(v["whole_per_sample"], p["snapshot_per_sample"]), run_no))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build"),
                    help="build directory with vigil and bench_rwgen (default build)")
    ap.add_argument("--series", default="100000",
                    help="comma-separated series counts for the ingest phase (default 100000)")
    ap.add_argument("--samples", type=int, default=30,
                    help="samples per series in the ingest phase (default 30: 7.5 min)")
    ap.add_argument("--connections", type=int, default=4)
    ap.add_argument("--disk-series", type=int, default=2000)
    ap.add_argument("--disk-hours", type=float, default=8)
    ap.add_argument("--models", default="node,random")
    ap.add_argument("--jitter-ms", type=int, default=5,
                    help="scrape times move by up to this many ms (default 5; 0: exactly 15 s)")
    ap.add_argument("--runs", type=int, default=2)
    ap.add_argument("--skip-ingest", action="store_true")
    ap.add_argument("--skip-disk", action="store_true")
    ap.add_argument("--keep", action="store_true", help="keep the data directories")
    ap.add_argument("--workdir", help="where the data directories go (default: a new temp dir)")
    ap.add_argument("--json", help="also write every figure to this file")
    ap.add_argument("-v", "--verbose", action="store_true", help="print the generator's output")
    args = ap.parse_args()
    args.build = os.path.abspath(args.build)
    for prog in ("vigil", "bench_rwgen"):
        if not os.access(os.path.join(args.build, prog), os.X_OK):
            sys.exit("storage.py: %s/%s is missing (cmake --build %s --target vigil bench_rwgen)"
                     % (args.build, prog, args.build))
    if not shutil.which("prometheus"):
        sys.exit("storage.py: prometheus is not installed (scripts/setup installs it)")
    workdir = args.workdir or tempfile.mkdtemp(prefix="vigil-bench-storage-")
    os.makedirs(workdir, exist_ok=True)
    with open("/proc/cpuinfo") as f:
        cpu_model = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")),
                         "?")
    print("machine: %d CPUs (%s); prometheus %s" % (
        os.cpu_count(), cpu_model,
        subprocess.run(["prometheus", "--version"], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True).stdout.split("\n")[0]))
    print("command: " + " ".join([os.path.relpath(sys.argv[0], os.getcwd())] + sys.argv[1:]))
    sys.stdout.flush()
    ingest_runs, disk_runs = [], []
    all_figures = {"ingest": ingest_runs, "disk": disk_runs}
    for run_no in range(1, args.runs + 1):
        if not args.skip_ingest:
            res = {}
            for series in [int(x) for x in args.series.split(",") if x]:
                res[series] = {}
                for kind in ("vigil", "prometheus"):
                    print("run %d: ingest %d series x %d samples into %s ..." % (
                        run_no, series, args.samples, kind), end=" ", flush=True)
                    t = time.monotonic()
                    res[series][kind] = ingest_one(args, kind, series, workdir)
                    print("%.0f s" % (time.monotonic() - t), flush=True)
            ingest_runs.append(res)
        if not args.skip_disk:
            res = {}
            for model in args.models.split(","):
                res[model] = {}
                for kind in ("vigil", "prometheus"):
                    print("run %d: disk, %s model, %d series x %g h into %s ..." % (
                        run_no, model, args.disk_series, args.disk_hours, kind), end=" ",
                        flush=True)
                    t = time.monotonic()
                    res[model][kind] = disk_one(args, kind, model, workdir)
                    print("%.0f s" % (time.monotonic() - t), flush=True)
            disk_runs.append(res)
    if ingest_runs:
        print_ingest(ingest_runs)
    if disk_runs:
        print_disk(disk_runs)
    print("\ntargets: ingest per CPU s >= 3x Prometheus (ratio >= 3), memory per series <= 1/3 "
          "(ratio <= 0.33), bytes per sample <= 1/2 (headline ratio <= 0.5)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(all_figures, f, indent=1)
    if not args.keep and not args.workdir:
        shutil.rmtree(workdir, ignore_errors=True)


main()
