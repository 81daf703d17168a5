"""vigil's /metrics judged by the real tools: `promtool check metrics` finds
nothing beyond the naming advice it also gives node_exporter, and a real
Prometheus scraping vigil sees it up."""

import json
import subprocess
import time
import unittest

from harness import Prometheus, Vigil


def promtool_check_metrics(text):
    p = subprocess.run(["promtool", "check", "metrics"], input=text.encode(),
                       capture_output=True, timeout=60)
    lines = (p.stdout + p.stderr).decode().splitlines()
    return p.returncode, [l for l in lines if l.strip()]


class PromtoolCheckMetricsTest(unittest.TestCase):
    def test_only_the_advice_node_exporter_also_gets(self):
        v = Vigil()
        try:
            v.get("/-/healthy")
            text = v.get("/metrics")[2].decode()
        finally:
            v.cleanup()
        status, problems = promtool_check_metrics(text)
        # promtool exits 1 on a parse error and 3 on lint findings only.
        self.assertIn(status, (0, 3), problems)
        # node_exporter keeps camelCase names such as node_memory_MemAvailable_bytes
        # for compatibility; promtool advises against them on its output too.
        rest = [l for l in problems if "camelCase" not in l]
        self.assertEqual(rest, [], "promtool check metrics complains: %s" % rest)


class PrometheusScrapesVigilTest(unittest.TestCase):
    def test_up_is_1(self):
        v = Vigil()
        prom = Prometheus("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
                          "scrape_configs:\n  - job_name: vigil\n    static_configs:\n"
                          "      - targets: ['127.0.0.1:%d']\n" % v.port)
        try:
            deadline = time.time() + 60
            result = []
            while time.time() < deadline:
                result = prom.query('up{job="vigil"}')
                if result and result[0]["value"][1] == "1":
                    break
                time.sleep(0.5)
            self.assertTrue(result, "Prometheus has no up series for vigil")
            self.assertEqual(result[0]["value"][1], "1")
            # The scrape stored samples, not only the synthetic series.
            samples = float(prom.query('scrape_samples_scraped{job="vigil"}')[0]["value"][1])
            self.assertGreater(samples, 100)
            # and Prometheus found nothing to complain about in the exposition.
            targets = json.loads(prom.get("/api/v1/targets")[2])
            active = targets["data"]["activeTargets"][0]
            self.assertEqual(active["health"], "up", active.get("lastError"))
        finally:
            prom.cleanup()
            v.cleanup()


if __name__ == "__main__":
    unittest.main()
