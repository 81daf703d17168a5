"""The server core driven over HTTP: health, lifecycle, limits, bad input,
flags, logs and shutdown."""

import json
import os
import signal
import socket
import time
import unittest

from harness import Vigil, run_vigil, http


class ServerTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.v = Vigil(args=["--web.max-request-body-size=1KiB"])

    @classmethod
    def tearDownClass(cls):
        status = cls.v.stop()
        cls.v.cleanup()
        assert status == 0, "vigil exited with %s after SIGTERM" % status

    def test_health_endpoints_of_both_peers(self):
        for path, body in [("/-/healthy", b"Healthy"), ("/-/ready", b"Ready")]:
            status, _, got = self.v.get(path)
            self.assertEqual(status, 200, path)
            self.assertIn(body, got)
        for path in ["/health", "/health/live", "/health/ready"]:
            status, headers, got = self.v.get(path)
            self.assertEqual(status, 200, path)
            self.assertEqual(headers["Content-Type"], "application/json")
            self.assertEqual(json.loads(got)["service"], "vigil")

    def test_head_is_served_where_get_is(self):
        status, _, body = http("HEAD", self.v.url + "/-/healthy")
        self.assertEqual(status, 200)
        self.assertEqual(body, b"")

    def test_unknown_path_is_404_like_prometheus(self):
        status, _, body = self.v.get("/no/such/path")
        self.assertEqual(status, 404)
        self.assertEqual(body, b"404 page not found\n")

    def test_wrong_method_is_405(self):
        status, _, body = self.v.get("/-/reload")
        self.assertEqual(status, 405)
        self.assertEqual(body, b"Only POST or PUT requests allowed")
        status, _, _ = self.v.post("/metrics", b"x")
        self.assertEqual(status, 405)

    def test_oversized_body_is_413_before_reading_it(self):
        status, _, body = self.v.post("/-/reload", b"x" * 4096)
        self.assertEqual(status, 413)
        self.assertIn(b"limit of 1024 bytes", body)
        # Without Content-Length (chunked), the limit holds while reading.
        s = socket.create_connection(("127.0.0.1", self.v.port))
        s.sendall(b"POST /-/reload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
        for _ in range(4):
            s.sendall(b"400\r\n" + b"y" * 0x400 + b"\r\n")
        s.sendall(b"0\r\n\r\n")
        reply = s.recv(4096)
        s.close()
        self.assertTrue(reply.startswith(b"HTTP/1.1 413"), reply[:80])

    def test_malformed_request_gets_400_and_server_lives_on(self):
        for garbage in [b"\x00\x01\x02 nonsense\r\n\r\n", b"GET\r\n\r\n",
                        b"GET / HTTP/1.1\r\nBad Header Line\r\n\r\n"]:
            s = socket.create_connection(("127.0.0.1", self.v.port))
            s.sendall(garbage)
            s.settimeout(5)
            try:
                reply = s.recv(4096)
            except OSError:
                reply = b""
            s.close()
            if reply:
                self.assertRegex(reply[:12], rb"HTTP/1\.[01] 4\d\d")
        self.assertEqual(self.v.get("/-/healthy")[0], 200)

    def test_metrics_of_http_server_and_process(self):
        self.v.get("/-/healthy")
        status, headers, body = self.v.get("/metrics")
        self.assertEqual(status, 200)
        self.assertTrue(headers["Content-Type"].startswith("text/plain; version=0.0.4"))
        text = body.decode()
        for name in ["process_cpu_seconds_total", "process_resident_memory_bytes",
                     "process_open_fds", "process_max_fds", "process_start_time_seconds",
                     "process_virtual_memory_bytes", "http_requests_in_flight",
                     "vigil_thread_busy_seconds_total"]:
            self.assertRegex(text, r"(?m)^%s(\{[^}]*\})? [0-9.e+-]+$" % name, name)
        self.assertRegex(text, r'(?m)^http_requests_total\{code="200",handler="/-/healthy",'
                               r'method="GET"\} [1-9]')
        self.assertRegex(text, r'(?m)^http_request_duration_seconds_bucket\{handler="/-/healthy",'
                               r'method="GET",le="\+Inf"\} [1-9]')
        rss = float(next(l for l in text.splitlines()
                         if l.startswith("process_resident_memory_bytes ")).split()[1])
        self.assertGreater(rss, 1 << 20)

    def test_metrics_gzip_and_openmetrics(self):
        import gzip
        status, headers, body = self.v.get("/metrics", headers={"Accept-Encoding": "gzip"})
        self.assertEqual(headers.get("Content-Encoding"), "gzip")
        self.assertIn(b"process_cpu_seconds_total", gzip.decompress(body))
        status, headers, body = self.v.get(
            "/metrics", headers={"Accept": "application/openmetrics-text;version=1.0.0"})
        self.assertTrue(headers["Content-Type"].startswith("application/openmetrics-text"))
        self.assertTrue(body.endswith(b"# EOF\n"))
        self.assertIn(b"# TYPE process_cpu_seconds counter\n", body)


class LifecycleTest(unittest.TestCase):
    def setUp(self):
        self.v = Vigil()

    def tearDown(self):
        self.v.cleanup()

    def reloads(self):
        text = self.v.get("/metrics")[2].decode()
        line = next(l for l in text.splitlines() if l.startswith("vigil_config_reloads_total "))
        return float(line.split()[1])

    def test_reload_by_http_and_by_sighup(self):
        status, _, _ = self.v.post("/-/reload")
        self.assertEqual(status, 200)
        self.assertEqual(self.reloads(), 1)
        self.v.proc.send_signal(signal.SIGHUP)
        deadline = time.time() + 10
        while self.reloads() < 2 and time.time() < deadline:
            time.sleep(0.05)
        self.assertEqual(self.reloads(), 2)

    def test_failed_reload_keeps_the_old_configuration(self):
        self.v.write_config("global:\n  scrape_interval: banana\n")
        status, _, body = self.v.post("/-/reload")
        self.assertEqual(status, 500)
        self.assertIn(b"failed to reload config", body)
        self.assertIn(b"banana", body)
        self.assertEqual(self.v.get("/-/ready")[0], 200)
        text = self.v.get("/metrics")[2].decode()
        self.assertIn("vigil_config_last_reload_successful 0\n", text)

    def test_quit_shuts_down_cleanly(self):
        status, _, _ = self.v.post("/-/quit")
        self.assertEqual(status, 200)
        self.assertEqual(self.v.proc.wait(20), 0)
        self.assertIn("See you next time", self.v.logs())

    def test_sigint_shuts_down_cleanly(self):
        self.assertEqual(self.v.stop(signal.SIGINT), 0)


class StartupTest(unittest.TestCase):
    def test_unknown_flag_is_rejected(self):
        status, _, err = run_vigil(["serve", "--no-such-flag=1"])
        self.assertEqual(status, 2)
        self.assertIn("unknown long flag '--no-such-flag'", err)

    def test_bad_flag_value_is_rejected(self):
        status, _, err = run_vigil(["serve", "--web.max-request-body-size=lots"])
        self.assertEqual(status, 2)
        self.assertIn("invalid value 'lots'", err)

    def test_unreadable_config_is_named(self):
        status, _, err = run_vigil(["serve", "--config.file=/nonexistent/vigil.yml",
                                    "--web.listen-address=127.0.0.1:0"])
        self.assertEqual(status, 1)
        self.assertIn("/nonexistent/vigil.yml", err)

    def test_bad_listen_address(self):
        v = Vigil(wait=False)
        v.stop()
        status, _, err = run_vigil(["serve", "--config.file=" + v.config_path,
                                    "--web.listen-address=nonsense"])
        v.cleanup()
        self.assertEqual(status, 1)
        self.assertIn("missing port", err)

    def test_port_in_use_is_reported(self):
        a = Vigil()
        try:
            status, _, err = run_vigil(["serve", "--config.file=" + a.config_path,
                                        "--storage.path=" + a.dir + "/data2",
                                        "--web.listen-address=127.0.0.1:%d" % a.port])
            self.assertEqual(status, 1)
            self.assertIn("cannot bind", err)
        finally:
            a.cleanup()

    def test_json_logs_have_the_seed_shape(self):
        v = Vigil(args=["--log.format=json"])
        v.stop()
        logs = v.logs()
        v.cleanup()
        lines = [json.loads(l) for l in logs.splitlines() if l.startswith("{")]
        self.assertTrue(lines)
        for rec in lines:
            self.assertEqual(list(rec)[:4], ["timestamp", "level", "service", "message"])
            self.assertEqual(rec["service"], "vigil")
        self.assertTrue(any(r["message"].startswith("Server is ready") for r in lines))

    def test_version_and_help(self):
        status, out, _ = run_vigil(["--version"])
        self.assertEqual(status, 0)
        self.assertTrue(out.startswith("vigil, version "))
        status, out, _ = run_vigil(["serve", "--help"])
        self.assertEqual(status, 0)
        self.assertIn("--web.listen-address", out)


if __name__ == "__main__":
    unittest.main()
