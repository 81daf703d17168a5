"""Scraping, driven over HTTP: vigil scrapes a local exporter whose body
changes between scrapes (a series that disappears gets a stale marker),
file_sd with a file that changes, http_sd, a dead target (up 0), the sample
limit, reload, the targets API's shape, vigil scraping itself, and Debian's
node_exporter scraped by vigil and by a real Prometheus at the same
interval: both must store the same series."""

import gzip
import http.server
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.parse

from harness import Vigil, free_port, http as http_req, wait_http


class Exporter:
    """A tiny exporter: /metrics serves `body`, /many a body over the sample
    limit, /sd an http_sd document. Remembers the last scrape's headers."""

    def __init__(self):
        self.body = "# HELP a An a.\n# TYPE a gauge\na 1\nb 2\n"
        self.sd = []
        self.headers = {}
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                if self.path.startswith("/metrics"):
                    outer.headers = dict(self.headers)
                    data = outer.body.encode()
                    ctype = "text/plain; version=0.0.4"
                elif self.path == "/many":
                    data = b"m1 1\nm2 2\nm3 3\n"
                    ctype = "text/plain; version=0.0.4"
                elif self.path == "/sd":
                    data = json.dumps(outer.sd).encode()
                    ctype = "application/json"
                else:
                    self.send_error(404)
                    return
                gz = "gzip" in self.headers.get("Accept-Encoding", "")
                if gz:
                    data = gzip.compress(data)
                self.send_response(200)
                self.send_header("Content-Type", ctype)
                if gz:
                    self.send_header("Content-Encoding", "gzip")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.addr = "127.0.0.1:%d" % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def export(v, match):
    status, _, body = v.get("/api/v1/export?" + urllib.parse.urlencode({"match[]": match}))
    assert status == 200, body
    return [json.loads(l) for l in body.decode().splitlines() if l]


def targets(v, state=None):
    q = "?state=" + state if state else ""
    status, _, body = v.get("/api/v1/targets" + q)
    assert status == 200, body
    return json.loads(body)


def wait_for(pred, timeout=15, what="condition"):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        last = pred()
        if last:
            return last
        time.sleep(0.2)
    raise AssertionError("timed out waiting for %s (last: %r)" % (what, last))


CONFIG = """
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: exp
    static_configs:
      - targets: ['{exp}']
        labels: {{team: a}}
      - targets: ['drop.example:1']
    relabel_configs:
      - source_labels: [__address__]
        regex: 'drop\\..*'
        action: drop
  - job_name: dead
    static_configs: [{{targets: ['127.0.0.1:{dead}']}}]
  - job_name: limited
    metrics_path: /many
    sample_limit: 2
    static_configs: [{{targets: ['{exp}']}}]
  - job_name: files
    file_sd_configs:
      - files: ['{dir}/*.json', '{dir}/*.yml']
        refresh_interval: 1s
  - job_name: http
    http_sd_configs:
      - url: http://{exp}/sd
        refresh_interval: 1s
"""


class ScrapeTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.exp = Exporter()
        cls.sd_dir = tempfile.mkdtemp(prefix="vigil-sd-")
        with open(os.path.join(cls.sd_dir, "t.json"), "w") as f:
            json.dump([{"targets": [cls.exp.addr], "labels": {"env": "one"}}], f)
        cls.exp.sd = [{"targets": [cls.exp.addr], "labels": {"from": "http"}}]
        cls.config = CONFIG.format(exp=cls.exp.addr, dead=free_port(), dir=cls.sd_dir)
        cls.v = Vigil(cls.config)

    @classmethod
    def tearDownClass(cls):
        cls.v.cleanup()
        cls.exp.close()
        shutil.rmtree(cls.sd_dir, ignore_errors=True)

    def test_a_stale_marker_when_a_series_disappears(self):
        v = self.v
        wait_for(lambda: export(v, 'b{job="exp"}'), what="b scraped")
        self.exp.body = "# HELP a An a.\n# TYPE a gauge\na 1\n"
        wait_for(lambda: export(v, 'b{job="exp"}')[0]["values"][-1] == "NaN",
                 what="stale marker on b")
        series = export(v, 'b{job="exp"}')[0]
        self.assertEqual(series["metric"],
                         {"__name__": "b", "instance": self.exp.addr, "job": "exp", "team": "a"})
        # Only the last sample is the marker; a kept scraping.
        self.assertNotIn("NaN", series["values"][:-1])
        wait_for(lambda: len(export(v, 'a{job="exp"}')[0]["values"]) >= 3, what="a goes on")
        up = export(v, 'up{job="exp"}')[0]["values"]
        self.assertTrue(all(x == 1 for x in up), up)
        self.exp.body = "# HELP a An a.\n# TYPE a gauge\na 1\nb 2\n"

    def test_request_headers(self):
        wait_for(lambda: self.exp.headers, what="a scrape")
        h = {k.lower(): x for k, x in self.exp.headers.items()}
        self.assertTrue(h["accept"].startswith("application/openmetrics-text;version=1.0.0"))
        self.assertIn("text/plain;version=0.0.4;q=0.5", h["accept"])
        self.assertEqual(h["accept-encoding"], "gzip")
        self.assertEqual(h["x-prometheus-scrape-timeout-seconds"], "1")

    def test_dead_target_is_down(self):
        v = self.v
        up = wait_for(lambda: export(v, 'up{job="dead"}'), what="up for dead")[0]["values"]
        self.assertTrue(all(x == 0 for x in up), up)
        t = [t for t in targets(v)["data"]["activeTargets"] if t["scrapePool"] == "dead"][0]
        self.assertEqual(t["health"], "down")
        self.assertIn("connection refused", t["lastError"])
        self.assertTrue(t["lastError"].startswith('Get "http://127.0.0.1:'))

    def test_sample_limit(self):
        v = self.v
        up = wait_for(lambda: export(v, 'up{job="limited"}'), what="up")[0]["values"]
        self.assertTrue(all(x == 0 for x in up), up)
        self.assertEqual(export(v, '{__name__=~"m[0-9]",job="limited"}'), [])
        scraped = export(v, 'scrape_samples_scraped{job="limited"}')[0]["values"]
        self.assertEqual(scraped[-1], 3)
        t = [t for t in targets(v)["data"]["activeTargets"] if t["scrapePool"] == "limited"][0]
        self.assertEqual(t["lastError"], "sample limit exceeded")

    def test_targets_api_shape(self):
        v = self.v
        wait_for(lambda: all(t["health"] != "unknown"
                             for t in targets(v)["data"]["activeTargets"]), what="all scraped")
        doc = targets(v)
        self.assertEqual(doc["status"], "success")
        self.assertEqual(list(doc["data"].keys()), ["activeTargets", "droppedTargets"])
        t = [t for t in doc["data"]["activeTargets"] if t["scrapePool"] == "exp"][0]
        self.assertEqual(list(t.keys()),
                         ["discoveredLabels", "labels", "scrapePool", "scrapeUrl", "globalUrl",
                          "lastError", "lastScrape", "lastScrapeDuration", "health",
                          "scrapeInterval", "scrapeTimeout"])
        self.assertEqual(t["labels"], {"instance": self.exp.addr, "job": "exp", "team": "a"})
        self.assertEqual(t["discoveredLabels"],
                         {"__address__": self.exp.addr, "__metrics_path__": "/metrics",
                          "__scheme__": "http", "__scrape_interval__": "1s",
                          "__scrape_timeout__": "1s", "job": "exp", "team": "a"})
        self.assertEqual(t["scrapeUrl"], "http://%s/metrics" % self.exp.addr)
        self.assertEqual(t["health"], "up")
        self.assertRegex(t["lastScrape"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
        self.assertIsInstance(t["lastScrapeDuration"], float)
        self.assertEqual((t["scrapeInterval"], t["scrapeTimeout"]), ("1s", "1s"))
        dropped = doc["data"]["droppedTargets"]
        self.assertEqual(dropped, [{"discoveredLabels": {
            "__address__": "drop.example:1", "__metrics_path__": "/metrics",
            "__scheme__": "http", "__scrape_interval__": "1s", "__scrape_timeout__": "1s",
            "job": "exp"}}])
        self.assertEqual(targets(v, "dropped")["data"]["activeTargets"], [])
        self.assertEqual(targets(v, "active")["data"]["droppedTargets"], [])
        # Metadata of what the targets exposed.
        status, _, body = v.get("/api/v1/targets/metadata?match_target=" +
                                urllib.parse.quote('{job="exp"}'))
        self.assertEqual(status, 200, body)
        self.assertEqual(json.loads(body)["data"], [
            {"target": {"instance": self.exp.addr, "job": "exp", "team": "a"}, "metric": "a",
             "type": "gauge", "help": "An a.", "unit": ""}])

    def test_file_sd_follows_the_file(self):
        v = self.v

        def files_targets():
            return [t for t in targets(v)["data"]["activeTargets"] if t["scrapePool"] == "files"]

        t = wait_for(files_targets, what="file_sd target")[0]
        self.assertEqual(t["labels"]["env"], "one")
        self.assertEqual(t["discoveredLabels"]["__meta_filepath"],
                         os.path.join(self.sd_dir, "t.json"))
        wait_for(lambda: export(v, 'a{job="files",env="one"}'), what="scraped via file_sd")
        # A broken file keeps the last good targets.
        with open(os.path.join(self.sd_dir, "t.json"), "w") as f:
            f.write("[{not json")
        time.sleep(2.5)
        self.assertEqual(files_targets()[0]["labels"]["env"], "one")
        # The file changes: the old target ends with stale markers.
        with open(os.path.join(self.sd_dir, "t.json"), "w") as f:
            json.dump([{"targets": [self.exp.addr], "labels": {"env": "two"}}], f)
        wait_for(lambda: [t for t in files_targets() if t["labels"]["env"] == "two"],
                 what="new file_sd target")
        self.assertEqual(len(files_targets()), 1)
        wait_for(lambda: export(v, 'a{job="files",env="one"}')[0]["values"][-1] == "NaN",
                 what="stale markers for the old target")
        # A YAML file next to it adds its targets.
        with open(os.path.join(self.sd_dir, "more.yml"), "w") as f:
            f.write("- targets: ['%s']\n  labels:\n    env: three\n" % self.exp.addr)
        wait_for(lambda: len(files_targets()) == 2, what="YAML file_sd target")

    def test_http_sd(self):
        v = self.v
        t = wait_for(lambda: [t for t in targets(v)["data"]["activeTargets"]
                              if t["scrapePool"] == "http"], what="http_sd target")[0]
        self.assertEqual(t["labels"]["from"], "http")
        self.assertEqual(t["discoveredLabels"]["__meta_url"], "http://%s/sd" % self.exp.addr)
        wait_for(lambda: export(v, 'up{job="http"}'), what="scraped via http_sd")

    def test_z_reload_removes_a_job(self):
        v = self.v
        wait_for(lambda: export(v, 'up{job="exp"}'), what="up")
        v.write_config(self.config.replace("  - job_name: exp\n", "  - job_name: exp2\n"))
        status, _, body = v.post("/-/reload")
        self.assertEqual(status, 200, body)
        pools = {t["scrapePool"] for t in targets(v)["data"]["activeTargets"]}
        self.assertNotIn("exp", pools)
        self.assertIn("exp2", pools)
        self.assertEqual(export(v, 'up{job="exp"}')[0]["values"][-1], "NaN")
        self.assertEqual(export(v, 'a{job="exp"}')[0]["values"][-1], "NaN")
        # Unchanged jobs keep their targets' state across the reload.
        t = [t for t in targets(v)["data"]["activeTargets"] if t["scrapePool"] == "limited"][0]
        self.assertEqual(t["health"], "down")


class SelfScrapeTest(unittest.TestCase):
    def test_vigil_scrapes_itself(self):
        v = Vigil("scrape_configs: []\n")
        try:
            v.write_config("global: {scrape_interval: 1s}\nscrape_configs:\n"
                           "  - job_name: vigil\n    static_configs:\n"
                           "      - targets: ['localhost:%d']\n" % v.port)
            self.assertEqual(v.post("/-/reload")[0], 200)

            def up():
                _, _, body = v.get("/api/v1/series?match[]=up")
                return json.loads(body)["data"]

            series = wait_for(up, what="up of vigil")
            self.assertEqual(series, [{"__name__": "up", "instance": "localhost:%d" % v.port,
                                       "job": "vigil"}])
            wait_for(lambda: export(v, 'vigil_target_scrapes_total{job="vigil"}'),
                     what="vigil's own scrape metrics, scraped")
        finally:
            v.cleanup()


def series_set(base, job, start):
    q = urllib.parse.urlencode({"match[]": '{job="%s"}' % job, "start": "%.3f" % start})
    status, _, body = http_req("GET", base + "/api/v1/series?" + q)
    assert status == 200, body
    return {tuple(sorted(s.items())) for s in json.loads(body)["data"]}


class NodeExporterTest(unittest.TestCase):
    """vigil and Prometheus scrape the same node_exporter at the same
    interval: the same series must come out."""

    def test_same_series_as_prometheus(self):
        d = tempfile.mkdtemp(prefix="vigil-ne-")
        ne_port, prom_port = free_port(), free_port()
        ne = subprocess.Popen(["prometheus-node-exporter", "--web.listen-address=127.0.0.1:%d" % ne_port,
                               "--no-collector.systemd"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        cfg = ("global: {scrape_interval: 1s, scrape_timeout: 1s}\nscrape_configs:\n"
               "  - job_name: node\n    static_configs: [{targets: ['127.0.0.1:%d']}]\n" % ne_port)
        with open(os.path.join(d, "prometheus.yml"), "w") as f:
            f.write(cfg)
        prom = None
        v = None
        try:
            wait_http("http://127.0.0.1:%d/metrics" % ne_port, proc=ne)
            v = Vigil(cfg)
            prom = subprocess.Popen(
                ["prometheus", "--config.file=" + os.path.join(d, "prometheus.yml"),
                 "--storage.tsdb.path=" + os.path.join(d, "data"),
                 "--web.listen-address=127.0.0.1:%d" % prom_port],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            pbase = "http://127.0.0.1:%d" % prom_port
            wait_http(pbase + "/-/ready", timeout=60, proc=prom)
            # Prometheus's scrape manager picks targets up within 5 s.
            wait_for(lambda: series_set(pbase, "node", 0), timeout=30, what="Prometheus scraping")
            start = time.time() + 0.5
            time.sleep(4)
            # Series present in the last few seconds in both stores.
            ours = series_set(v.url, "node", start)
            theirs = series_set(pbase, "node", start)
            self.assertGreater(len(theirs), 200)
            # Series whose labels carry values that change between scrapes
            # (none expected) would show up in both differences.
            missing = sorted(theirs - ours)[:10]
            extra = sorted(ours - theirs)[:10]
            self.assertEqual((missing, extra), ([], []),
                             "%d series only in Prometheus, %d only in vigil" %
                             (len(theirs - ours), len(ours - theirs)))
            # The targets APIs agree on the target's labels.
            pt = json.loads(http_req("GET", pbase + "/api/v1/targets")[2])["data"]["activeTargets"][0]
            vt = targets(v)["data"]["activeTargets"][0]
            self.assertEqual(vt["labels"], pt["labels"])
            self.assertEqual(vt["discoveredLabels"], pt["discoveredLabels"])
            self.assertEqual(vt["scrapeUrl"], pt["scrapeUrl"])
        finally:
            if v:
                v.cleanup()
            for p in (prom, ne):
                if p:
                    p.terminate()
                    p.wait(30)
            shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
