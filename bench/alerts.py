#!/usr/bin/env python3
"""Alertmanager, vigil's built-in one against the real one, side by side in one run.

Runs the same load (bench/bench_amgen) against `vigil serve
--alertmanager.config.file` (its Alertmanager API v2 under /api/v2 on its own
port; a prometheus.yml with no scrape jobs and the host collectors off) and
against Debian's `prometheus-alertmanager` (--cluster.listen-address= , on
127.0.0.1), each in a fresh data directory, one server after the other, and
prints both figures and the ratio vigil / Alertmanager:

 ingest  for each --batches size (64: Prometheus 2.x's notifier, 256: 3.x's,
         1000): a fresh server, --alerts distinct alerts POSTed to
         /api/v2/alerts over --connections keep-alive connections, then the
         same alerts again (Prometheus resends every firing alert each
         evaluation: the second pass updates, the first inserts).
         Alert i has six labels (alertname among 20 node_exporter-style
         alerts, instance, job, severity, cluster, team), two annotations,
         endsAt an hour ahead; the route groups by [alertname, cluster] into a
         receiver without integrations.
         1. alerts/s (wall) and the server's CPU seconds (user+system from
            /proc/<pid>/stat, from before the first request to one second
            after the last answer), CPU µs per alert;
         2. per-request latency p50 / p99 / max and the requests over 1 s
            (an ingest that pauses while its store grows shows there);
 memory  resident memory (VmRSS) before the load and once the server has
         settled after it (under 2 % of a CPU for a second, at most 20 s), its
         peak (VmHWM) and the growth per alert; the active alerts the server
         reports (alertmanager_alerts on /metrics). Taken from the ingest run
         with the largest batch, and with --million also for 1 000 000
         alerts (a fresh server, batch 1000).
 notify  --groups alerts with group_by [alertname, instance] (every alert its
         own group), group_wait 1s, group_interval 5s, startsAt the time of
         sending (a group whose first alert started more than group_wait ago
         is flushed at once; fresh ones all wait), a webhook receiver:
         bench_amgen's sink on 127.0.0.1, which answers 200 at once and
         counts notifications and distinct groupKeys. Seconds from the first
         POST until every group was notified, notifications/s between the
         first and the last, the server's CPU; then one more group_interval
         to count notifications nobody asked for (there should be none).

If vigil does not start with --alertmanager.config.file, or answers
/api/v2/alerts with 404, the script says so and measures the Alertmanager
alone. It never fails on a figure; timings move by ±20 % between runs.

Usage: bench/alerts.py [--build build] [--alerts 100000] [--million] [--quick]
       [--json FILE] (see --help)
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
AM_BIN = "prometheus-alertmanager"
KINDS = ("vigil", "alertmanager")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http(method, url, body=None, timeout=10, headers=None):
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
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
            if k in ("VmRSS", "VmHWM", "RssAnon"):
                out[k] = int(v.split()[0]) * 1024
    return out


INGEST_CONFIG = """route:
  receiver: "null"
  group_by: [alertname, cluster]
receivers:
  - name: "null"
"""

NOTIFY_CONFIG = """route:
  receiver: sink
  group_by: [alertname, instance]
  group_wait: 1s
  group_interval: 5s
  repeat_interval: 4h
receivers:
  - name: sink
    webhook_configs:
      - url: http://127.0.0.1:%d/hook
        send_resolved: false
"""


class Server:
    """One Alertmanager (vigil's or the real one) on a fresh data directory."""

    def __init__(self, kind, build, workdir, am_config):
        self.kind = kind
        self.build = build
        self.dir = os.path.join(workdir, kind)
        shutil.rmtree(self.dir, ignore_errors=True)
        os.makedirs(self.dir)
        self.data = os.path.join(self.dir, "data")
        self.am_data = os.path.join(self.dir, "am-data")
        self.port = free_port()
        self.url = "http://127.0.0.1:%d" % self.port
        self.am_config = os.path.join(self.dir, "alertmanager.yml")
        with open(self.am_config, "w") as f:
            f.write(am_config)
        self.config = os.path.join(self.dir, "prometheus.yml")
        with open(self.config, "w") as f:
            f.write("global:\n  scrape_interval: 15s\nvigil:\n  host:\n    enabled: false\n")
        self.log_path = os.path.join(self.dir, "log")
        self.log = open(self.log_path, "ab")
        self.proc = None

    def cmd(self):
        if self.kind == "vigil":
            return [os.path.join(self.build, "vigil"), "serve", "--config.file=" + self.config,
                    "--storage.tsdb.path=" + self.data,
                    "--web.listen-address=127.0.0.1:%d" % self.port,
                    "--alertmanager.config.file=" + self.am_config,
                    "--alertmanager.storage.path=" + self.am_data]
        return [AM_BIN, "--config.file=" + self.am_config, "--storage.path=" + self.am_data,
                "--web.listen-address=127.0.0.1:%d" % self.port, "--cluster.listen-address="]

    def log_tail(self, n=3):
        try:
            with open(self.log_path, "rb") as f:
                lines = f.read().decode("utf-8", "replace").strip().splitlines()
            return " | ".join(lines[-n:])
        except OSError:
            return ""

    def start(self, timeout=60):
        self.proc = subprocess.Popen(self.cmd(), stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("%s exited with %d: %s" % (self.kind, self.proc.returncode,
                                                             self.log_tail()))
            try:
                if http("GET", self.url + "/-/ready", timeout=2)[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.02)
        raise RuntimeError("%s not ready within %ds" % (self.kind, timeout))

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        self.log.close()

    def pid(self):
        return self.proc.pid

    def active_alerts(self):
        """The alerts the server holds, by its alertmanager_alerts gauges."""
        try:
            st, body = http("GET", self.url + "/metrics", timeout=30)
        except OSError:
            return None
        if st != 200:
            return None
        total, seen = 0, False
        for line in body.decode("utf-8", "replace").splitlines():
            if line.startswith("alertmanager_alerts{"):
                seen = True
                total += int(float(line.rsplit(" ", 1)[1]))
        return total if seen else None

    def wipe(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def vigil_available(args, workdir):
    """None when vigil's Alertmanager answers, else why not."""
    if not os.access(os.path.join(args.build, "vigil"), os.X_OK):
        return "%s/vigil is missing" % args.build
    srv = Server("vigil", args.build, workdir, INGEST_CONFIG)
    try:
        srv.start()
        st, body = http("POST", srv.url + "/api/v2/alerts", b"[]",
                        headers={"Content-Type": "application/json"})
        if st // 100 != 2:
            return "POST /api/v2/alerts answered HTTP %d %s" % (
                st, body[:120].decode("utf-8", "replace").strip())
        return None
    except (RuntimeError, OSError) as e:
        return str(e)
    finally:
        srv.stop()
        srv.wipe()


def settle(pid, max_s=20.0, min_s=2.0):
    """Waits until the process used under 2 % of a CPU for a second."""
    t0 = time.monotonic()
    while True:
        c0 = cpu_seconds(pid)
        time.sleep(1)
        if (cpu_seconds(pid) - c0 < 0.02 and time.monotonic() - t0 >= min_s) or \
                time.monotonic() - t0 >= max_s:
            return time.monotonic() - t0


def run_send(args, url, n, batch, starts_now=False):
    cmd = [os.path.join(args.build, "bench_amgen"), "send", "--url=" + url, "--alerts=%d" % n,
           "--batch=%d" % batch, "--connections=%d" % args.connections, "--timeout=300"]
    if starts_now:
        cmd.append("--starts-now")
    out = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    for line in out.stdout.splitlines():
        if line.startswith("RESULT "):
            r = json.loads(line[7:])
            if r["errors"]:
                print("\n    %d failed requests, first: %s" % (r["errors"], r["first_error"]),
                      end=" ")
            return r
        if args.verbose:
            print("    " + line)
    raise RuntimeError("bench_amgen send failed:\n" + out.stdout)


# ------------------------------------------------------------------ ingest

def ingest_one(args, kind, n, batch, workdir, refresh=True):
    srv = Server(kind, args.build, workdir, INGEST_CONFIG)
    srv.start()
    try:
        pid = srv.pid()
        time.sleep(0.5)
        idle = mem_status(pid)
        c0 = cpu_seconds(pid)
        first = run_send(args, srv.url, n, batch)
        time.sleep(1)
        c1 = cpu_seconds(pid)
        second = None
        if refresh:
            second = run_send(args, srv.url, n, batch)
            time.sleep(1)
        c2 = cpu_seconds(pid)
        settle_s = settle(pid)
        mem = mem_status(pid)
        active = srv.active_alerts()
    finally:
        srv.stop()
        if not args.keep:
            srv.wipe()
    res = {"kind": kind, "alerts": n, "batch": batch, "insert": first, "refresh": second,
           "insert_cpu_s": c1 - c0, "refresh_cpu_s": (c2 - c1) if refresh else None,
           "rss_idle": idle.get("VmRSS", 0), "rss": mem.get("VmRSS", 0),
           "hwm": mem.get("VmHWM", 0), "rss_anon": mem.get("RssAnon", 0),
           "settle_s": settle_s, "active_reported": active}
    res["insert_per_s"] = first["alerts"] / first["seconds"] if first["seconds"] else 0
    res["refresh_per_s"] = (second["alerts"] / second["seconds"]
                            if second and second["seconds"] else None)
    res["bytes_per_alert"] = (res["rss"] - res["rss_idle"]) / n
    return res


# ------------------------------------------------------------------ notify

def sink_stats(port):
    st, body = http("GET", "http://127.0.0.1:%d/stats" % port, timeout=5)
    return json.loads(body) if st == 200 else None


def notify_one(args, kind, groups, workdir):
    sink_port = free_port()
    sink = subprocess.Popen([os.path.join(args.build, "bench_amgen"), "sink",
                             "--port=%d" % sink_port, "--max-seconds=900"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    srv = Server(kind, args.build, workdir, NOTIFY_CONFIG % sink_port)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                if sink_stats(sink_port) is not None:
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("the webhook sink did not start")
                time.sleep(0.02)
        srv.start()
        pid = srv.pid()
        time.sleep(0.5)
        c0 = cpu_seconds(pid)
        t0_ns = time.time_ns()
        sent = run_send(args, srv.url, groups, 1000, starts_now=True)
        sent_ns = time.time_ns()
        # every group's first notification is due group_wait after its first
        # alert; wait until all came or none came for 30 s (at most 300 s)
        last_change, last_groups = time.monotonic(), -1
        stop = time.monotonic() + 300
        while time.monotonic() < stop:
            st = sink_stats(sink_port)
            if st["groups"] >= groups:
                break
            if st["groups"] != last_groups:
                last_groups, last_change = st["groups"], time.monotonic()
            elif time.monotonic() - last_change > 30:
                break
            time.sleep(0.05)
        done = sink_stats(sink_port)
        time.sleep(1)
        c1 = cpu_seconds(pid)
        mem = mem_status(pid)
        # one more group_interval: nothing changed, so nothing more is due
        time.sleep(6)
        later = sink_stats(sink_port)
    finally:
        srv.stop()
        sink.send_signal(signal.SIGTERM)
        try:
            sink.wait(10)
        except subprocess.TimeoutExpired:
            sink.kill()
            sink.wait()
        if not args.keep:
            srv.wipe()
    span = (done["last_group_ns"] - done["first_ns"]) / 1e9 if done["first_ns"] else None
    return {"kind": kind, "groups": groups, "sent": sent,
            "send_s": (sent_ns - t0_ns) / 1e9,
            "notified_groups": done["groups"], "notifications": done["requests"],
            "alerts_notified": done["alerts"],
            "first_s": (done["first_ns"] - t0_ns) / 1e9 if done["first_ns"] else None,
            "all_s": (done["last_group_ns"] - t0_ns) / 1e9 if done["last_group_ns"] else None,
            "per_s": (done["groups"] / span) if span else None,
            "cpu_s": c1 - c0, "rss": mem.get("VmRSS", 0), "hwm": mem.get("VmHWM", 0),
            "extra_notifications": later["requests"] - done["requests"]}


# ------------------------------------------------------------------ report

def ratio(a, b):
    if a is None or b is None or not b:
        return None
    return a / b


def f(x, spec):
    return "n/a" if x is None else format(x, spec)


def label(row, k, rows):
    """The server's name, with the run number when there are several runs."""
    if len({r["run"] for r in rows}) > 1:
        return "%s r%d" % (k, row["run"])
    return k


def mib(x):
    return None if x is None else x / 2**20


def print_ingest(rows, kinds):
    print("\n== ingest: POST /api/v2/alerts; insert = new alerts, refresh = the same again; "
          "latency of the insert")
    hdr = "%-8s %-6s %-15s %10s %8s %8s %10s %8s %8s %8s %6s"
    print(hdr % ("alerts", "batch", "server", "alerts/s", "cpu s", "µs cpu/", "refresh",
                 "cpu s", "p99 ms", "max ms", ">1 s"))
    print(hdr % ("", "", "", "insert", "insert", "alert", "alerts/s", "refresh", "insert",
                 "insert", "reqs"))
    for row in rows:
        for k in kinds:
            r = row[k]
            print("%-8d %-6d %-15s %10.0f %8.2f %8.1f %10s %8s %8.1f %8.1f %6d" % (
                r["alerts"], r["batch"], label(row, k, rows), r["insert_per_s"], r["insert_cpu_s"],
                r["insert_cpu_s"] / r["alerts"] * 1e6, f(r["refresh_per_s"], ".0f"),
                f(r["refresh_cpu_s"], ".2f"), r["insert"]["lat_p99"] * 1e3,
                r["insert"]["lat_max"] * 1e3, r["insert"]["slow_requests"]))
        if len(kinds) == 2:
            v, a = row["vigil"], row["alertmanager"]
            print("%-8s %-6s %-15s %10s %8s %8s %10s %8s %8s %8s" % (
                "", "", "ratio v/am", f(ratio(v["insert_per_s"], a["insert_per_s"]), ".2f"),
                f(ratio(v["insert_cpu_s"], a["insert_cpu_s"]), ".2f"), "",
                f(ratio(v["refresh_per_s"], a["refresh_per_s"]), ".2f"),
                f(ratio(v["refresh_cpu_s"], a["refresh_cpu_s"]), ".2f"),
                f(ratio(v["insert"]["lat_p99"], a["insert"]["lat_p99"]), ".2f"),
                f(ratio(v["insert"]["lat_max"], a["insert"]["lat_max"]), ".2f")))


def print_memory(rows, kinds):
    print("\n== memory: resident set before the load, after it settled, peak; growth per alert")
    hdr = "%-8s %-15s %9s %9s %9s %9s %10s %9s %8s"
    print(hdr % ("alerts", "server", "idle MiB", "RSS MiB", "peak MiB", "bytes/", "active",
                 "max req", "settle"))
    print(hdr % ("", "", "", "", "", "alert", "reported", "ms", "s"))
    for row in rows:
        for k in kinds:
            r = row[k]
            tenths = " ".join("%.0f" % (x * 1e3) for x in r["insert"]["lat_max_by_tenth"])
            print("%-8d %-15s %9.1f %9.1f %9.1f %9.0f %10s %9.0f %8.1f" % (
                r["alerts"], label(row, k, rows), mib(r["rss_idle"]), mib(r["rss"]), mib(r["hwm"]),
                r["bytes_per_alert"], f(r["active_reported"], "d"),
                r["insert"]["lat_max"] * 1e3, r["settle_s"]))
            print("%-8s %-15s   (max request ms in each tenth of the insert: %s)" % (
                "", "", tenths))
        if len(kinds) == 2:
            v, a = row["vigil"], row["alertmanager"]
            print("%-8s %-15s %9s %9s %9s %9s" % (
                "", "ratio v/am", f(ratio(v["rss_idle"], a["rss_idle"]), ".2f"),
                f(ratio(v["rss"], a["rss"]), ".2f"), f(ratio(v["hwm"], a["hwm"]), ".2f"),
                f(ratio(v["bytes_per_alert"], a["bytes_per_alert"]), ".2f")))


def print_notify(rows, kinds):
    print("\n== notify: one group per alert, group_wait 1s, group_interval 5s, webhook to a "
          "local sink")
    hdr = "%-7s %-15s %9s %9s %9s %12s %8s %9s %7s %7s"
    print(hdr % ("groups", "server", "notified", "first s", "all s", "notif/s", "cpu s",
                 "RSS MiB", "dupes", "extra"))
    for row in rows:
        for k in kinds:
            r = row[k]
            print("%-7d %-15s %9d %9s %9s %12s %8.2f %9.1f %7d %7d" % (
                r["groups"], label(row, k, rows), r["notified_groups"], f(r["first_s"], ".2f"),
                f(r["all_s"], ".2f"), f(r["per_s"], ".0f"), r["cpu_s"], mib(r["rss"]),
                r["notifications"] - r["notified_groups"], r["extra_notifications"]))
        if len(kinds) == 2:
            v, a = row["vigil"], row["alertmanager"]
            print("%-7s %-15s %9s %9s %9s %12s %8s %9s" % (
                "", "ratio v/am", "", f(ratio(v["first_s"], a["first_s"]), ".2f"),
                f(ratio(v["all_s"], a["all_s"]), ".2f"), f(ratio(v["per_s"], a["per_s"]), ".2f"),
                f(ratio(v["cpu_s"], a["cpu_s"]), ".2f"), f(ratio(v["rss"], a["rss"]), ".2f")))
    print("(first s / all s: from the first POST until the first / the last group's first "
          "notification; notif/s: groups between the two; dupes: notifications beyond one per "
          "group; extra: notifications during one more group_interval, none expected)")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build"),
                    help="build directory with vigil and bench_amgen (default build)")
    ap.add_argument("--alerts", type=int, default=100000,
                    help="distinct alerts in the ingest phase (default 100000)")
    ap.add_argument("--batches", default="64,256,1000",
                    help="alerts per request, comma-separated (default 64,256,1000)")
    ap.add_argument("--connections", type=int, default=4,
                    help="concurrent senders (default 4)")
    ap.add_argument("--groups", type=int, default=10000,
                    help="groups in the notify phase (default 10000)")
    ap.add_argument("--million", action="store_true",
                    help="also measure memory and ingest with 1 000 000 alerts")
    ap.add_argument("--quick", action="store_true",
                    help="small sizes for a smoke run (5000 alerts, 1000 groups, batch 256)")
    ap.add_argument("--runs", type=int, default=1,
                    help="repeat every measurement this many times (default 1)")
    ap.add_argument("--only", choices=KINDS, help="measure one server only")
    ap.add_argument("--skip-ingest", action="store_true")
    ap.add_argument("--skip-notify", action="store_true")
    ap.add_argument("--keep", action="store_true", help="keep the data directories")
    ap.add_argument("--workdir", help="where the data directories go (default: a new temp dir)")
    ap.add_argument("--json", help="also write every figure to this file")
    ap.add_argument("-v", "--verbose", action="store_true", help="print the generator's output")
    args = ap.parse_args()
    if args.quick:
        args.alerts, args.groups, args.batches = 5000, 1000, "256"
    args.build = os.path.abspath(args.build)
    if not os.access(os.path.join(args.build, "bench_amgen"), os.X_OK):
        sys.exit("alerts.py: %s/bench_amgen is missing (cmake --build %s --target bench_amgen)"
                 % (args.build, args.build))
    workdir = args.workdir or tempfile.mkdtemp(prefix="vigil-bench-alerts-")
    os.makedirs(workdir, exist_ok=True)
    with open("/proc/cpuinfo") as fh:
        cpu_model = next((ln.split(":", 1)[1].strip() for ln in fh
                          if ln.startswith("model name")), "?")
    am_version = "not installed"
    if shutil.which(AM_BIN):
        am_version = subprocess.run([AM_BIN, "--version"], stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT, text=True).stdout.split("\n")[0]
    with open("/proc/loadavg") as fh:
        load = " ".join(fh.read().split()[:3])
    print("machine: %d CPUs (%s), load average %s before the run; %s" % (
        os.cpu_count(), cpu_model, load, am_version))
    print("command: " + " ".join([os.path.relpath(sys.argv[0], os.getcwd())] + sys.argv[1:]))
    kinds = []
    notes = {}
    if args.only != "alertmanager":
        why = vigil_available(args, workdir)
        if why is None:
            kinds.append("vigil")
        else:
            notes["vigil"] = why
            print("vigil's Alertmanager is not available, measuring the Alertmanager alone: " + why)
    if args.only != "vigil":
        if shutil.which(AM_BIN):
            kinds.append("alertmanager")
        else:
            notes["alertmanager"] = "not installed"
            print("%s is not installed (scripts/setup installs it)" % AM_BIN)
    if not kinds:
        print("nothing to measure")
        return
    sys.stdout.flush()
    figures = {"kinds": kinds, "notes": notes, "ingest": [], "memory": [], "notify": [],
               "alertmanager_version": am_version}

    def each(label, fn):
        row = {"run": run_no}
        for k in kinds:
            print("%s into %s ..." % (label, k), end=" ", flush=True)
            t = time.monotonic()
            try:
                row[k] = fn(k)
            except (RuntimeError, OSError, KeyError, TypeError) as e:
                print("failed: %s" % e, flush=True)
                return None
            print("%.0f s" % (time.monotonic() - t), flush=True)
        return row

    for run_no in range(1, args.runs + 1):
        if not args.skip_ingest:
            batches = [int(x) for x in args.batches.split(",") if x]
            row = None
            for batch in batches:
                row = each("run %d: ingest %d alerts, %d per request," % (
                    run_no, args.alerts, batch),
                    lambda k: ingest_one(args, k, args.alerts, batch, workdir))
                if row:
                    figures["ingest"].append(row)
            if row:
                figures["memory"].append(row)
            if args.million:
                row = each("run %d: ingest 1000000 alerts, 1000 per request," % run_no,
                           lambda k: ingest_one(args, k, 1000000, 1000, workdir))
                if row:
                    figures["ingest"].append(row)
                    figures["memory"].append(row)
        if not args.skip_notify:
            row = each("run %d: notify %d groups" % (run_no, args.groups),
                       lambda k: notify_one(args, k, args.groups, workdir))
            if row:
                figures["notify"].append(row)

    if figures["ingest"]:
        print_ingest(figures["ingest"], kinds)
    if figures["memory"]:
        print_memory(figures["memory"], kinds)
    if figures["notify"]:
        print_notify(figures["notify"], kinds)
    for k, why in notes.items():
        print("\n%s: not measured (%s)" % (k, why))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(figures, fh, indent=1)
    if not args.keep and not args.workdir:
        shutil.rmtree(workdir, ignore_errors=True)


main()
