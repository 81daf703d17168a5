#!/usr/bin/env python3
"""PromQL queries, vigil against Prometheus, side by side over HTTP.

Default mode (`--build DIR`): starts `vigil serve` and Debian's `prometheus`
(2.42, --web.enable-remote-write-receiver, on 127.0.0.1) on fresh data
directories, loads the same data set into each with bench/bench_promqlgen
(remote_write, old samples first, in time order, a few ms of jitter on every
scrape time), waits until both have settled (each has cut its older data into
blocks and stays idle), then runs a fixed list of queries against both over
/api/v1/query and /api/v1/query_range:

  - every query the seeds write (seed-fixtures/promql-queries.txt: dashboards
    and alert rules) as an instant query at the end of the data, and the
    dashboards' queries also as 6 h range queries at 15 s step;
  - heavy queries: rate over 10 000 series summed by a label, histogram_quantile
    over 1 000 histograms, topk, subqueries, joins, and range queries over the
    whole 24 h at 15 s step.

For each query and each round it prints the median wall-clock latency (client
side: request sent to last byte of the body read; Python parses the JSON only
afterwards) of --runs runs per server, the servers alternating run by run after
one untimed warm-up each, and the ratio vigil / Prometheus. Memory, measured on
one more run per server: the peak resident set growth during the query
(VmHWM after resetting it through /proc/PID/clear_refs, minus VmRSS just
before), and for Prometheus also the bytes its Go runtime allocated during the
query (go_memstats_alloc_bytes_total) and its own peakSamples (stats=all).
The answers of the warm-up runs are compared: same series, same timestamps,
values within a relative 1e-6 (NaN equal to NaN).

Legacy mode (`promql_compare.py BUILD/bench_promql`): the evaluator alone,
vigil's bench_promql times against Prometheus's evalTotalTime on data
backfilled with promtool.

`promql_compare.py --markdown RUN.json...` prints the rounds saved with --json
as one Markdown table (docs/performance.md).

It never fails on a figure. Usage: bench/promql_compare.py --build build
[--rounds 2] [--runs 5] [--hours 24] ... (see --help)
"""
import argparse
import http.client
import json
import math
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SHARED = os.path.join(os.path.dirname(ROOT), "shared")
CLK_TCK = os.sysconf("SC_CLK_TCK")


# ------------------------------------------------------------ legacy mode

LEGACY_PORT = 19093


def legacy(bench):
    """vigil's evaluator (bench_promql, in process) against Prometheus's
    evalTotalTime on the same data backfilled with promtool."""
    t0 = 1700000000.0
    n = 6 * 3600 // 15
    end = t0 + (n - 1) * 15
    start = t0 + 3600
    work = tempfile.mkdtemp(prefix="vigil-promql-compare-")
    try:
        om = os.path.join(work, "data.om")
        out = subprocess.run([bench, om], check=True, capture_output=True, text=True).stdout
        vig = {}
        for line in out.splitlines()[2:]:
            m = re.match(r"^(.*?)\s+([\d.]+)\s+([\d.]+)\s+\(", line)
            if m:
                vig[m.group(1).strip()] = (float(m.group(2)), float(m.group(3)))
        data = os.path.join(work, "prom")
        os.mkdir(data)
        subprocess.run(["promtool", "tsdb", "create-blocks-from", "openmetrics", om, data],
                       check=True, capture_output=True)
        cfg = os.path.join(work, "prom.yml")
        with open(cfg, "w") as f:
            f.write("global:\n  scrape_interval: 1h\n")
        prom = subprocess.Popen(["prometheus", "--config.file=" + cfg, "--storage.tsdb.path=" + data,
                                 "--storage.tsdb.retention.time=100y",
                                 "--web.listen-address=127.0.0.1:%d" % LEGACY_PORT],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            base = "http://127.0.0.1:%d/api/v1/" % LEGACY_PORT
            for _ in range(50):
                try:
                    urllib.request.urlopen(base + "query?query=1")
                    break
                except OSError:
                    time.sleep(0.2)

            def run(path, params):
                best = 1e9
                for _ in range(3):
                    d = json.load(urllib.request.urlopen(base + path + "?" + urllib.parse.urlencode(params)))
                    best = min(best, d["data"]["stats"]["timings"]["evalTotalTime"])
                return best * 1000

            print("%-60s %9s %9s %9s %9s %6s" % ("query (ms)", "vigil", "prom", "vigil rg", "prom rg", "ratio"))
            for q, (vi, vr) in vig.items():
                pi = run("query", {"query": q, "time": end, "stats": "all"})
                pr = run("query_range", {"query": q, "start": start, "end": end, "step": 60, "stats": "all"})
                print("%-60s %9.2f %9.2f %9.2f %9.2f %6.2f" % (q[:60], vi, pi, vr, pr, vr / pr))
        finally:
            prom.terminate()
            prom.wait()
    finally:
        shutil.rmtree(work, ignore_errors=True)


# ------------------------------------------------------------------ servers

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def proc_stat(pid):
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


def reset_hwm(pid):
    """Resets the process's peak RSS to its current RSS (Linux >= 4.0)."""
    try:
        with open("/proc/%d/clear_refs" % pid, "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def tree_bytes(path):
    total = 0
    for d, _, files in os.walk(path):
        for f in files:
            try:
                total += os.lstat(os.path.join(d, f)).st_size
            except FileNotFoundError:
                pass
    return total


class Server:
    def __init__(self, kind, build, workdir):
        self.kind = kind
        self.build = build
        self.dir = os.path.join(workdir, kind)
        os.makedirs(self.dir, exist_ok=True)
        self.data = os.path.join(self.dir, "data")
        self.port = free_port()
        self.url = "http://127.0.0.1:%d" % self.port
        self.config = os.path.join(self.dir, "config.yml")
        with open(self.config, "w") as f:
            f.write("global:\n  scrape_interval: 15s\n")
        self.log = open(os.path.join(self.dir, "log"), "ab")
        self.proc = None

    def cmd(self):
        if self.kind == "vigil":
            return [os.path.join(self.build, "vigil"), "serve", "--config.file=" + self.config,
                    "--storage.path=" + self.data, "--web.listen-address=127.0.0.1:%d" % self.port]
        return ["prometheus", "--config.file=" + self.config, "--storage.tsdb.path=" + self.data,
                "--web.listen-address=127.0.0.1:%d" % self.port,
                "--web.enable-remote-write-receiver"]

    def start(self, timeout=900):
        self.proc = subprocess.Popen(self.cmd(), stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("%s exited with %d (log: %s/log)" %
                                   (self.kind, self.proc.returncode, self.dir))
            try:
                if get(self.url + "/-/ready", timeout=2)[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError("%s not ready within %ds" % (self.kind, timeout))

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(600)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def pid(self):
        return self.proc.pid

    def tsdb_dir(self):
        return os.path.join(self.data, "tsdb") if self.kind == "vigil" else self.data

    def blocks(self):
        d = os.path.join(self.tsdb_dir(), "blocks") if self.kind == "vigil" else self.tsdb_dir()
        if not os.path.isdir(d):
            return 0
        return sum(1 for e in os.listdir(d) if len(e) == 26 and os.path.isdir(os.path.join(d, e)))

    def head_span(self):
        st, body = get(self.url + "/api/v1/status/tsdb")
        if st != 200:
            return None
        h = json.loads(body)["data"]["headStats"]
        return (h["maxTime"] - h["minTime"]) / 1000.0


def get(url, timeout=10):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def settle(servers, timeout, head_limit=3 * 3600 + 300):
    """Waits until each server's head spans at most head_limit seconds (the
    rest is in blocks) and the server used under 2 % of a CPU for 10 s."""
    deadline = time.monotonic() + timeout
    done = {s.kind: False for s in servers}
    while time.monotonic() < deadline and not all(done.values()):
        cpu0 = {s.kind: proc_stat(s.pid()) for s in servers}
        time.sleep(10)
        for s in servers:
            if done[s.kind]:
                continue
            busy = proc_stat(s.pid()) - cpu0[s.kind]
            span = s.head_span()
            if span is not None and span <= head_limit and busy < 0.2:
                done[s.kind] = True
    return done


# ------------------------------------------------------------------ queries

def seed_queries():
    with open(os.path.join(SHARED, "seed-fixtures", "promql-queries.txt")) as f:
        alerts = [l.strip() for l in f if l.strip() and not l.startswith("#")]
    dash = []
    for fn in sorted(os.listdir(os.path.join(SHARED, "seed-fixtures"))):
        if fn.startswith("dashboard-") and fn.endswith(".json"):
            with open(os.path.join(SHARED, "seed-fixtures", fn)) as f:
                d = json.load(f)

            def walk(x):
                if isinstance(x, dict):
                    for k, v in x.items():
                        if k == "expr" and isinstance(v, str):
                            dash.append(v)
                        else:
                            walk(v)
                elif isinstance(x, list):
                    for v in x:
                        walk(v)
            walk(d)
    return alerts, list(dict.fromkeys(dash))


H, M = 3600, 60
# Heavy queries: (label, expr, kind, range seconds, step seconds)
HEAVY = [
    ("rate 10k sum by", 'sum by (service) (rate(http_requests_total[5m]))', "instant", 0, 0),
    ("rate 10k sum by", 'sum by (service) (rate(http_requests_total[5m]))', "range", 6 * H, 15),
    ("rate 10k sum by", 'sum by (service) (rate(http_requests_total[5m]))', "range", 24 * H, 60),
    ("rate 10k sum", 'sum(rate(http_requests_total[5m]))', "range", 6 * H, 15),
    ("rate 10k raw", 'rate(http_requests_total[5m])', "instant", 0, 0),
    ("hq 1k histograms", 'histogram_quantile(0.99, rate(http_request_duration_seconds_bucket[5m]))',
     "instant", 0, 0),
    ("hq 1k histograms", 'histogram_quantile(0.99, rate(http_request_duration_seconds_bucket[5m]))',
     "range", 1 * H, 15),
    ("hq by le", 'histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket[5m])))',
     "range", 6 * H, 15),
    ("topk", 'topk(5, rate(http_requests_total[5m]))', "instant", 0, 0),
    ("topk", 'topk(10, sum by (instance) (rate(http_requests_total[5m])))', "range", 6 * H, 15),
    ("subquery", 'max_over_time(sum by (service) (rate(http_requests_total[5m]))[1h:1m])',
     "instant", 0, 0),
    ("subquery", 'avg_over_time(rate(http_requests_total{service="api-gateway"}[5m])[30m:1m])',
     "range", 6 * H, 60),
    ("join", 'sum by (instance) (rate(http_requests_total{status=~"5.."}[5m])) / on (instance) '
     'sum by (instance) (rate(http_requests_total[5m]))', "range", 6 * H, 15),
    ("over_time", 'quantile_over_time(0.9, process_resident_memory_bytes[1h])', "instant", 0, 0),
    ("over_time", 'max_over_time(node_memory_MemAvailable_bytes[24h])', "instant", 0, 0),
    ("count", 'count by (service) (up{job="app"})', "range", 6 * H, 15),
    ("24h@15s", 'sum by (status) (rate(http_requests_total{service="api-gateway"}[5m]))',
     "range", 24 * H, 15),
    ("24h@15s", 'histogram_quantile(0.95, sum by (le) '
     '(rate(http_request_duration_seconds_bucket{service="api-gateway"}[5m])))', "range", 24 * H, 15),
    ("24h@15s", '100 - avg by (instance) (rate(node_cpu_seconds_total{mode="idle"}[2m])) * 100',
     "range", 24 * H, 15),
]


def build_queries(end):
    alerts, dash = seed_queries()
    qs = []
    for e in alerts:
        qs.append({"label": "seed", "expr": e, "kind": "instant", "params": {"time": end}})
    for e in dash:
        qs.append({"label": "dashboard", "expr": e, "kind": "range",
                   "params": {"start": end - 6 * H, "end": end, "step": 15}})
    for label, e, kind, rng, step in HEAVY:
        p = {"time": end} if kind == "instant" else {"start": end - rng, "end": end, "step": step}
        qs.append({"label": label, "expr": e, "kind": kind, "params": p})
    for q in qs:
        if q["kind"] == "instant":
            q["desc"] = "instant"
        else:
            p = q["params"]
            q["desc"] = "%gh@%ds" % ((p["end"] - p["start"]) / 3600, p["step"])
    return qs


def fetch(server, q, stats=False):
    """Runs q once; returns (seconds, status, body)."""
    params = dict(q["params"], query=q["expr"])
    if stats:
        params["stats"] = "all"
    path = "/api/v1/query" if q["kind"] == "instant" else "/api/v1/query_range"
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=600)
    t = time.perf_counter()
    conn.request("GET", path + "?" + urllib.parse.urlencode(params))
    r = conn.getresponse()
    body = r.read()
    dt = time.perf_counter() - t
    conn.close()
    return dt, r.status, body


def metric_value(server, name):
    _, body = get(server.url + "/metrics")
    for line in body.decode().splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return None


# --------------------------------------------------------------- comparison

def close(a, b, rel):
    if a == b:
        return True
    fa, fb = float(a), float(b)
    if math.isnan(fa) and math.isnan(fb):
        return True
    if math.isinf(fa) or math.isinf(fb):
        return fa == fb
    return abs(fa - fb) <= rel * max(abs(fa), abs(fb))


def compare(vbody, pbody, rel=1e-6):
    """Returns None when both answers agree, else a short reason."""
    try:
        v, p = json.loads(vbody), json.loads(pbody)
    except ValueError as e:
        return "unparsable JSON: %s" % e
    if v.get("status") != p.get("status"):
        return "status %s vs %s (%s / %s)" % (v.get("status"), p.get("status"),
                                            v.get("error"), p.get("error"))
    if v["status"] != "success":
        return None
    vd, pd = v["data"], p["data"]
    if vd["resultType"] != pd["resultType"]:
        return "resultType %s vs %s" % (vd["resultType"], pd["resultType"])
    if vd["resultType"] in ("scalar", "string"):
        vr, pr = vd["result"], pd["result"]
        return None if vr[0] == pr[0] and close(vr[1], pr[1], rel) else "%s vs %s" % (vr, pr)

    def index(res):
        return {tuple(sorted(s["metric"].items())): s.get("values") or [s["value"]] for s in res}
    vi, pi = index(vd["result"]), index(pd["result"])
    if len(vi) != len(vd["result"]) or len(pi) != len(pd["result"]):
        return "duplicate label sets"
    if vi.keys() != pi.keys():
        only_v = [dict(k) for k in vi.keys() - pi.keys()][:2]
        only_p = [dict(k) for k in pi.keys() - vi.keys()][:2]
        return "series differ: %d vs %d (only vigil: %s; only prom: %s)" % (
            len(vi), len(pi), only_v, only_p)
    bad = 0
    first = None
    for k, vs in vi.items():
        ps = pi[k]
        if len(vs) != len(ps):
            bad += 1
            first = first or "%s: %d vs %d points" % (dict(k), len(vs), len(ps))
            continue
        for a, b in zip(vs, ps):
            if a[0] != b[0] or not close(a[1], b[1], rel):
                bad += 1
                first = first or "%s: %s vs %s" % (dict(k), a, b)
                break
    return None if not bad else "%d of %d series differ, e.g. %s" % (bad, len(vi), first)


def measure(servers, q, runs):
    """Warm-up (answers kept), then runs timed runs alternating servers, then
    one memory run per server. Returns a dict of figures."""
    res = {"expr": q["expr"], "label": q["label"], "desc": q["desc"], "kind": q["kind"]}
    bodies = {}
    for s in servers:
        _, st, body = fetch(s, q)
        bodies[s.kind] = body
        res[s.kind + "_status"] = st
        res[s.kind + "_bytes"] = len(body)
    times = {s.kind: [] for s in servers}
    for i in range(runs):
        order = servers if i % 2 == 0 else servers[::-1]
        for s in order:
            dt, _, _ = fetch(s, q)
            times[s.kind].append(dt * 1000)
    for s in servers:
        res[s.kind + "_ms"] = statistics.median(times[s.kind])
        res[s.kind + "_all_ms"] = times[s.kind]
        alloc0 = metric_value(s, "go_memstats_alloc_bytes_total") if s.kind == "prometheus" else None
        rss0 = mem_status(s.pid())["VmRSS"]
        ok = reset_hwm(s.pid())
        _, _, body = fetch(s, q, stats=s.kind == "prometheus")
        hwm = mem_status(s.pid())["VmHWM"]
        res[s.kind + "_peak_rss_delta"] = hwm - rss0 if ok else None
        res[s.kind + "_rss"] = rss0
        if s.kind == "prometheus":
            alloc1 = metric_value(s, "go_memstats_alloc_bytes_total")
            res["prometheus_alloc"] = alloc1 - alloc0 if alloc0 is not None else None
            try:
                st = json.loads(body)["data"]["stats"]
                res["prometheus_peak_samples"] = st["samples"]["peakSamples"]
                res["prometheus_total_samples"] = st["samples"]["totalQueryableSamples"]
            except (ValueError, KeyError, TypeError):
                pass
    res["mismatch"] = compare(bodies["vigil"], bodies["prometheus"])
    v, p = res["vigil_ms"], res["prometheus_ms"]
    res["ratio"] = v / p if p else float("nan")
    return res


def mib(x):
    return "n/a" if x is None else "%.1f" % (x / 2**20)


def print_round(no, results):
    print("\n== round %d: median ms of the timed runs, ratio vigil / prometheus; memory of one more "
          "run: peak RSS growth (MiB), Prometheus's Go allocations (MiB) and peakSamples" % no)
    hdr = "%-3s %-17s %-9s %9s %9s %6s %8s %8s %8s %10s  %s"
    print(hdr % ("#", "group", "kind", "vigil", "prom", "ratio", "v ΔRSS", "p ΔRSS", "p alloc",
                 "p peakSmp", "query"))
    for i, r in enumerate(results, 1):
        print(hdr % (i, r["label"], r["desc"], "%.2f" % r["vigil_ms"], "%.2f" % r["prometheus_ms"],
                     "%.2f" % r["ratio"], mib(r.get("vigil_peak_rss_delta")),
                     mib(r.get("prometheus_peak_rss_delta")), mib(r.get("prometheus_alloc")),
                     r.get("prometheus_peak_samples", ""), r["expr"][:100]))
    ratios = sorted(r["ratio"] for r in results)
    worst = max(results, key=lambda r: r["ratio"])
    print("round %d: %d queries; median ratio %.3f (target <= 0.5: %s); worst %.2f (#%d, target "
          "<= 1: %s); vigil slower on %d; geometric mean %.3f" % (
              no, len(results), statistics.median(ratios),
              "met" if statistics.median(ratios) <= 0.5 else "MISSED", worst["ratio"],
              results.index(worst) + 1, "met" if worst["ratio"] <= 1 else "MISSED",
              sum(1 for x in ratios if x > 1),
              math.exp(sum(math.log(x) for x in ratios) / len(ratios))))
    for i, r in enumerate(results, 1):
        if r["mismatch"]:
            print("  answers differ on #%d %s [%s]: %s" % (i, r["expr"], r["desc"], r["mismatch"]))
        for k in ("vigil", "prometheus"):
            if r[k + "_status"] != 200:
                print("  #%d: %s answered HTTP %d" % (i, k, r[k + "_status"]))


def load(args, srv, start_ms):
    cmd = [os.path.join(args.build, "bench_promqlgen"), "--url=" + srv.url + "/api/v1/write",
           "--services=%d" % args.services, "--instances=%d" % args.instances,
           "--samples=%d" % int(args.hours * 3600 / 15), "--start=%d" % start_ms,
           "--jitter=%dms" % args.jitter_ms if args.jitter_ms else "--jitter=0",
           "--connections=%d" % args.connections]
    t = time.monotonic()
    out = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    el = time.monotonic() - t
    result = None
    for line in out.stdout.splitlines():
        if line.startswith("RESULT "):
            result = json.loads(line[7:])
    if result is None or result["errors"]:
        raise RuntimeError("bench_promqlgen failed against %s:\n%s" % (srv.kind, out.stdout))
    result["wall"] = el
    return result


def markdown(files):
    """Prints a Markdown table of the rounds in the --json files given."""
    rounds = []
    for fn in files:
        with open(fn) as f:
            rounds += json.load(f)["rounds"]
    print("| # | query | range | vigil ms | Prometheus ms | ratio v/p | vigil ΔRSS MiB | "
          "Prometheus ΔRSS / alloc MiB | peakSamples |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for i, r0 in enumerate(rounds[0]):
        rs = [rd[i] for rd in rounds]
        ms = lambda k: " / ".join("%.0f" % r[k] if r[k] >= 10 else "%.1f" % r[k] for r in rs)
        ratios = " / ".join("%.2f" % r["ratio"] for r in rs)
        worst = max(r["ratio"] for r in rs)
        if worst > 1:
            ratios = "**" + ratios + "**"
        print("| %d | `%s` | %s | %s | %s | %s | %s | %s / %s | %s |" % (
            i + 1, r0["expr"].replace("|", "\\|"), r0["desc"], ms("vigil_ms"),
            ms("prometheus_ms"), ratios,
            " / ".join(mib(r.get("vigil_peak_rss_delta")) for r in rs),
            mib(max(r.get("prometheus_peak_rss_delta") or 0 for r in rs)),
            mib(max(r.get("prometheus_alloc") or 0 for r in rs)),
            r0.get("prometheus_peak_samples", "")))
    for k, rd in enumerate(rounds, 1):
        ratios = sorted(r["ratio"] for r in rd)
        print("\nround %d: median ratio %.3f, worst %.2f, slower on %d of %d, %d answers differ" % (
            k, statistics.median(ratios), ratios[-1], sum(1 for x in ratios if x > 1), len(rd),
            sum(1 for r in rd if r["mismatch"])))


def main():
    if len(sys.argv) > 2 and sys.argv[1] == "--markdown":
        return markdown(sys.argv[2:])
    if len(sys.argv) == 2 and os.path.basename(sys.argv[1]).startswith("bench_promql") and \
            os.path.isfile(sys.argv[1]):
        return legacy(sys.argv[1])
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build"),
                    help="build directory with vigil and bench_promqlgen (default build)")
    ap.add_argument("--services", type=int, default=20)
    ap.add_argument("--instances", type=int, default=10, help="instances per service")
    ap.add_argument("--hours", type=float, default=24, help="hours of data at 15 s (default 24)")
    ap.add_argument("--jitter-ms", type=int, default=5)
    ap.add_argument("--connections", type=int, default=4)
    ap.add_argument("--runs", type=int, default=5, help="timed runs per query and server")
    ap.add_argument("--rounds", type=int, default=2, help="complete passes over the queries")
    ap.add_argument("--settle-timeout", type=int, default=900)
    ap.add_argument("--only", help="regular expression: run only the queries it finds")
    ap.add_argument("--extra", action="append",
                    help="one more query, 'instant:EXPR' or '6h@15s:EXPR' (repeatable; "
                    "not filtered by --only)")
    ap.add_argument("--workdir", help="where the data directories go (default: a new temp dir)")
    ap.add_argument("--keep", action="store_true", help="keep the data directories")
    ap.add_argument("--json", help="also write every figure to this file")
    args = ap.parse_args()
    args.build = os.path.abspath(args.build)
    for prog in ("vigil", "bench_promqlgen"):
        if not os.access(os.path.join(args.build, prog), os.X_OK):
            sys.exit("promql_compare.py: %s/%s is missing (cmake --build %s --target vigil "
                     "bench_promqlgen)" % (args.build, prog, args.build))
    if not shutil.which("prometheus"):
        sys.exit("promql_compare.py: prometheus is not installed")
    workdir = args.workdir or tempfile.mkdtemp(prefix="vigil-bench-promql-")
    with open("/proc/cpuinfo") as f:
        cpu_model = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")),
                         "?")
    print("machine: %d CPUs (%s), %.0f GiB RAM; %s" % (
        os.cpu_count(), cpu_model, os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") / 2**30,
        subprocess.run(["prometheus", "--version"], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True).stdout.split("\n")[0]))
    print("command: " + " ".join([os.path.relpath(sys.argv[0], os.getcwd())] + sys.argv[1:]))
    sys.stdout.flush()
    now = int(time.time() * 1000)
    # aligned to 2 hours so that both stores cut the same block ranges
    start_ms = (now - int(args.hours * 3600 * 1000) - 15000) // 7200000 * 7200000
    servers = [Server("vigil", args.build, workdir), Server("prometheus", args.build, workdir)]
    figures = {"rounds": []}
    try:
        last_ms = None
        for s in servers:
            shutil.rmtree(s.data, ignore_errors=True)
            s.start()
            r = load(args, s, start_ms)
            last_ms = r["last_ms"]
            cpu = proc_stat(s.pid())
            print("loaded %s: %d series (%d histograms), %d samples in %.1f s (%.0f samples/s); "
                  "server CPU so far %.1f s" % (s.kind, r["series"], r["histograms"], r["samples"],
                                                r["wall"], r["samples"] / r["wall"], cpu),
                  flush=True)
            figures[s.kind + "_load"] = dict(r, server_cpu=cpu)
        t = time.monotonic()
        done = settle(servers, args.settle_timeout)
        for s in servers:
            m = mem_status(s.pid())
            print("settled %s: %s after %.0f s; head spans %.2f h; %d blocks; data dir %.0f MiB; "
                  "RSS %.0f MiB" % (s.kind, "yes" if done[s.kind] else "NOT (timeout)",
                                    time.monotonic() - t, (s.head_span() or 0) / 3600, s.blocks(),
                                    tree_bytes(s.data) / 2**20, m["VmRSS"] / 2**20), flush=True)
        end = math.ceil(last_ms / 1000)
        queries = build_queries(end)
        if args.only:
            queries = [q for q in queries if re.search(args.only, q["expr"] + " " + q["label"])]
        for x in args.extra or []:
            desc, _, expr = x.partition(":")
            m = re.fullmatch(r"(\d+(?:\.\d+)?)h@(\d+)s", desc)
            if desc == "instant":
                queries.append({"label": "extra", "expr": expr, "kind": "instant", "desc": desc,
                                "params": {"time": end}})
            elif m:
                queries.append({"label": "extra", "expr": expr, "kind": "range", "desc": desc,
                                "params": {"start": end - float(m.group(1)) * H, "end": end,
                                           "step": int(m.group(2))}})
            else:
                sys.exit("promql_compare.py: --extra wants instant:EXPR or 6h@15s:EXPR")
        print("data: %s .. %s (UTC); queries at end=%d" % (
            time.strftime("%Y-%m-%d %H:%M", time.gmtime(start_ms / 1000)),
            time.strftime("%Y-%m-%d %H:%M", time.gmtime(end)), end), flush=True)
        for no in range(1, args.rounds + 1):
            results = []
            for q in queries:
                results.append(measure(servers, q, args.runs))
                r = results[-1]
                print("  %-9s %-17s v %9.2f  p %9.2f  %5.2f %s %s" % (
                    r["desc"], r["label"], r["vigil_ms"], r["prometheus_ms"], r["ratio"],
                    "" if not r["mismatch"] else "DIFFERS", r["expr"][:70]), flush=True)
            print_round(no, results)
            figures["rounds"].append(results)
    finally:
        for s in servers:
            s.stop()
        if args.json:
            with open(args.json, "w") as f:
                json.dump(figures, f, indent=1)
        if not args.keep and not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
