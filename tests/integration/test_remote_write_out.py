"""remote_write OUT: vigil sending what it stores to other stores.

- A real Prometheus (--web.enable-remote-write-receiver) receives what
  vigil ingests; it is stopped for a minute while data keeps flowing into
  vigil (and vigil itself restarts in the middle of that), then started
  again with the same data directory: in the end it holds every sample
  vigil got, with the external labels added.
- A scripted receiver answers 400 (the batch is dropped and counted), 500
  and 429 (retried with back-off until it is accepted), and shows the
  headers and the protobuf vigil sends.

VIGIL_RW_OUTAGE_S shortens the Prometheus outage for quick runs (default 60).
"""

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

import rwclient
from harness import Vigil, free_port, http as http_call, wait_http

OUTAGE_S = float(os.environ.get("VIGIL_RW_OUTAGE_S", "60"))


def now_ms():
    return int(time.time() * 1000)


# ------------------------------------------------------------ wire format

def snappy_decompress(b):
    n, shift, i = 0, 0, 0
    while True:
        c = b[i]
        i += 1
        n |= (c & 0x7F) << shift
        shift += 7
        if c < 0x80:
            break
    out = bytearray()
    while i < len(b):
        tag = b[i]
        i += 1
        kind = tag & 3
        if kind == 0:
            ln = tag >> 2
            if ln < 60:
                ln += 1
            else:
                nb = ln - 59
                ln = int.from_bytes(b[i:i + nb], "little") + 1
                i += nb
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
    assert len(out) == n, "snappy length mismatch"
    return bytes(out)


def _fields(b):
    """Yields (field number, wire type, value) of one protobuf message."""
    i = 0
    while i < len(b):
        key, i = _varint(b, i)
        num, wt = key >> 3, key & 7
        if wt == 0:
            v, i = _varint(b, i)
        elif wt == 1:
            v, i = b[i:i + 8], i + 8
        elif wt == 2:
            ln, i = _varint(b, i)
            v, i = b[i:i + ln], i + ln
        elif wt == 5:
            v, i = b[i:i + 4], i + 4
        else:
            raise ValueError("wire type %d" % wt)
        yield num, wt, v


def _varint(b, i):
    v, shift = 0, 0
    while True:
        c = b[i]
        i += 1
        v |= (c & 0x7F) << shift
        shift += 7
        if c < 0x80:
            return v, i


def decode_write_request(body):
    """[(labels dict, [(t, v), ...]), ...] of a snappy WriteRequest."""
    import struct
    out = []
    for num, _, ts in _fields(snappy_decompress(body)):
        if num != 1:
            continue
        labels, samples = {}, []
        for f, _, v in _fields(ts):
            if f == 1:
                kv = {n: x.decode() for n, _, x in _fields(v)}
                labels[kv.get(1, "")] = kv.get(2, "")
            elif f == 2:
                val, t = 0.0, 0
                for n, _, x in _fields(v):
                    if n == 1:
                        val = struct.unpack("<d", x)[0]
                    elif n == 2:
                        t = x - (1 << 64) if x >= 1 << 63 else x
                samples.append((t, val))
        out.append((labels, samples))
    return out


# ----------------------------------------------------------------- helpers

def metric_values(v, name):
    """{labels text: value} of one family on vigil's /metrics."""
    text = v.get("/metrics")[2].decode()
    out = {}
    for line in text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            key, _, val = line.rpartition(" ")
            out[key[len(name):]] = float(val)
    return out


def metric_sum(v, name):
    return sum(metric_values(v, name).values())


def export(v, match):
    q = urllib.parse.urlencode({"match[]": match})
    status, _, body = v.get("/api/v1/export?" + q)
    assert status == 200, body
    return [json.loads(l) for l in body.decode().splitlines() if l]


class Pusher(threading.Thread):
    """Sends one sample per series every `every` seconds to whichever vigil
    `target` names, remembering each sample that got a 204."""

    def __init__(self, n_series=4, every=0.25):
        super().__init__(daemon=True)
        self.target = None
        self.n_series = n_series
        self.every = every
        self.stop = threading.Event()
        self.sent = set()  # (series index, t, v)
        self.lock = threading.Lock()
        self.i = 0

    def run(self):
        while not self.stop.is_set():
            url = self.target
            if url:
                t = now_ms()
                self.i += 1
                series = [({"__name__": "rwout_test", "series": str(k)}, [(t, float(self.i * 10 + k))])
                          for k in range(self.n_series)]
                try:
                    status, _ = rwclient.send(url + "/api/v1/write", series, timeout=5)
                except OSError:
                    status = 0
                if status == 204:
                    with self.lock:
                        for k in range(self.n_series):
                            self.sent.add((str(k), t, float(self.i * 10 + k)))
            self.stop.wait(self.every)


class Prometheus:
    def __init__(self, d, port):
        self.d, self.port = d, port
        self.url = "http://127.0.0.1:%d" % port
        with open(os.path.join(d, "prometheus.yml"), "w") as f:
            f.write("global:\n  scrape_interval: 1m\n")
        self.proc = None

    def start(self):
        log = open(os.path.join(self.d, "prometheus.log"), "ab")
        self.proc = subprocess.Popen(
            ["prometheus", "--config.file=" + os.path.join(self.d, "prometheus.yml"),
             "--storage.tsdb.path=" + os.path.join(self.d, "data"),
             "--web.listen-address=127.0.0.1:%d" % self.port,
             "--web.enable-remote-write-receiver"], stdout=log, stderr=subprocess.STDOUT)
        log.close()
        wait_http(self.url + "/-/ready", timeout=60, proc=self.proc)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(60)

    def samples(self, match, window="15m"):
        q = urllib.parse.urlencode({"query": "%s[%s]" % (match, window), "time": "%.3f" % time.time()})
        status, _, body = http_call("GET", self.url + "/api/v1/query?" + q)
        assert status == 200, body
        out = set()
        for r in json.loads(body)["data"]["result"]:
            m = r["metric"]
            for t, val in r["values"]:
                out.add((m.get("series"), int(round(float(t) * 1000)), float(val), m.get("source"),
                         m.get("__name__")))
        return out


class ReceiverDownTest(unittest.TestCase):
    def test_prometheus_gets_every_sample_after_an_outage(self):
        d = tempfile.mkdtemp(prefix="vigil-rwout-")
        prom = Prometheus(d, free_port())
        vigil_dir = os.path.join(d, "vigil-data")
        config = ("global:\n  external_labels:\n    source: vigil\n"
                  "remote_write:\n  - url: %s/api/v1/write\n    name: prom\n"
                  "    queue_config:\n      batch_send_deadline: 500ms\n"
                  "      min_backoff: 50ms\n      max_backoff: 1s\n" % prom.url)
        pusher = Pusher()
        v = None
        try:
            prom.start()
            v = Vigil(config, args=["--storage.path=" + vigil_dir])
            pusher.target = v.url
            pusher.start()
            time.sleep(6)
            got = prom.samples('rwout_test')
            self.assertGreater(len(got), 0, "nothing reached Prometheus while it was up")
            self.assertEqual({s[3] for s in got}, {"vigil"})  # the external label

            prom.stop()
            outage_start = time.time()
            time.sleep(OUTAGE_S / 3)
            retried = metric_sum(v, "prometheus_remote_storage_samples_retried_total")
            self.assertGreater(retried, 0, "no retries while the receiver was down")
            # vigil restarts in the middle of the outage: it resumes from
            # what the receiver acknowledged, not from its new WAL end.
            pusher.target = None
            self.assertEqual(v.stop(), 0)
            v.cleanup()
            v = Vigil(config, args=["--storage.path=" + vigil_dir])
            pusher.target = v.url
            time.sleep(max(0, OUTAGE_S - (time.time() - outage_start)))
            prom.start()
            time.sleep(5)
            pusher.stop.set()
            pusher.join()
            with pusher.lock:
                sent = set(pusher.sent)
            want = {(s, t, val, "vigil", "rwout_test") for s, t, val in sent}
            deadline = time.time() + 60
            got = set()
            while time.time() < deadline:
                got = prom.samples('rwout_test')
                if want <= got:
                    break
                time.sleep(1)
            missing = sorted(want - got)
            self.assertEqual(missing[:10], [], "%d of %d samples missing in Prometheus" % (
                len(missing), len(want)))
            # vigil's own store holds the same samples (its export agrees)
            ours = set()
            for r in export(v, "rwout_test"):
                for t, val in zip(r["timestamps"], r["values"]):
                    ours.add((r["metric"]["series"], t, float(val), "vigil", "rwout_test"))
            self.assertEqual(ours, {g for g in got if g[4] == "rwout_test"})
            self.assertEqual(metric_sum(v, "prometheus_remote_storage_samples_failed_total"), 0)
            self.assertEqual(metric_sum(v, "prometheus_remote_storage_samples_dropped_total"), 0)
            self.assertIn('remote_name="prom"', "".join(
                metric_values(v, "prometheus_remote_storage_samples_total")))
            print("\nremote write out: %d samples pushed over %.0f s with a %.0f s outage and a "
                  "vigil restart; all in Prometheus" % (len(want), pusher.i * pusher.every,
                                                        OUTAGE_S))
        finally:
            pusher.stop.set()
            prom.stop()
            if v:
                v.cleanup()
            shutil.rmtree(d, ignore_errors=True)


class ScriptedReceiver:
    """An HTTP receiver whose answers a test scripts: answer(n) gives the
    status (and headers) of the n-th request (from 0)."""

    def __init__(self, answer):
        self.answer = answer
        self.requests = []  # (headers, series, status), in the order answered
        self.n_seen = 0
        self.lock = threading.Lock()
        recv = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with recv.lock:
                    n = recv.n_seen
                    recv.n_seen += 1
                status, extra = recv.answer(n)  # may take its time, unlocked
                with recv.lock:
                    recv.requests.append((dict(self.headers), decode_write_request(body), status))
                self.send_response(status)
                for k, val in extra.items():
                    self.send_header(k, val)
                msg = b"" if status < 300 else b"scripted failure\n"
                self.send_header("Content-Length", str(len(msg)))
                self.end_headers()
                self.wfile.write(msg)

            def log_message(self, *a):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d/receive" % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def accepted(self):
        """Samples of requests answered 2xx, as (series, t, v)."""
        out = []
        with self.lock:
            for _, series, status in self.requests:
                if status // 100 == 2:
                    for labels, samples in series:
                        out += [(labels.get("series"), t, val) for t, val in samples]
        return out

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def config_for(url, extra=""):
    return ("remote_write:\n  - url: %s\n    name: scripted\n    headers:\n      X-Scope-OrgID: team-a\n"
            "    basic_auth:\n      username: u\n      password: p\n"
            "    queue_config:\n      batch_send_deadline: 200ms\n      min_backoff: 50ms\n"
            "      max_backoff: 400ms\n%s" % (url, extra))


def push(v, n, base=None):
    """n samples of two series; returns them as (series, t, v)."""
    t0 = base or now_ms()
    sent = []
    for i in range(n):
        series = [({"__name__": "rwout_script", "series": str(k)}, [(t0 + i, float(i + k))])
                  for k in range(2)]
        status, body = rwclient.send(v.url + "/api/v1/write", series)
        assert status == 204, body
        sent += [(str(k), t0 + i, float(i + k)) for k in range(2)]
    return sent


def wait_for(cond, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if cond():
            return True
        time.sleep(0.1)
    return False


class ReceiverAnswersTest(unittest.TestCase):
    def run_with(self, answer, extra=""):
        recv = ScriptedReceiver(answer)
        v = Vigil(config_for(recv.url, extra))
        return recv, v

    def test_500_is_retried_until_accepted_in_order(self):
        recv, v = self.run_with(lambda n: (500, {}) if n < 3 else (204, {}))
        try:
            sent = push(v, 20)
            self.assertTrue(wait_for(lambda: sorted(recv.accepted()) == sorted(sent)),
                            "accepted %d of %d" % (len(recv.accepted()), len(sent)))
            # each series arrives in time order
            for k in ("0", "1"):
                ts = [t for s, t, _ in recv.accepted() if s == k]
                self.assertEqual(ts, sorted(ts))
            self.assertGreater(metric_sum(v, "prometheus_remote_storage_samples_retried_total"), 0)
            self.assertEqual(metric_sum(v, "prometheus_remote_storage_samples_failed_total"), 0)
            self.assertTrue(wait_for(lambda: metric_sum(
                v, "prometheus_remote_storage_samples_pending") == 0))
            self.assertGreater(metric_sum(v, "prometheus_remote_storage_bytes_total"), 0)
            durations = metric_values(v, "prometheus_remote_storage_sent_batch_duration_seconds_count")
            self.assertGreaterEqual(sum(durations.values()), 4)
            headers, _, _ = recv.requests[0]
            h = {k.lower(): val for k, val in headers.items()}
            self.assertEqual(h["content-encoding"], "snappy")
            self.assertEqual(h["content-type"], "application/x-protobuf")
            self.assertEqual(h["x-prometheus-remote-write-version"], "0.1.0")
            self.assertTrue(h["user-agent"].startswith("vigil/"))
            self.assertEqual(h["x-scope-orgid"], "team-a")
            self.assertEqual(h["authorization"], "Basic dTpw")
            self.assertEqual({k.lower() for k in recv.requests[1][0]} & {"retry-attempt"},
                             {"retry-attempt"})
        finally:
            v.cleanup()
            recv.close()

    def test_400_drops_the_batch_and_counts_it(self):
        recv, v = self.run_with(lambda n: (400, {}))
        try:
            sent = push(v, 10)
            self.assertTrue(wait_for(lambda: metric_sum(
                v, "prometheus_remote_storage_samples_failed_total") == len(sent)))
            time.sleep(1)
            self.assertEqual(metric_sum(v, "prometheus_remote_storage_samples_retried_total"), 0)
            # each sample was offered exactly once
            offered = sum(len(s) for _, series, _ in recv.requests for _, s in series)
            self.assertEqual(offered, len(sent))
            self.assertIn("non-recoverable error", v.logs())
            self.assertIn("400 Bad Request", v.logs())
        finally:
            v.cleanup()
            recv.close()

    def test_429_is_retried_only_with_retry_on_http_429(self):
        recv, v = self.run_with(lambda n: (429, {"Retry-After": "1"}) if n < 2 else (204, {}),
                                "      retry_on_http_429: true\n")
        try:
            sent = push(v, 5)
            t0 = time.time()
            self.assertTrue(wait_for(lambda: sorted(recv.accepted()) == sorted(sent)))
            self.assertGreaterEqual(time.time() - t0, 1.5)  # Retry-After: 1 was honoured twice
            self.assertEqual(metric_sum(v, "prometheus_remote_storage_samples_failed_total"), 0)
        finally:
            v.cleanup()
            recv.close()
        # Prometheus's default: a 429 is like any other 4xx, dropped
        recv, v = self.run_with(lambda n: (429, {}))
        try:
            sent = push(v, 5)
            self.assertTrue(wait_for(lambda: metric_sum(
                v, "prometheus_remote_storage_samples_failed_total") == len(sent)))
        finally:
            v.cleanup()
            recv.close()

    def test_shards_follow_the_backlog_and_keep_order(self):
        """A receiver that takes 100 ms per request and small batches: one
        shard cannot keep up with ~1500 samples/s, so the queue reshards
        (after its 10 s measurement), and every series still arrives in
        order across the resharding."""
        def slow(n):
            time.sleep(0.1)
            return 204, {}
        recv = ScriptedReceiver(slow)
        v = Vigil(config_for(recv.url).replace(
            "      batch_send_deadline: 200ms\n",
            "      batch_send_deadline: 100ms\n      max_samples_per_send: 50\n"
            "      capacity: 500\n      max_shards: 8\n"))
        try:
            sent = []
            max_shards = 1
            t_end = time.time() + 25
            t = now_ms()
            while time.time() < t_end:
                series = [({"__name__": "rwout_shards", "series": str(k)}, [(t, float(t))])
                          for k in range(30)]
                status, body = rwclient.send(v.url + "/api/v1/write", series)
                self.assertEqual(status, 204, body)
                sent += [(str(k), t, float(t)) for k in range(30)]
                time.sleep(0.02)
                t = max(t + 1, now_ms())  # real time: the backlog is measured in seconds
                if len(sent) % 1500 == 0:
                    max_shards = max(max_shards, metric_sum(v, "prometheus_remote_storage_shards"))
            self.assertTrue(wait_for(lambda: len(recv.accepted()) >= len(sent), timeout=120),
                            "accepted %d of %d" % (len(recv.accepted()), len(sent)))
            got = recv.accepted()
            self.assertEqual(sorted(got), sorted(sent))
            for k in range(30):
                ts = [t for s, t, _ in got if s == str(k)]
                self.assertEqual(ts, sorted(ts), "series %d out of order" % k)
            self.assertGreater(max_shards, 1, "never resharded")
            desired = metric_sum(v, "prometheus_remote_storage_shards_desired")
            print("\nresharding: %d samples, up to %d shards (desired now %.2f)" % (
                len(sent), max_shards, desired))
        finally:
            v.cleanup()
            recv.close()

    def test_reload_restarts_a_changed_queue_and_forgets_a_removed_one(self):
        recv = ScriptedReceiver(lambda n: (204, {}))
        v = Vigil(config_for(recv.url))
        try:
            sent = push(v, 5)
            self.assertTrue(wait_for(lambda: sorted(recv.accepted()) == sorted(sent)))
            pos_dir = os.path.join(v.dir, "data", "remote")
            self.assertTrue(wait_for(lambda: len(os.listdir(pos_dir)) == 1))
            # a changed header: the queue restarts from where it was acknowledged
            v.write_config(config_for(recv.url).replace("team-a", "team-b"))
            self.assertEqual(v.post("/-/reload")[0], 200)
            sent += push(v, 5, base=now_ms() + 1000)
            self.assertTrue(wait_for(lambda: set(recv.accepted()) == set(sent)))
            h = {k.lower(): val for k, val in recv.requests[-1][0].items()}
            self.assertEqual(h["x-scope-orgid"], "team-b")
            # an unchanged reload keeps the queue running as it is
            n_logs = v.logs().count("Remote write queue follows the WAL")
            self.assertEqual(v.post("/-/reload")[0], 200)
            self.assertEqual(v.logs().count("Remote write queue follows the WAL"), n_logs)
            # removed: its position goes
            v.write_config("global:\n  scrape_interval: 1m\n")
            self.assertEqual(v.post("/-/reload")[0], 200)
            self.assertTrue(wait_for(lambda: os.listdir(pos_dir) == []))
        finally:
            v.cleanup()
            recv.close()

    def test_write_relabel_and_dropped_count(self):
        extra = ("    write_relabel_configs:\n      - source_labels: [series]\n"
                 "        regex: '1'\n        action: drop\n")
        recv = ScriptedReceiver(lambda n: (204, {}))
        v = Vigil(config_for(recv.url).replace("    queue_config:", extra + "    queue_config:"))
        try:
            sent = push(v, 6)
            kept = [s for s in sent if s[0] == "0"]
            self.assertTrue(wait_for(lambda: sorted(recv.accepted()) == sorted(kept)))
            self.assertTrue(wait_for(lambda: metric_sum(
                v, "prometheus_remote_storage_samples_dropped_total") == 6))
            self.assertIn('reason="dropped_series"',
                          "".join(metric_values(v, "prometheus_remote_storage_samples_dropped_total")))
        finally:
            v.cleanup()
            recv.close()


if __name__ == "__main__":
    unittest.main()
