"""The PromQL compliance query list (../shared/conformance/promql-compliance,
539 queries) and every query the seeds write (seed-fixtures/promql-queries.txt)
run as range queries against vigil and Debian's Prometheus holding the same
data, shaped as DATASET.md describes (three instances of the PromLabs demo
service scraped every 5 s, a few ms of jitter on every timestamp), loaded
into both over remote_write. Results are compared as upstream's
compliance tester compares them: sorted series, exact labels and
timestamps, values equal within a relative 1e-5, NaN equal to NaN; for
should_fail queries both must fail, for skip_comparison only the outcome
counts.

It prints "promql-compliance conformance: N/539 matched (P%)" and the
mismatches. While the evaluator is incomplete it only asserts that it ran,
that Prometheus answered, and that the match rate holds MIN_MATCH_RATE."""

import json
import math
import os
import random
import shutil
import time
import unittest
import urllib.parse

import harness
import rwclient

HAVE_PROMETHEUS = shutil.which("prometheus") is not None
COMPLIANCE = os.path.join(harness.SHARED, "conformance", "promql-compliance")
SEED_QUERIES = os.path.join(harness.SHARED, "seed-fixtures", "promql-queries.txt")

# The share (percent) of the 539 queries that must match. 536 match today;
# the three others differ because Prometheus 2.42 predates 3.x semantics
# (two label names 3.x accepts, one subquery range now left-open).
MIN_MATCH_RATE = 98.0
TOLERANCE = 1e-5
SCRAPE_MS = 5000
HISTORY_MS = 75 * 60 * 1000  # the queries look at now-22m .. now-12m, some with 1h ranges
STALE_NAN = bytes.fromhex("020000000000f07f")

# Buckets of demo_api_request_duration_seconds: ExponentialBuckets(0.0001, 1.5, 25).
BUCKETS = [0.0001 * 1.5 ** i for i in range(25)]


def go_float(v):
    """An le bound as client_golang writes it (FormatFloat 'g', -1; Python's
    repr agrees for these magnitudes)."""
    return "+Inf" if v == math.inf else repr(v)


def load_queries():
    out = []
    with open(os.path.join(COMPLIANCE, "promql-test-queries.expanded.tsv")) as f:
        rows = [l.rstrip("\n") for l in f if l.strip() and not l.startswith("#")]
    for row in rows[1:]:  # header
        idx, fail, skip, q = row.split("\t", 3)
        out.append({"query": q, "should_fail": fail == "true", "skip": skip == "true",
                    "source": "compliance[%s]" % idx})
    return out


def load_seed_queries():
    with open(SEED_QUERIES) as f:
        return [{"query": l.strip(), "should_fail": False, "skip": False, "source": "seed"}
                for l in f if l.strip() and not l.startswith("#")]


class Gen:
    """The demo service's series, scraped every 5 s from three instances."""

    def __init__(self, start_ms, end_ms, seed=42):
        self.rnd = random.Random(seed)
        self.start, self.end = start_ms, end_ms
        self.series = {}  # tuple(sorted labels) -> [(t, float or stale)]

    def add(self, labels, t, v):
        key = tuple(sorted(labels.items()))
        self.series.setdefault(key, []).append((t, v))

    def run(self):
        r = self.rnd
        instances = ["demo.promlabs.com:1000%d" % i for i in range(3)]
        state = {}
        for n, inst in enumerate(instances):
            state[inst] = {
                "mem": {"used": 1200 * 2**20, "cached": 2500 * 2**20, "buffers": 165 * 2**20},
                "cpu": {"user": 1000.0 * (n + 1), "system": 700.0 * (n + 1), "idle": 9000.0 * (n + 1)},
                "disk": 40e9 + n * 1e9,
                "batch_ok": self.start / 1000 - 30, "batch_run": self.start / 1000 - 30,
                "hist": {}, "shipped": 100.0 * n, "holiday": 0,
                "http": {}, "node_cpu": {"idle": 5000.0, "user": 800.0},
                "proc_cpu": 10.0 * (n + 1),
            }
        combos = [("GET", "/api/foo", "200"), ("GET", "/api/foo", "500"), ("GET", "/api/bar", "200"),
                  ("GET", "/api/bar", "500"), ("POST", "/api/foo", "200"), ("POST", "/api/foo", "500"),
                  ("POST", "/api/bar", "200"), ("POST", "/api/bar", "500"),
                  ("GET", "/api/nonexistent", "404")]
        t0 = self.start - self.start % SCRAPE_MS
        for step, base_t in enumerate(range(t0, self.end, SCRAPE_MS)):
            for n, inst in enumerate(instances):
                st = state[inst]
                # a few ms late, never on the 5 s grid (real scrapes are)
                t = base_t + 1 + (step * 7 + n * 3) % 9
                tl = {"job": "demo", "instance": inst}
                self.add(dict(tl, __name__="up"), t, 1.0)
                total = 8 * 2**30
                for k, base in (("used", 1200 * 2**20), ("cached", 2500 * 2**20), ("buffers", 165 * 2**20)):
                    v = st["mem"][k] + r.uniform(-1, 1) * base * 0.02
                    st["mem"][k] = min(max(v, base * 0.5), base * 1.5)
                    self.add(dict(tl, __name__="demo_memory_usage_bytes", type=k), t, float(int(st["mem"][k])))
                free = total - sum(int(st["mem"][k]) for k in ("used", "cached", "buffers"))
                self.add(dict(tl, __name__="demo_memory_usage_bytes", type="free"), t, float(free))
                self.add(dict(tl, __name__="demo_num_cpus"), t, 4.0)
                inc = 4 * 5.0
                for mode, share in (("user", 0.3), ("system", 0.2), ("idle", 0.5)):
                    st["cpu"][mode] += inc * share * r.uniform(0.8, 1.2)
                    self.add(dict(tl, __name__="demo_cpu_usage_seconds_total", mode=mode), t,
                             round(st["cpu"][mode], 3))
                st["disk"] += 2.5e6 * r.uniform(0.5, 1.5)
                self.add(dict(tl, __name__="demo_disk_usage_bytes"), t, float(int(st["disk"])))
                self.add(dict(tl, __name__="demo_disk_total_bytes"), t, 160e9)
                if base_t / 1000 - st["batch_run"] >= 60:
                    st["batch_run"] = base_t / 1000
                    if r.random() >= 0.25:
                        st["batch_ok"] = base_t / 1000
                self.add(dict(tl, __name__="demo_batch_last_success_timestamp_seconds"), t, st["batch_ok"])
                self.add(dict(tl, __name__="demo_batch_last_run_timestamp_seconds"), t, st["batch_run"])
                self.add(dict(tl, __name__="demo_batch_last_run_duration_seconds"), t, 30 + n)
                self.add(dict(tl, __name__="demo_batch_last_run_processed_bytes"), t, 1e6 * (n + 1))
                # present in even minutes only; a stale marker at the first
                # scrape it is missing from, as Prometheus's scraper writes
                minute = (base_t // 60000) % 2
                if minute == 0:
                    self.add(dict(tl, __name__="demo_intermittent_metric"), t, 1.0)
                elif base_t % 60000 < SCRAPE_MS and step > 0:
                    self.add(dict(tl, __name__="demo_intermittent_metric"), t, "stale")
                if base_t % 300000 < SCRAPE_MS:
                    st["holiday"] = 1.0 if r.random() < 0.2 else 0.0
                self.add(dict(tl, __name__="demo_is_holiday"), t, st["holiday"])
                st["shipped"] += r.randint(0, 5)
                self.add(dict(tl, __name__="demo_items_shipped_total"), t, st["shipped"])
                self.add(dict(tl, __name__="demo_api_http_requests_in_progress"), t, float(r.randint(0, 5)))
                for method, path, status in combos:
                    key = (method, path, status)
                    h = st["hist"].setdefault(key, {"b": [0] * 26, "sum": 0.0, "count": 0})
                    for _ in range(r.randint(0, 20)):
                        d = r.expovariate(1 / (0.05 if status == "200" else 0.3))
                        h["sum"] += d
                        h["count"] += 1
                        for i, ub in enumerate(BUCKETS):
                            if d <= ub:
                                h["b"][i] += 1
                        h["b"][25] += 1
                    hl = dict(tl, method=method, path=path, status=status)
                    for i, ub in enumerate(BUCKETS + [math.inf]):
                        self.add(dict(hl, __name__="demo_api_request_duration_seconds_bucket",
                                      le=go_float(ub)), t, float(h["b"][i]))
                    self.add(dict(hl, __name__="demo_api_request_duration_seconds_sum"), t, round(h["sum"], 6))
                    self.add(dict(hl, __name__="demo_api_request_duration_seconds_count"), t, float(h["count"]))
                self.seed_series(st, n, inst, t)
        return self.series

    def seed_series(self, st, n, inst, t):
        """Series the seeds' queries use, in the same shapes."""
        r = self.rnd
        for service in ("api-gateway", "orders"):
            for status in ("200", "500"):
                k = (service, status)
                st["http"][k] = st["http"].get(k, 0.0) + r.randint(0, 30 if status == "200" else 3)
                self.add({"__name__": "http_requests_total", "job": "app", "instance": inst,
                          "service": service, "status": status}, t, st["http"][k])
            cum = st["http"].get((service, "h"), [0.0] * 5)
            for i in range(5):
                cum[i] += r.randint(i, 4 + 2 * i)
            st["http"][(service, "h")] = cum
            for i, le in enumerate(("0.1", "0.25", "0.5", "1", "+Inf")):
                self.add({"__name__": "http_request_duration_seconds_bucket", "job": "app",
                          "instance": inst, "service": service, "le": le}, t, float(sum(cum[:i + 1])))
                if service == "orders":
                    self.add({"__name__": "database_query_duration_seconds_bucket", "job": "db",
                              "instance": inst, "le": le}, t, float(sum(cum[:i + 1]) * 2))
        st["proc_cpu"] += r.uniform(0.01, 0.2)
        self.add({"__name__": "process_cpu_seconds_total", "job": "app", "instance": inst}, t,
                 round(st["proc_cpu"], 3))
        self.add({"__name__": "process_resident_memory_bytes", "job": "app", "instance": inst}, t,
                 float(300e6 + r.randint(0, 200) * 1e6))
        self.add({"__name__": "pg_stat_database_numbackends", "job": "postgres", "instance": inst,
                  "datname": "app"}, t, float(r.randint(1, 40)))
        self.add({"__name__": "up", "job": "postgres", "instance": inst}, t, 0.0 if n == 2 else 1.0)
        self.add({"__name__": "pg_up", "job": "postgres", "instance": inst}, t, 1.0)
        self.add({"__name__": "mongodb_up", "job": "mongodb", "instance": inst}, t, float(n != 1))
        self.add({"__name__": "database_connections_active", "job": "db", "instance": inst}, t,
                 float(r.randint(10, 100)))
        self.add({"__name__": "database_connections_total", "job": "db", "instance": inst}, t, 100.0)
        self.add({"__name__": "node_filesystem_avail_bytes", "instance": inst, "mountpoint": "/"}, t,
                 float(r.randint(5, 50)) * 1e9)
        self.add({"__name__": "node_filesystem_size_bytes", "instance": inst, "mountpoint": "/"}, t, 100e9)
        for mode in ("idle", "user"):
            st["node_cpu"][mode] += r.uniform(0.5, 5.0)
            self.add({"__name__": "node_cpu_seconds_total", "instance": inst, "cpu": "0", "mode": mode},
                     t, round(st["node_cpu"][mode], 2))
        self.add({"__name__": "node_memory_MemAvailable_bytes", "instance": inst}, t,
                 float(r.randint(1, 8)) * 1e9)
        self.add({"__name__": "node_memory_MemTotal_bytes", "instance": inst}, t, 16e9)


def send_all(url, series, window_ms=5 * 60 * 1000):
    """Time-ordered windows, as Prometheus takes old samples only in order."""
    items = [(dict(k), pts) for k, pts in series.items()]
    lo = min(p[0][0] for _, p in items)
    hi = max(p[-1][0] for _, p in items)
    cursors = [0] * len(items)
    start = lo
    while start <= hi:
        batch = []
        for i, (labels, pts) in enumerate(items):
            part = []
            c = cursors[i]
            while c < len(pts) and pts[c][0] < start + window_ms:
                part.append(pts[c])
                c += 1
            cursors[i] = c
            if part:
                batch.append((labels, part))
        if batch:
            body = b""
            for labels, part in batch:
                body += stale_aware_series(labels, part)
            status, resp = rwclient.send(url + "/api/v1/write", None, raw=rwclient.snappy_literal(body))
            if status not in (200, 204):
                raise RuntimeError("remote write to %s: %d %s" % (url, status, resp[:200]))
        start += window_ms


def stale_aware_series(labels, pts):
    """One TimeSeries message; "stale" becomes Prometheus's stale NaN."""
    ts = b"".join(rwclient._field_bytes(1, rwclient._label(k, labels[k])) for k in sorted(labels))
    for t, v in pts:
        if v == "stale":
            s = rwclient._uvarint(1 << 3 | 1) + STALE_NAN + rwclient._uvarint(2 << 3) + rwclient._uvarint(t)
        else:
            s = rwclient._sample(t, float(v))
        ts += rwclient._field_bytes(2, s)
    return rwclient._field_bytes(1, ts)


def query_range(url, q, start, end, step):
    path = "/api/v1/query_range?" + urllib.parse.urlencode(
        {"query": q, "start": "%.3f" % start, "end": "%.3f" % end, "step": str(step)})
    try:
        status, _, body = harness.http("GET", url + path, timeout=30)
    except OSError as e:
        return None, "no answer: %s" % e
    try:
        doc = json.loads(body)
    except ValueError:
        return None, "HTTP %d: %r" % (status, body[:200])
    if doc.get("status") != "success":
        return None, "%s: %s" % (doc.get("errorType"), doc.get("error"))
    return doc["data"], None


def normalize(data):
    """A matrix (or scalar) as a sorted list of (labels, points)."""
    if data["resultType"] == "scalar" or data["resultType"] == "string":
        return [((), [tuple(data["result"])])]
    out = []
    for s in data["result"]:
        pts = s.get("values") or ([s["value"]] if "value" in s else [])
        out.append((tuple(sorted(s["metric"].items())), [(p[0], p[1]) for p in pts]))
    out.sort()
    return out


def values_equal(a, b):
    fa, fb = float(a), float(b)
    if math.isnan(fa) and math.isnan(fb):
        return True
    if fa == fb:
        return True
    if math.isinf(fa) or math.isinf(fb):
        return False
    return abs(fa - fb) <= TOLERANCE * max(abs(fa), abs(fb))


def compare(a, b):
    """None when equal, else a short reason."""
    na, nb = normalize(a), normalize(b)
    if len(na) != len(nb):
        return "%d series, Prometheus %d" % (len(na), len(nb))
    for (la, pa), (lb, pb) in zip(na, nb):
        if la != lb:
            return "labels %s, Prometheus %s" % (dict(la), dict(lb))
        if len(pa) != len(pb):
            return "%s: %d points, Prometheus %d" % (dict(la), len(pa), len(pb))
        for (ta, va), (tb, vb) in zip(pa, pb):
            if ta != tb:
                return "%s: timestamp %s, Prometheus %s" % (dict(la), ta, tb)
            if not values_equal(va, vb):
                return "%s @%s: %s, Prometheus %s" % (dict(la), ta, va, vb)
    return None


@unittest.skipUnless(HAVE_PROMETHEUS, "Debian's prometheus is not installed")
class PromqlComplianceTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        now = int(time.time() * 1000)
        cls.end_data = now - now % 60000
        series = Gen(cls.end_data - HISTORY_MS, cls.end_data).run()
        cls.vigil = harness.Vigil()
        cls.prom = harness.Prometheus("global:\n  scrape_interval: 15s\n",
                                      args=["--web.enable-remote-write-receiver"])
        send_all(cls.vigil.url, series)
        send_all(cls.prom.url, series)

    @classmethod
    def tearDownClass(cls):
        cls.prom.cleanup()
        cls.vigil.cleanup()

    def run_list(self, queries, label):
        # upstream's timing: end = now - 12m, start = end - 10m, step 10s
        end = (self.end_data - 12 * 60 * 1000) / 1000
        start = end - 600
        matched, mismatches, prom_errors = 0, [], 0
        for case in queries:
            q = case["query"]
            da, ea = query_range(self.vigil.url, q, start, end, 10)
            db, eb = query_range(self.prom.url, q, start, end, 10)
            if eb and eb.startswith("no answer"):
                self.fail("Prometheus did not answer %r: %s" % (q, eb))
            if case["should_fail"]:
                ok = ea is not None and eb is not None
                why = None if ok else "should fail: vigil %s, Prometheus %s" % (ea or "succeeded", eb or "succeeded")
            elif eb is not None:
                prom_errors += 1
                ok = ea is not None
                why = None if ok else "Prometheus failed (%s), vigil did not" % eb
            elif ea is not None:
                ok, why = False, ea
            elif case["skip"]:
                ok, why = True, None
            else:
                why = compare(da, db)
                ok = why is None
            if ok:
                matched += 1
            else:
                mismatches.append("  %s %s\n      %s" % (case["source"], q, why[:300]))
        return matched, mismatches, prom_errors

    def test_compliance_queries(self):
        queries = load_queries()
        self.assertEqual(len(queries), 539)
        matched, mismatches, prom_errors = self.run_list(queries, "compliance")
        rate = 100.0 * matched / len(queries)
        print("\nmismatches (%d):\n%s" % (len(mismatches), "\n".join(mismatches)))
        print("promql-compliance conformance: %d/%d matched (%.1f%%)" % (matched, len(queries), rate))
        # Prometheus itself must answer the queries that are meant to work.
        self.assertLessEqual(prom_errors, 5, "Prometheus failed on queries meant to work")
        self.assertGreaterEqual(rate, MIN_MATCH_RATE)

    def test_seed_queries(self):
        queries = load_seed_queries()
        self.assertGreater(len(queries), 0)
        matched, mismatches, prom_errors = self.run_list(queries, "seed")
        print("\nseed query mismatches (%d):\n%s" % (len(mismatches), "\n".join(mismatches)))
        print("promql seed queries conformance: %d/%d matched (%.1f%%)"
              % (matched, len(queries), 100.0 * matched / len(queries)))
        self.assertEqual(prom_errors, 0)


if __name__ == "__main__":
    unittest.main()
