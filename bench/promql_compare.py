#!/usr/bin/env python3
"""Side-by-side timing of the PromQL evaluator against Prometheus.

Usage: bench/promql_compare.py <build-dir>/bench_promql

Runs bench_promql (which prints vigil's times and writes its data as
OpenMetrics), loads that data into a scratch Prometheus with promtool,
and runs the same queries there, reading Prometheus's own evalTotalTime
(stats=all), so neither side pays for HTTP or JSON. Prints both and the
ratio; asserts nothing.
"""
import json, os, re, shutil, subprocess, sys, tempfile, time, urllib.parse, urllib.request

PORT = 19093
T0 = 1700000000.0
N = 6 * 3600 // 15
END = T0 + (N - 1) * 15
START = T0 + 3600


def main():
    bench = sys.argv[1]
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
                                 "--web.listen-address=127.0.0.1:%d" % PORT],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            base = "http://127.0.0.1:%d/api/v1/" % PORT
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
                pi = run("query", {"query": q, "time": END, "stats": "all"})
                pr = run("query_range", {"query": q, "start": START, "end": END, "step": 60, "stats": "all"})
                print("%-60s %9.2f %9.2f %9.2f %9.2f %6.2f" % (q[:60], vi, pi, vr, pr, vr / pr))
        finally:
            prom.terminate()
            prom.wait()
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
