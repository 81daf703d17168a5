"""remote_write into vigil: from a real Prometheus (series and values must
agree with what that Prometheus stored itself), and from a hand-made
client for every answer a sender relies on."""

import json
import os
import time
import unittest
import urllib.parse

import rwclient
from harness import Prometheus, Vigil, http


def now_ms():
    return int(time.time() * 1000)


def export(v, match, start=None, end=None):
    q = {"match[]": match}
    if start is not None:
        q["start"] = "%.3f" % (start / 1000)
        q["end"] = "%.3f" % (end / 1000)
    status, _, body = v.get("/api/v1/export?" + urllib.parse.urlencode(q))
    assert status == 200, body
    return [json.loads(l) for l in body.decode().splitlines() if l]


class RemoteWriteProtocolTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.v = Vigil()
        cls.url = cls.v.url + "/api/v1/write"

    @classmethod
    def tearDownClass(cls):
        cls.v.cleanup()

    def test_write_and_read_back_exactly(self):
        t = now_ms() - 60000
        values = [0.0, -0.0, 1.5, 1e300, -2.5e-300, float("inf"), float("-inf"), 123456789.125]
        series = [({"__name__": "rw_exact", "k": "v"}, [(t + i, x) for i, x in enumerate(values)])]
        status, body = rwclient.send(self.url, series)
        self.assertEqual(status, 204, body)
        got = export(self.v, 'rw_exact{k="v"}')
        self.assertEqual(len(got), 1)
        self.assertEqual(got[0]["metric"], {"__name__": "rw_exact", "k": "v"})
        self.assertEqual(got[0]["timestamps"], [t + i for i in range(len(values))])
        want = [x if x not in (float("inf"), float("-inf")) else ("+Inf" if x > 0 else "-Inf")
                for x in values]
        self.assertEqual(got[0]["values"], want)

    def test_retries_never_store_twice(self):
        t = now_ms() - 50000
        # A repeat of a series' newest sample is accepted, as Prometheus does.
        series = [({"__name__": "rw_retry", "n": str(i)}, [(t, i)]) for i in range(3)]
        self.assertEqual(rwclient.send(self.url, series)[0], 204)
        self.assertEqual(rwclient.send(self.url, series)[0], 204)
        # Older samples of a retried batch are out of order there too: 400,
        # which tells the sender not to retry again; nothing is doubled.
        series = [({"__name__": "rw_retry2"}, [(t, 1), (t + 1000, 2)])]
        self.assertEqual(rwclient.send(self.url, series)[0], 204)
        self.assertEqual(rwclient.send(self.url, series)[0], 400)
        self.assertEqual([r["values"] for r in export(self.v, "rw_retry")], [[0], [1], [2]])
        self.assertEqual(export(self.v, "rw_retry2")[0]["values"], [1, 2])

    def test_out_of_order_refuses_the_whole_request(self):
        t = now_ms() - 40000
        self.assertEqual(rwclient.send(self.url, [({"__name__": "rw_ooo"}, [(t, 1)])])[0], 204)
        status, body = rwclient.send(self.url, [({"__name__": "rw_ooo_other"}, [(t, 5)]),
                                                ({"__name__": "rw_ooo"}, [(t - 1000, 2)])])
        self.assertEqual(status, 400)
        self.assertIn(b"out of order sample", body)
        self.assertEqual(export(self.v, "rw_ooo_other"), [])  # nothing of it was stored
        status, body = rwclient.send(self.url, [({"__name__": "rw_ooo"}, [(t, 3)])])
        self.assertEqual(status, 400)
        self.assertIn(b"duplicate sample for timestamp", body)

    def test_far_future_is_out_of_bounds(self):
        status, body = rwclient.send(self.url, [({"__name__": "rw_future"},
                                                 [(now_ms() + 3600000, 1)])])
        self.assertEqual(status, 400)
        self.assertIn(b"out of bounds", body)

    def test_invalid_labels_are_dropped_not_refused(self):
        t = now_ms() - 30000
        status, _ = rwclient.send(self.url, [({"job": "no_name"}, [(t, 1)]),
                                             ({"__name__": "rw_valid"}, [(t, 1)])])
        self.assertEqual(status, 204)
        self.assertEqual(len(export(self.v, "rw_valid")), 1)
        self.assertEqual(export(self.v, '{job="no_name"}'), [])

    def test_malformed_bodies(self):
        status, body = rwclient.send(self.url, None, raw=b"\xff\xff\xff\xff\xff\x01garbage")
        self.assertEqual(status, 400)
        status, body = rwclient.send(self.url, None,
                                     raw=rwclient.snappy_literal(b"\x0a\x05\x0a\x03"))
        self.assertEqual(status, 400)
        self.assertIn(b"proto", body)
        status, body = rwclient.send(self.url, [], headers={"Content-Encoding": "gzip"})
        self.assertEqual(status, 415)
        status, body = rwclient.send(self.url, [], headers={"Content-Type": "text/plain"})
        self.assertEqual(status, 415)
        self.assertEqual(self.v.get("/-/healthy")[0], 200)

    def test_series_labels_values_and_status(self):
        t = now_ms() - 20000
        rwclient.send(self.url, [({"__name__": "rw_api", "job": "a", "i": str(i)}, [(t, i)])
                                 for i in range(3)])
        status, _, body = self.v.get("/api/v1/series?" + urllib.parse.urlencode(
            {"match[]": 'rw_api{i=~"1|2"}'}))
        self.assertEqual(status, 200)
        self.assertEqual(json.loads(body), {"status": "success", "data": [
            {"__name__": "rw_api", "i": "1", "job": "a"},
            {"__name__": "rw_api", "i": "2", "job": "a"}]})
        body = json.loads(self.v.get("/api/v1/label/i/values?match[]=rw_api")[2])
        self.assertEqual(body["data"], ["0", "1", "2"])
        body = json.loads(self.v.get("/api/v1/labels?match[]=rw_api")[2])
        self.assertEqual(body["data"], ["__name__", "i", "job"])
        status, _, body = self.v.get("/api/v1/series")
        self.assertEqual(status, 400)
        self.assertEqual(json.loads(body)["error"], "no match[] parameter provided")
        status, _, body = self.v.get("/api/v1/series?match[]=" + urllib.parse.quote("up{"))
        self.assertEqual(status, 400)
        self.assertEqual(json.loads(body)["errorType"], "bad_data")
        body = json.loads(self.v.get("/api/v1/status/tsdb")[2])
        self.assertGreaterEqual(body["data"]["headStats"]["numSeries"], 3)
        names = [r["name"] for r in body["data"]["seriesCountByMetricName"]]
        self.assertIn("rw_api", names)
        # POST form bodies work as in Prometheus
        status, _, body = http("POST", self.v.url + "/api/v1/series",
                               body=b"match%5B%5D=rw_api&start=0",
                               headers={"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(len(json.loads(body)["data"]), 3)


class FullDiskTest(unittest.TestCase):
    """A WAL write that fails (ENOSPC, injected through VIGIL_FAULT) gives
    the sender a 500 so it retries; nothing of that request is kept, and
    ingest resumes by itself."""

    def test_enospc_is_a_500_and_ingest_resumes(self):
        os.environ["VIGIL_FAULT"] = "write:12:28"
        try:
            v = Vigil()
        finally:
            del os.environ["VIGIL_FAULT"]
        try:
            url = v.url + "/api/v1/write"
            t = now_ms() - 60000
            statuses = []
            acked = []
            for i in range(30):
                series = [({"__name__": "disk_full", "n": str(i)}, [(t + i, i)])]
                status, body = rwclient.send(url, series)
                statuses.append(status)
                if status == 204:
                    acked.append(i)
                else:
                    self.assertEqual(status, 500, body)
                    self.assertIn(b"No space left on device", body)
            self.assertIn(500, statuses)
            self.assertEqual(statuses[-1], 204)
            got = sorted(int(r["metric"]["n"]) for r in export(v, "disk_full"))
            self.assertEqual(got, acked)
        finally:
            v.cleanup()


class PrometheusRemoteWritesToVigilTest(unittest.TestCase):
    """A real Prometheus scrapes vigil's /metrics and remote-writes what it
    scraped to vigil; the series and samples in both stores agree."""

    def test_same_series_and_samples(self):
        v = Vigil()
        prom = Prometheus("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
                          "scrape_configs:\n  - job_name: vigil\n    static_configs:\n"
                          "      - targets: ['127.0.0.1:%d']\n"
                          "remote_write:\n  - url: %s/api/v1/write\n"
                          "    queue_config:\n      batch_send_deadline: 500ms\n" % (v.port, v.url))
        try:
            prom.wait_for_scrapes()
            time.sleep(8)
            end = now_ms() - 3000
            start = end - 4000
            time.sleep(4)  # let remote write deliver the window
            prom_series = {}
            for r in prom.query('{job="vigil"}[4s]', at=end / 1000):
                key = tuple(sorted(r["metric"].items()))
                prom_series[key] = [(int(round(float(t) * 1000)), val) for t, val in r["values"]]
            ours = {}
            # Prometheus's range is left-open (start, end]; export's is closed.
            for r in export(v, '{job="vigil"}', start + 1, end):
                key = tuple(sorted(r["metric"].items()))
                vals = [x if isinstance(x, str) else repr(float(x)) for x in r["values"]]
                ours[key] = list(zip(r["timestamps"], vals))
            self.assertGreater(len(prom_series), 100)
            self.assertEqual(set(prom_series), set(ours))
            differ = 0
            for key, samples in prom_series.items():
                want = [(t, val if val in ("NaN", "+Inf", "-Inf") else repr(float(val)))
                        for t, val in samples]
                if want != ours[key]:
                    differ += 1
            self.assertEqual(differ, 0, "series whose samples differ")
            print("\nremote write from Prometheus: %d series, %d samples agree" % (
                len(prom_series), sum(len(s) for s in prom_series.values())))
        finally:
            prom.cleanup()
            v.cleanup()


if __name__ == "__main__":
    unittest.main()
