"""The Pushgateway API against the real prometheus-pushgateway (same
requests, same status codes and bodies, same series on /metrics and the same
JSON API), pushes as the client libraries make them, the pushed samples in
the store, and import: /api/v1/import/prometheus, `vigil import
--storage.path` into a stopped store and `vigil import --url`."""

import base64
import gzip
import json
import os
import shutil
import struct
import subprocess
import tempfile
import time
import unittest
import urllib.parse

from harness import Vigil, free_port, http, run_vigil, wait_http

PUSHGATEWAY = "/usr/bin/prometheus-pushgateway"
PROTO_CT = ("application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; "
            "encoding=delimited")
TEXT_CT = "text/plain; version=0.0.4; charset=utf-8"


def export(v, match):
    q = urllib.parse.urlencode({"match[]": match})
    status, _, body = v.get("/api/v1/export?" + q)
    assert status == 200, body
    return [json.loads(l) for l in body.decode().splitlines() if l]


# ------------------------------------------------ what client libraries send

def grouping_path(job, grouping):
    """The URL path the client libraries build: a value with '/' (or an
    empty one) goes base64url-encoded under name@base64."""
    def part(name, value):
        if value == "" or "/" in value:
            enc = base64.urlsafe_b64encode(value.encode()).decode() or "="
            return "/%s@base64/%s" % (name, enc)
        return "/%s/%s" % (name, urllib.parse.quote(value, safe=""))
    path = "/metrics" + part("job", job)
    for k in sorted(grouping):
        path += part(k, grouping[k])
    return path


def pb_varint(v):
    out = b""
    while v >= 0x80:
        out += bytes([(v & 0x7f) | 0x80])
        v >>= 7
    return out + bytes([v])


def pb_field(num, wire, payload):
    key = pb_varint(num << 3 | wire)
    if wire == 2:
        return key + pb_varint(len(payload)) + payload
    return key + payload


def pb_family(name, help_text, mtype, metrics):
    """A MetricFamily message; metrics are (labels dict, value) for
    counter/gauge/untyped, as client_golang writes them."""
    body = pb_field(1, 2, name.encode()) + pb_field(2, 2, help_text.encode())
    body += pb_field(3, 0, pb_varint(mtype))
    value_field = {0: 3, 1: 2, 3: 5}[mtype]
    for labels, value in metrics:
        m = b""
        for k, v in sorted(labels.items()):
            m += pb_field(1, 2, pb_field(1, 2, k.encode()) + pb_field(2, 2, v.encode()))
        m += pb_field(value_field, 2, pb_field(1, 1, struct.pack("<d", value)))
        body += pb_field(4, 2, m)
    return pb_varint(len(body)) + body


def series_set(text):
    """Series (name{sorted labels}) of a text exposition, without the
    Pushgateway's own metrics and with push_* values dropped."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        key, _, value = line.rpartition(" ")
        name = key.split("{", 1)[0]
        if name.startswith(("go_", "process_", "pushgateway_", "promhttp_")):
            continue
        if name.startswith("push_"):
            value = "0" if value == "0" else "T"
        out[key] = value
    return out


class PushgatewayCompatTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.v = Vigil()
        cls.pg = None
        if os.path.exists(PUSHGATEWAY):
            cls.pg_port = free_port()
            cls.pg_url = "http://127.0.0.1:%d" % cls.pg_port
            cls.pg_log = tempfile.TemporaryFile()
            # No persistence file: the Debian default would be a system path.
            cls.pg = subprocess.Popen(
                [PUSHGATEWAY, "--web.listen-address=127.0.0.1:%d" % cls.pg_port,
                 "--persistence.file="], stdout=cls.pg_log, stderr=subprocess.STDOUT)
            wait_http(cls.pg_url + "/-/ready", proc=cls.pg)

    @classmethod
    def tearDownClass(cls):
        cls.v.cleanup()
        if cls.pg:
            cls.pg.terminate()
            cls.pg.wait(10)

    def both(self, method, path, body=b"", headers=None):
        """Sends the request to vigil and (when present) the Pushgateway and
        checks they answer alike; returns vigil's answer."""
        if isinstance(body, str):
            body = body.encode()
        got = http(method, self.v.url + path, body=body if method != "DELETE" else None,
                   headers=headers)
        if self.pg:
            want = http(method, self.pg_url + path, body=body if method != "DELETE" else None,
                        headers=headers)
            self.assertEqual(got[0], want[0], "%s %s: %r vs %r" % (method, path, got[2], want[2]))
            if got[2] != want[2] and b"inconsistent with existing metrics: " in want[2]:
                # When a push conflicts with several existing groups, the
                # Pushgateway reports them in Go's map order (one or all of
                # them, varying between runs); vigil names the first group in
                # push order (docs/push-and-import.md). Same answer otherwise:
                # the same prefix, about the same metric.
                prefix, _, mine = got[2].partition(b": ")
                self.assertTrue(want[2].startswith(prefix + b": "), got[2])
                name = mine.split(b'"')[1] if mine.count(b'"') >= 2 else mine
                self.assertIn(b'"' + name + b'"', want[2], "%s %s" % (method, path))
            else:
                self.assertEqual(got[2], want[2], "%s %s" % (method, path))
        return got

    def test_1_requests_like_pushgateway(self):
        cases = [
            ("PUT", "/metrics/job/j1", "foo 1\n", 200),
            ("PUT", "/metrics/job/j2", "foo 1 1000\n", 400),          # timestamps refused
            ("PUT", "/metrics/job/j3", "foo{ 1\n", 400),              # parse error
            ("PUT", "/metrics/job/j3", "a 1", 400),                   # no final newline
            ("POST", "/metrics/job/", "foo 1\n", 307),
            ("POST", "/metrics/job", "foo 1\n", 404),
            ("POST", "/metrics/job/j4/a", "foo 1\n", 400),            # odd components
            ("POST", "/metrics/job/j4/__a/b", "foo 1\n", 400),
            ("POST", "/metrics/job/j4/a-b/b", "foo 1\n", 400),
            ("POST", "/metrics/job/j4/b@base64/a=b", "foo 1\n", 400),
            ("POST", "/metrics/job@base64/Zm9v/bar@base64/YmF6PQ==/e@base64/=/f/", "foo 1\n", 200),
            ("GET", "/metrics/job/j1", "", 405),
            ("DELETE", "/metrics/job/nothing", "", 202),
            ("PUT", "/metrics/job/j5", "# TYPE foo counter\nfoo 1\n", 400),  # type conflict
            ("PUT", "/metrics/job/j1/instance/x", 'foo{instance="x"} 2\n', 200),
            ("PUT", "/metrics/job/j6", 'foo{instance="x"} 2\n', 200),
            ("PUT", "/metrics/job/j7",
             '# HELP h help me\n# TYPE h histogram\nh_bucket{le="0.5",a="1"} 1\n'
             'h_bucket{le="1",a="1"} 2\nh_sum{a="1"} 3\nh_count{a="1"} 2\n'
             '# TYPE s summary\ns{quantile="0.5"} 1\ns_sum 2\ns_count 3\n'
             's{quantile="0.9"} 1.5\n# TYPE c counter\nc_total 5\n'
             'c_total{x="y\\n\\"z"} 1e9\n# TYPE g gauge\ng NaN\ng{q="1"} -Inf\n', 200),
            ("POST", "/metrics/job/j8/a/b", "# HELP bar other help\nfoo 3\nbar 1\n", 200),
            ("POST", "/metrics/job/j8/a/b", "foo 4\n", 200),         # replaces foo only
            ("POST", "/metrics/job/j8/a/c", "foo 4\nfoo 5\n", 400),  # a series twice
            ("PUT", "/metrics/job/j9", "x 1\ny 2\n", 200),
            ("PUT", "/metrics/job/j9", "z 3\n", 200),                # replaces x and y
            ("PUT", "/metrics/job/j10", "push_time_seconds 5\n", 200),
            ("PUT", "/metrics/job/j11", "", 200),
            ("DELETE", "/metrics/job/j11", "", 202),
        ]
        for method, path, body, status in cases:
            got = self.both(method, path, body)
            self.assertEqual(got[0], status, "%s %s: %r" % (method, path, got[2]))
        # gzip bodies, and a body that claims gzip but is not.
        self.both("PUT", "/metrics/job/gz", gzip.compress(b"zipped 1\n"),
                  {"Content-Encoding": "gzip"})
        self.assertEqual(self.both("PUT", "/metrics/job/gz2", b"zz 1\n",
                                   {"Content-Encoding": "gzip"})[0], 400)
        # As the Python client pushes: text, PUT, base64 for a '/' value.
        path = grouping_path("py", {"instance": "host:9100", "path": "/var/tmp", "empty": ""})
        self.assertIn("path@base64/L3Zhci90bXA=", path)
        got = self.both("PUT", path, "# HELP batch_ok Last success.\n# TYPE batch_ok gauge\n"
                        "batch_ok 1.7e+09\n", {"Content-Type": TEXT_CT})
        self.assertEqual(got[0], 200)
        # As the Go client pushes: delimited protobuf, PUT then POST.
        body = pb_family("jobs_done_total", "Jobs done.", 0, [({"kind": "a"}, 3), ({"kind": "b"}, 4)])
        body += pb_family("queue_depth", "Depth.", 1, [({}, 7)])
        self.assertEqual(self.both("PUT", "/metrics/job@base64/" +
                                   base64.urlsafe_b64encode(b"go/job").decode(), body,
                                   {"Content-Type": PROTO_CT})[0], 200)
        self.assertEqual(self.both("POST", "/metrics/job@base64/Z28vam9i",
                                   pb_family("queue_depth", "Depth.", 1, [({}, 8)]),
                                   {"Content-Type": PROTO_CT})[0], 200)
        # curl --data-binary @file
        with tempfile.NamedTemporaryFile("w", suffix=".prom", delete=False) as f:
            f.write("# TYPE from_curl gauge\nfrom_curl 42\n")
        try:
            for url in [self.v.url] + ([self.pg_url] if self.pg else []):
                p = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
                                    "--data-binary", "@" + f.name,
                                    url + "/metrics/job/curl/instance/c1"],
                                   capture_output=True, timeout=10)
                self.assertEqual(p.stdout, b"200")
        finally:
            os.unlink(f.name)

    def test_2_metrics_and_json_agree(self):
        _, hdr, body = self.v.get("/pushgateway/metrics")
        mine = body.decode()
        self.assertIn("text/plain; version=0.0.4", hdr["Content-Type"])
        self.assertIn('jobs_done_total{instance="",job="go/job",kind="a"} 3\n', mine)
        self.assertIn('queue_depth{instance="",job="go/job"} 8\n', mine)
        self.assertIn('batch_ok{empty="",instance="host:9100",job="py",path="/var/tmp"} 1.7e+09',
                      mine)
        self.assertNotIn("\nx{", mine)
        if not self.pg:
            self.skipTest("prometheus-pushgateway is not installed")
        _, _, theirs = http("GET", self.pg_url + "/metrics")
        self.assertEqual(series_set(mine), series_set(theirs.decode()))
        # Line for line, once the Pushgateway's own metrics and the push
        # times are left out.
        def strip(text):
            keep = []
            for line in text.splitlines():
                name = line.split(" ")[2] if line.startswith("#") else line.split("{")[0].split(" ")[0]
                if name.startswith(("go_", "process_", "pushgateway_", "promhttp_")):
                    continue
                if name.startswith("push_") and not line.startswith("#"):
                    line = line.rpartition(" ")[0]
                keep.append(line)
            return keep
        self.assertEqual(strip(mine), strip(theirs.decode()))

        def norm(data):
            out = {}
            for g in data:
                gg = {}
                for k, val in g.items():
                    if isinstance(val, dict) and "time_stamp" in val:
                        val = dict(val)
                        del val["time_stamp"]
                        if k.startswith("push_"):
                            val["metrics"] = [dict(m, value="0" if m["value"] == "0" else "T")
                                              for m in val["metrics"]]
                    gg[k] = val
                out[json.dumps(g["labels"], sort_keys=True)] = gg
            return out
        _, _, a = self.v.get("/api/v1/metrics")
        _, _, b = http("GET", self.pg_url + "/api/v1/metrics")
        self.assertEqual(norm(json.loads(a)["data"]), norm(json.loads(b)["data"]))

    def test_3_samples_in_the_store(self):
        rows = export(self.v, '{job="j9"}')
        by_name = {r["metric"]["__name__"]: r for r in rows}
        self.assertEqual(by_name["z"]["values"], [3])
        # x and y were pushed, then replaced: a value, then a stale marker.
        self.assertEqual(by_name["x"]["values"][0], 1)
        self.assertEqual(by_name["x"]["values"][-1], "NaN")
        self.assertIn("push_time_seconds", by_name)
        self.assertNotIn("instance", by_name["z"]["metric"])  # instance="" is no label
        # A deleted group's series end with a stale marker.
        rows = export(self.v, '{job="j11"}')
        self.assertTrue(rows)
        for r in rows:
            self.assertEqual(r["values"][-1], "NaN", r)
        # The push time is the sample time.
        t = export(self.v, 'queue_depth{job="go/job"}')[0]["timestamps"][-1]
        self.assertLess(abs(t / 1000 - time.time()), 120)

    def test_4_restart_keeps_groups(self):
        before = self.v.get("/pushgateway/metrics")[2]
        self.assertEqual(self.v.stop(), 0)
        data = os.path.join(self.v.dir, "data")
        self.assertTrue(os.path.exists(os.path.join(data, "pushgateway.json")))
        v2 = Vigil(args=["--storage.path=" + data])
        try:
            after = v2.get("/pushgateway/metrics")[2]
            self.assertEqual(before, after)
        finally:
            v2.stop()
            shutil.rmtree(v2.dir, ignore_errors=True)


OPENMETRICS = """# HELP http_requests Requests.
# TYPE http_requests counter
http_requests_total{code="200"} 1021 1565133713.989
http_requests_total{code="200"} 1027 1565133773.989
http_requests_total{code="400"} 1 1565133713.989
http_requests_total{code="400"} 2 1565133773.989
# TYPE temp_celsius gauge
# UNIT temp_celsius celsius
temp_celsius{room="a"} 20.5 1565133713.989
temp_celsius{room="a"} 21 1565133773.989
# EOF
"""

# Samples from 2019: the store must keep them.
RETENTION = ["--storage.tsdb.retention.time=20y"]


class ImportTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.v = Vigil(args=RETENTION)

    @classmethod
    def tearDownClass(cls):
        cls.v.cleanup()

    def test_text_with_extra_labels(self):
        now = int(time.time() * 1000)
        body = ("imp_a{x=\"1\"} 1 %d\nimp_a{x=\"1\"} 2 %d\nimp_b 7\n" % (now - 60000, now - 30000))
        status, _, out = self.v.post("/api/v1/import/prometheus?extra_label=src=test&extra_label=x=9",
                                     body.encode())
        self.assertEqual(status, 204, out)
        rows = export(self.v, '{src="test"}')
        by_name = {r["metric"]["__name__"]: r for r in rows}
        self.assertEqual(by_name["imp_a"]["metric"], {"__name__": "imp_a", "src": "test", "x": "9"})
        self.assertEqual(by_name["imp_a"]["values"], [1, 2])
        self.assertEqual(by_name["imp_a"]["timestamps"], [now - 60000, now - 30000])
        # No timestamp: the request time.
        self.assertLess(abs(by_name["imp_b"]["timestamps"][0] - now), 60000)
        # Out of order: counted, skipped, reported.
        status, _, out = self.v.post("/api/v1/import/prometheus?extra_label=src=test&extra_label=x=9",
                                     ("imp_a 5 %d\nimp_a 6 %d\n" % (now - 90000, now)).encode())
        self.assertEqual(status, 200, out)
        d = json.loads(out)["data"]
        self.assertEqual((d["samplesImported"], d["outOfOrder"]), (1, 1))

    def test_parse_error_stores_nothing(self):
        status, _, out = self.v.post("/api/v1/import/prometheus",
                                     b"ok_metric 1 1000\nbad{x=1} 2 2000\n")
        self.assertEqual(status, 400)
        self.assertIn(b"line 2, column 7", out)
        self.assertEqual(export(self.v, "ok_metric"), [])

    def test_openmetrics_gzip(self):
        status, _, out = self.v.post(
            "/api/v1/import/prometheus", gzip.compress(OPENMETRICS.encode()),
            headers={"Content-Type": "application/openmetrics-text; version=1.0.0",
                     "Content-Encoding": "gzip"})
        self.assertEqual(status, 204, out)
        rows = export(self.v, "http_requests_total")
        self.assertEqual([r["values"] for r in rows], [[1021, 1027], [1, 2]])
        self.assertEqual(rows[0]["timestamps"], [1565133713989, 1565133773989])
        status, _, _ = self.v.post("/api/v1/import/prometheus", b"x 1\n",
                                   headers={"Content-Encoding": "br"})
        self.assertEqual(status, 415)


class ImportCommandTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="vigil-import-")
        self.file = os.path.join(self.dir, "backfill.om")
        with open(self.file, "w") as f:
            f.write(OPENMETRICS)

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def test_into_stopped_store_then_serve(self):
        data = os.path.join(self.dir, "data")
        status, out, err = run_vigil(["import", "--storage.path=" + data,
                                      "--storage.tsdb.retention.time=20y", self.file])
        self.assertEqual(status, 0, err)
        self.assertIn("imported 6 samples", out)
        v = Vigil(args=["--storage.path=" + data] + RETENTION)
        try:
            rows = export(v, '{__name__=~"http_requests_total|temp_celsius"}')
            self.assertEqual(len(rows), 3)
            temp = [r for r in rows if r["metric"]["__name__"] == "temp_celsius"][0]
            self.assertEqual(temp["values"], [20.5, 21])
            # A store in use cannot be opened by the command.
            status, _, err = run_vigil(["import", "--storage.path=" + data, self.file])
            self.assertNotEqual(status, 0)
        finally:
            v.cleanup()

    def test_through_a_server(self):
        v = Vigil(args=RETENTION)
        try:
            status, out, err = run_vigil(["import", "--url=" + v.url, "--extra-label=origin=file",
                                          self.file])
            self.assertEqual(status, 0, err)
            self.assertIn("imported 6 samples", out)
            rows = export(v, '{origin="file"}')
            self.assertEqual(sum(len(r["values"]) for r in rows), 6)
            # Again: every sample is an exact repeat, stored once.
            status, out, err = run_vigil(["import", "--url=" + v.url, "--extra-label=origin=file",
                                          self.file])
            self.assertEqual(status, 0, err)
        finally:
            v.cleanup()

    def test_parse_error(self):
        with open(self.file, "w") as f:
            f.write("# TYPE a gauge\na 1 1565133713\na{x=} 2 1565133773\n# EOF\n")
        status, out, err = run_vigil(["import", "--storage.path=" + os.path.join(self.dir, "d"),
                                      self.file])
        self.assertEqual(status, 1)
        self.assertIn("line 3, column 5", err)
        self.assertFalse(os.path.exists(os.path.join(self.dir, "d")))
        status, _, err = run_vigil(["import", self.file])
        self.assertEqual(status, 2)


if __name__ == "__main__":
    unittest.main()
