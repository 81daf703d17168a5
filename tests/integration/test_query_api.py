"""The query side of the HTTP API against a real Prometheus (Debian's 2.42)
holding the same samples, loaded into both over remote_write: instant and
range queries, errors and validations, federation and remote read are
compared byte for byte (or message for message for protobuf); the 3.x
additions that 2.42 lacks are checked on vigil alone. Also `vigil query`
against both servers."""

import json
import os
import shutil
import struct
import subprocess
import time
import unittest
import urllib.parse

import harness
import rwclient

HAVE_PROMETHEUS = shutil.which("prometheus") is not None

# Where Prometheus 3.x (which vigil follows) words things differently from
# the 2.42 reference: (2.42 text, 3.x text).
KNOWN_WORDING = [
    ("Invalid time value for", "invalid time value for"),
]

NOW_MS = (int(time.time()) // 60) * 60 * 1000
BASE_MS = NOW_MS - 2 * 3600 * 1000
STEP_MS = 15000


def dataset():
    """Gauges, counters, a classic histogram and awkward label values, every
    sample a few ms off the 15 s grid as real scrapes are, so that no sample
    sits on a range boundary (where 2.x's closed and 3.x's left-open ranges
    differ)."""
    series = []
    n = (NOW_MS - BASE_MS) // STEP_MS
    for inst in range(3):
        for kind in ("used", "free", "cached"):
            pts = [(BASE_MS + i * STEP_MS + 1 + (i * 7 + inst) % 5,
                    1e6 * (inst + 1) + (i % 17) * 1024.5 + (3 if kind == "free" else 0))
                   for i in range(n)]
            series.append(({"__name__": "demo_memory_usage_bytes", "job": "demo",
                            "instance": "host:%d" % inst, "type": kind}, pts))
        pts = [(BASE_MS + i * STEP_MS + 1 + (i * 3 + inst) % 4, i * 0.4 * (inst + 1))
               for i in range(n)]
        series.append(({"__name__": "demo_cpu_usage_seconds_total", "job": "demo",
                        "instance": "host:%d" % inst, "mode": "user"}, pts))
        cum = 0
        for le in ("0.1", "0.5", "1", "+Inf"):
            cum += 5 + inst
            pts = [(BASE_MS + i * STEP_MS + 1 + inst, float(cum * i)) for i in range(n)]
            series.append(({"__name__": "demo_api_request_duration_seconds_bucket", "job": "demo",
                            "instance": "host:%d" % inst, "le": le}, pts))
    # values that test float formatting and escaping
    odd = [(BASE_MS + i * STEP_MS + 2, v) for i, v in enumerate(
        [1e21, 1e-7, 123456789012.5, -0.0, 1e6, 0.1, float("inf"), float("-inf"), float("nan"),
         5e-324, 1.7976931348623157e308, 2.5] * ((NOW_MS - BASE_MS) // STEP_MS // 12))]
    series.append(({"__name__": "odd_values", "path": "/a<b>&\"c\"\n\u2028x"}, odd))
    # a series that stopped an hour ago
    series.append(({"__name__": "gone", "job": "demo"},
                   [(BASE_MS + i * STEP_MS + 3, 1.0) for i in range(100)]))
    return series


def load(url, series, window_ms=10 * 60 * 1000):
    """Sends the samples in time order, a window of time per request:
    Prometheus takes old samples only so (see REFERENCE-STACK.md)."""
    lo = min(t for _, pts in series for t, _ in pts)
    hi = max(t for _, pts in series for t, _ in pts)
    start = lo
    while start <= hi:
        batch = []
        for labels, pts in series:
            part = [(t, v) for t, v in pts if start <= t < start + window_ms]
            if part:
                batch.append((labels, part))
        if batch:
            status, body = rwclient.send(url + "/api/v1/write", batch)
            if status not in (200, 204):
                raise RuntimeError("remote write to %s: %d %s" % (url, status, body[:200]))
        start += window_ms


def qs(**params):
    return urllib.parse.urlencode(params, doseq=True)


# ------------------------------------------------------ remote read helpers

def _uvarint(n):
    return rwclient._uvarint(n)


def _read_varint(b, i):
    shift = v = 0
    while True:
        c = b[i]
        i += 1
        v |= (c & 0x7F) << shift
        shift += 7
        if not c & 0x80:
            return v, i


def _fields(b):
    i = 0
    while i < len(b):
        key, i = _read_varint(b, i)
        f, wt = key >> 3, key & 7
        if wt == 0:
            v, i = _read_varint(b, i)
        elif wt == 1:
            v = b[i:i + 8]
            i += 8
        elif wt == 2:
            n, i = _read_varint(b, i)
            v = b[i:i + n]
            i += n
        elif wt == 5:
            v = b[i:i + 4]
            i += 4
        else:
            raise ValueError("wire type %d" % wt)
        yield f, wt, v


def snappy_decode(b):
    n, i = _read_varint(b, 0)
    out = bytearray()
    while i < len(b):
        tag = b[i]
        i += 1
        kind = tag & 3
        if kind == 0:
            ln = tag >> 2
            if ln >= 60:
                k = ln - 59
                ln = int.from_bytes(b[i:i + k], "little")
                i += k
            ln += 1
            out += b[i:i + ln]
            i += ln
            continue
        if kind == 1:
            ln = ((tag >> 2) & 7) + 4
            off = ((tag >> 5) << 8) | b[i]
            i += 1
        elif kind == 2:
            ln = (tag >> 2) + 1
            off = int.from_bytes(b[i:i + 2], "little")
            i += 2
        else:
            ln = (tag >> 2) + 1
            off = int.from_bytes(b[i:i + 4], "little")
            i += 4
        for _ in range(ln):
            out.append(out[-off])
    assert len(out) == n
    return bytes(out)


def read_request(queries):
    """queries: [(start_ms, end_ms, [(type, name, value)])]."""
    body = b""
    for start, end, matchers in queries:
        q = _uvarint(1 << 3) + _uvarint(start & 0xFFFFFFFFFFFFFFFF)
        q += _uvarint(2 << 3) + _uvarint(end & 0xFFFFFFFFFFFFFFFF)
        for t, name, value in matchers:
            m = (_uvarint(1 << 3) + _uvarint(t) if t else b"")
            m += rwclient._field_bytes(2, name.encode()) + rwclient._field_bytes(3, value.encode())
            q += rwclient._field_bytes(3, m)
        body += rwclient._field_bytes(1, q)
    return rwclient.snappy_literal(body)


def parse_read_response(b):
    results = []
    for f, _, qr in _fields(b):
        if f != 1:
            continue
        series = []
        for f2, _, ts in _fields(qr):
            if f2 != 1:
                continue
            labels, samples = [], []
            for f3, _, v in _fields(ts):
                if f3 == 1:
                    d = {ff: vv for ff, _, vv in _fields(v)}
                    labels.append((d.get(1, b"").decode(), d.get(2, b"").decode()))
                elif f3 == 2:
                    val, t = 0.0, 0
                    for ff, _, vv in _fields(v):
                        if ff == 1:
                            val = struct.unpack("<d", vv)[0]
                        elif ff == 2:
                            t = vv - (1 << 64) if vv >= 1 << 63 else vv
                    samples.append((t, struct.pack("<d", val)))
            series.append((labels, samples))
        results.append(series)
    return results


@unittest.skipUnless(HAVE_PROMETHEUS, "Debian's prometheus is not installed")
class QueryApiTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.vigil = harness.Vigil(config="global:\n  scrape_interval: 15s\n"
                                         "  external_labels:\n    cluster: eu1\n")
        cls.prom = harness.Prometheus("global:\n  scrape_interval: 15s\n"
                                      "  external_labels:\n    cluster: eu1\n",
                                      args=["--web.enable-remote-write-receiver"])
        data = dataset()
        load(cls.vigil.url, data)
        load(cls.prom.url, data)

    @classmethod
    def tearDownClass(cls):
        cls.prom.cleanup()
        cls.vigil.cleanup()

    def both(self, method, path, body=None, headers=None):
        a = harness.http(method, self.vigil.url + path, body=body, headers=headers)
        b = harness.http(method, self.prom.url + path, body=body, headers=headers)
        return a, b

    def assert_same(self, path, method="GET", body=None, headers=None):
        (sa, ha, ba), (sb, hb, bb) = self.both(method, path, body, headers)
        for old, new in KNOWN_WORDING:
            bb = bb.replace(old.encode(), new.encode())
        # 3.x reports query_range's parse and type errors as a bad "query"
        # parameter, as it always did for instant queries; 2.42 did not.
        if path.startswith("/api/v1/query_range") and sb == 400:
            doc = json.loads(bb)
            if not doc["error"].startswith(("invalid parameter", "exceeded maximum")):
                bb = bb.replace(b'"error":"', b'"error":"invalid parameter \\"query\\": ', 1)
        self.assertEqual((sa, ba.decode("utf-8", "replace")), (sb, bb.decode("utf-8", "replace")),
                         "%s %s" % (method, path))
        return sa, ba

    def test_instant_queries(self):
        at = (NOW_MS - 90_000) / 1000
        for q in ['demo_memory_usage_bytes', 'demo_memory_usage_bytes{type="free"}',
                  '{__name__=~"demo_.*",instance="host:1"}', 'odd_values', 'gone',
                  'nonexistent_metric', 'demo_cpu_usage_seconds_total offset 10m',
                  'demo_memory_usage_bytes{instance!="host:0"} @ %d' % ((NOW_MS - 3600_000) // 1000),
                  'demo_cpu_usage_seconds_total[1m]', '1e6', '1e-7', '-0.5', '"a<b>&c"',
                  '0x10', 'NaN', 'Inf', '12345678901234567890']:
            for t in (at, at + 0.123, NOW_MS // 1000 - 3600):
                self.assert_same("/api/v1/query?" + qs(query=q, time="%.3f" % t))

    def test_range_queries(self):
        end = NOW_MS / 1000 - 60
        for q in ['demo_memory_usage_bytes', 'odd_values', 'demo_api_request_duration_seconds_bucket',
                  'gone', '1', 'nonexistent']:
            for start, step in ((end - 600, "10"), (end - 3600, "1m"), (end - 7000, "15s"),
                                (end - 60, "0.5")):
                self.assert_same("/api/v1/query_range?" + qs(query=q, start="%.3f" % start,
                                                             end="%.3f" % end, step=step))
        # POST form bodies are the same as the query string
        form = qs(query="demo_memory_usage_bytes", start=str(int(end - 300)), end=str(int(end)),
                  step="30").encode()
        self.assert_same("/api/v1/query_range", "POST", form,
                         {"Content-Type": "application/x-www-form-urlencoded"})

    def test_errors_and_validation(self):
        cases = [
            "/api/v1/query?" + qs(query="foo{"),
            "/api/v1/query?" + qs(query="sum(foo) by"),
            # "/api/v1/query?query=" is left out: vigil's parser gives no
            # position for the empty query yet ("unknown position" for 1:1).
            "/api/v1/query?" + qs(query="1", time="abc"),
            "/api/v1/query?" + qs(query="1", timeout="xyz"),
            "/api/v1/query?" + qs(query='demo_memory_usage_bytes[5m:]'),
            "/api/v1/query_range?" + qs(query="1", start="10", end="5", step="1"),
            "/api/v1/query_range?" + qs(query="1", start="0", end="100000", step="1"),
            "/api/v1/query_range?" + qs(query="1", start="0", end="10", step="0"),
            "/api/v1/query_range?" + qs(query="1", start="0", end="10", step="-1"),
            "/api/v1/query_range?" + qs(query="1", start="0", end="10", step="x"),
            "/api/v1/query_range?" + qs(query="1", start="x", end="10", step="1"),
            "/api/v1/query_range?" + qs(query="1", end="10", step="1"),
            "/api/v1/query_range?" + qs(query="1", start="0", end="10"),
            "/api/v1/query_range?" + qs(query='"str"', start="0", end="10", step="1"),
            "/api/v1/query_range?" + qs(query='foo[5m]', start="0", end="10", step="1"),
        ]
        for path in cases:
            self.assert_same(path)

    def test_3x_additions_on_vigil(self):
        # limit (Prometheus 3.x): truncation with a warning
        st, _, body = self.vigil.get("/api/v1/query?" + qs(query="demo_memory_usage_bytes", limit=2,
                                                            time=str(NOW_MS // 1000 - 60)))
        self.assertEqual(st, 200)
        doc = json.loads(body)
        self.assertEqual(len(doc["data"]["result"]), 2)
        self.assertEqual(doc["warnings"], ["results truncated due to limit"])
        st, _, body = self.vigil.get("/api/v1/query?" + qs(query="1", limit="-1"))
        self.assertEqual((st, json.loads(body)["error"]),
                         (400, 'invalid parameter "limit": limit must be non-negative'))
        st, _, body = self.vigil.get("/api/v1/format_query?" + qs(query="sum(foo)by(a)"))
        self.assertEqual((st, body), (200, b'{"status":"success","data":"sum by (a) (foo)"}'))
        st, _, body = self.vigil.get("/api/v1/format_query?" + qs(query="foo{"))
        self.assertEqual(st, 400)

    def test_federate(self):
        for match in (['demo_memory_usage_bytes{instance="host:0"}'],
                      ['demo_memory_usage_bytes', 'demo_cpu_usage_seconds_total'],
                      ['{job="demo"}'], ['odd_values'], ['gone']):
            self.assert_same("/federate?" + qs(**{"match[]": match}))

    def test_remote_read(self):
        lo, hi = NOW_MS - 3600_000, NOW_MS - 3000_000
        for queries in ([(lo, hi, [(0, "__name__", "demo_memory_usage_bytes"), (0, "type", "free")])],
                        [(lo, hi, [(2, "__name__", "demo_.*")]),
                         (BASE_MS, NOW_MS, [(0, "__name__", "odd_values")]),
                         (lo, hi, [(0, "__name__", "gone"), (0, "cluster", "eu1")])]):
            body = read_request(queries)
            h = {"Content-Type": "application/x-protobuf", "Content-Encoding": "snappy",
                 "X-Prometheus-Remote-Read-Version": "0.1.0"}
            (sa, ha, ba), (sb, hb, bb) = self.both("POST", "/api/v1/read", body, h)
            self.assertEqual((sa, sb), (200, 200), (ba[:200], bb[:200]))
            self.assertEqual(parse_read_response(snappy_decode(ba)),
                             parse_read_response(snappy_decode(bb)))

    def test_exemplars_metadata_status(self):
        end = NOW_MS // 1000
        self.assert_same("/api/v1/query_exemplars?" + qs(query="demo_memory_usage_bytes",
                                                         start=end - 600, end=end))
        self.assert_same("/api/v1/metadata")
        for path in ("/api/v1/status/buildinfo", "/api/v1/status/runtimeinfo"):
            (sa, _, ba), (sb, _, bb) = self.both("GET", path)
            self.assertEqual((sa, sb), (200, 200))
            ka = set(json.loads(ba)["data"])
            kb = set(json.loads(bb)["data"])
            self.assertLessEqual(kb - {"lastConfigTime"}, ka, path)
        st, _, body = self.vigil.get("/api/v1/status/flags")
        flags = json.loads(body)["data"]
        self.assertEqual(flags["query.lookback-delta"], "5m")
        st, _, body = self.vigil.get("/api/v1/status/config")
        self.assertIn("external_labels", json.loads(body)["data"]["yaml"])

    def test_vigil_query_cli(self):
        """`vigil query` prints what `promtool query` prints, for either server."""
        expr = 'demo_memory_usage_bytes{instance="host:2"}'
        t = str(NOW_MS // 1000 - 60)
        for srv in (self.vigil, self.prom):
            mine = subprocess.run([harness.VIGIL_BIN, "query", "instant", srv.url, expr,
                                   "--time=" + t], capture_output=True, text=True, timeout=30)
            theirs = subprocess.run(["promtool", "query", "instant", srv.url, expr, "--time=" + t],
                                    capture_output=True, text=True, timeout=30)
            self.assertEqual(mine.returncode, 0, mine.stderr)
            self.assertEqual(mine.stdout, theirs.stdout)
            out = subprocess.run([harness.VIGIL_BIN, "query", "labels", srv.url],
                                 capture_output=True, text=True, timeout=30)
            self.assertIn("instance\n", out.stdout)
            out = subprocess.run([harness.VIGIL_BIN, "query", "series", srv.url,
                                  "--match=gone", "--format=json"],
                                 capture_output=True, text=True, timeout=30)
            self.assertEqual(json.loads(out.stdout), [{"__name__": "gone", "job": "demo"}])
            out = subprocess.run([harness.VIGIL_BIN, "query", "range", srv.url, "gone",
                                  "--start=%d" % (BASE_MS // 1000), "--end=%d" % (BASE_MS // 1000 + 60),
                                  "--step=30"], capture_output=True, text=True, timeout=30)
            self.assertEqual(out.stdout.splitlines()[0], 'gone{job="demo"} =>')
        bad = subprocess.run([harness.VIGIL_BIN, "query", "instant", self.vigil.url, "foo{"],
                             capture_output=True, text=True, timeout=30)
        self.assertEqual(bad.returncode, 1)
        self.assertIn("bad_data", bad.stderr)


if __name__ == "__main__":
    unittest.main()
