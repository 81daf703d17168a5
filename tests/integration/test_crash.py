"""Crash safety: a sender remote-writes batches while vigil is killed with
SIGKILL at random moments, 20 times; after every restart each sample whose
request got a 2xx must be there, bit for bit, and vigil must start every
time. Some restarts are clean (SIGTERM) to mix checkpoints in."""

import json
import random
import signal
import subprocess
import threading
import time
import unittest
import urllib.parse

import rwclient
from harness import SANITIZED, Vigil, wait_http

KILLS = 20
SERIES = 10


class CrashTest(unittest.TestCase):
    def test_nothing_acknowledged_is_lost(self):
        rng = random.Random(20261122)
        v = Vigil()
        url = v.url + "/api/v1/write"
        acked = {}  # series index -> {t: value}
        lock = threading.Lock()
        t_next = [int(time.time() * 1000) - 3600 * 1000]
        stop = threading.Event()

        def sender():
            while not stop.is_set():
                t0 = t_next[0]
                t_next[0] += 10
                batch = []
                for s in range(SERIES):
                    samples = [(t0 + k, rng.uniform(-1e6, 1e6)) for k in range(3)]
                    batch.append(({"__name__": "crash_test", "s": str(s)}, samples))
                try:
                    status, _ = rwclient.send(url, batch, timeout=5)
                except OSError:
                    time.sleep(0.01)
                    continue
                if status == 204:
                    with lock:
                        for (labels, samples) in batch:
                            d = acked.setdefault(int(labels["s"]), {})
                            for t, x in samples:
                                d[t] = x
                time.sleep(0.002)  # a steady stream, not a flood

        try:
            for round_ in range(KILLS):
                stop.clear()
                th = threading.Thread(target=sender)
                th.start()
                time.sleep(rng.uniform(0.1, 0.8))
                clean = round_ % 5 == 4
                v.proc.send_signal(signal.SIGTERM if clean else signal.SIGKILL)
                v.proc.wait(30)
                stop.set()
                th.join()
                if clean:
                    self.assertEqual(v.proc.returncode, 0)
                # restart on the same port and directory
                v.proc = subprocess.Popen(v.proc.args, stdout=v.log, stderr=subprocess.STDOUT)
                wait_http(v.url + "/-/ready", timeout=60, proc=v.proc)
                self.check(v, acked)
            total = sum(len(d) for d in acked.values())
            self.assertGreater(total, 1000)
            print("\ncrash test: %d kills, %d acknowledged samples, none lost" % (KILLS, total))
        finally:
            stop.set()
            v.cleanup()

    def check(self, v, acked):
        q = urllib.parse.urlencode({"match[]": "crash_test"})
        status, _, body = v.get("/api/v1/export?" + q, timeout=60)
        self.assertEqual(status, 200)
        stored = {}
        for line in body.decode().splitlines():
            r = json.loads(line)
            stored[int(r["metric"]["s"])] = dict(zip(r["timestamps"], r["values"]))
        for s, samples in acked.items():
            have = stored.get(s, {})
            missing = [t for t in samples if t not in have]
            self.assertEqual(missing[:5], [], "series %d lost acknowledged samples" % s)
            wrong = [t for t, x in samples.items() if float(have[t]) != x]
            self.assertEqual(wrong[:5], [], "series %d has other values" % s)


if __name__ == "__main__":
    unittest.main()
