"""Helpers for integration tests: they start the real vigil binary (and the
real reference programs) on free 127.0.0.1 ports and talk to them over HTTP.

VIGIL_BIN names the binary under test (make test sets it)."""

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHARED = os.path.join(os.path.dirname(ROOT), "shared")
VIGIL_BIN = os.path.abspath(os.environ.get("VIGIL_BIN", os.path.join(ROOT, "build", "vigil")))
SANITIZED = bool(os.environ.get("VIGIL_SANITIZED"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http(method, url, body=None, headers=None, timeout=10):
    """Returns (status, headers, body bytes); never raises on HTTP errors."""
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def wait_http(url, timeout=20, proc=None):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError("process exited with %d before %s answered" % (proc.returncode, url))
        try:
            status, _, _ = http("GET", url, timeout=2)
            if status == 200:
                return
        except OSError:
            pass
        time.sleep(0.05)
    raise RuntimeError("%s did not answer 200 within %ss" % (url, timeout))


# No scrape jobs: a test that wants scraping says what to scrape, and no
# test reaches out to whatever else listens on this machine.
DEFAULT_CONFIG = """
global:
  scrape_interval: 15s
"""


class Vigil:
    """A running `vigil serve` in a temporary directory."""

    def __init__(self, config=DEFAULT_CONFIG, args=(), wait=True):
        self.dir = tempfile.mkdtemp(prefix="vigil-test-")
        self.config_path = os.path.join(self.dir, "vigil.yml")
        self.write_config(config)
        self.port = free_port()
        self.url = "http://127.0.0.1:%d" % self.port
        self.log_path = os.path.join(self.dir, "vigil.log")
        self.log = open(self.log_path, "wb")
        cmd = [VIGIL_BIN, "serve", "--config.file=" + self.config_path,
               "--web.listen-address=127.0.0.1:%d" % self.port,
               "--storage.path=" + os.path.join(self.dir, "data")] + list(args)
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT)
        if wait:
            wait_http(self.url + "/-/ready", proc=self.proc)

    def write_config(self, text):
        with open(self.config_path, "w") as f:
            f.write(text)

    def get(self, path, **kw):
        return http("GET", self.url + path, **kw)

    def post(self, path, body=b"", **kw):
        return http("POST", self.url + path, body=body, **kw)

    def logs(self):
        if not self.log.closed:
            self.log.flush()
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stop(self, sig=signal.SIGTERM, timeout=20):
        """Stops the process and returns its exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        return self.proc.returncode

    def cleanup(self):
        """Stops vigil and removes its directory; raises if a sanitizer
        reported anything, so every test that runs vigil also checks that."""
        self.stop()
        logs = self.logs()
        shutil.rmtree(self.dir, ignore_errors=True)
        check_sanitizer_report(logs)


SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                     "WARNING: ThreadSanitizer")


def check_sanitizer_report(text):
    for marker in SANITIZER_MARKERS:
        if marker in text:
            start = text.index(marker)
            raise AssertionError("sanitizer report:\n" + text[max(0, start - 200):start + 3000])


def run_vigil(args, timeout=30):
    """Runs the vigil command to completion; returns (status, stdout, stderr)."""
    p = subprocess.run([VIGIL_BIN] + list(args), capture_output=True, timeout=timeout)
    err = p.stderr.decode("utf-8", "replace")
    check_sanitizer_report(err)
    return p.returncode, p.stdout.decode("utf-8", "replace"), err


def parse_exposition_names(text):
    """Returns {metric name: set of label-name tuples} from a text exposition.
    A deliberately small reader for test comparisons, not a parser."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        brace = line.find("{")
        space = line.find(" ")
        if brace != -1 and (space == -1 or brace < space):
            name = line[:brace]
            body = line[brace + 1:line.rindex("}")]
            labels = []
            i = 0
            while i < len(body):
                eq = body.index("=", i)
                labels.append(body[i:eq].strip(", "))
                j = eq + 2
                while body[j] != '"':
                    j += 2 if body[j] == "\\" else 1
                i = j + 1
            out.setdefault(name, set()).add(tuple(sorted(labels)))
        else:
            out.setdefault(line[:space], set()).add(())
    return out


class Prometheus:
    """A real Prometheus (Debian's package) with its own temporary data
    directory on a free 127.0.0.1 port, for side-by-side tests."""

    def __init__(self, config, args=(), wait=True):
        self.dir = tempfile.mkdtemp(prefix="prom-test-")
        self.config_path = os.path.join(self.dir, "prometheus.yml")
        with open(self.config_path, "w") as f:
            f.write(config)
        self.port = free_port()
        self.url = "http://127.0.0.1:%d" % self.port
        self.log = open(os.path.join(self.dir, "prometheus.log"), "wb")
        self.args = ["prometheus", "--config.file=" + self.config_path,
                     "--storage.tsdb.path=" + os.path.join(self.dir, "data"),
                     "--web.listen-address=127.0.0.1:%d" % self.port] + list(args)
        self.proc = subprocess.Popen(self.args, stdout=self.log, stderr=subprocess.STDOUT)
        if wait:
            wait_http(self.url + "/-/ready", timeout=60, proc=self.proc)

    def get(self, path, **kw):
        return http("GET", self.url + path, **kw)

    def query(self, expr, at=None):
        """The result list of an instant query (raises on an error)."""
        import json
        import urllib.parse
        q = {"query": expr}
        if at is not None:
            q["time"] = "%.3f" % at
        status, _, body = self.get("/api/v1/query?" + urllib.parse.urlencode(q))
        if status != 200:
            raise RuntimeError("query %r: %d %s" % (expr, status, body[:300]))
        return json.loads(body)["data"]["result"]

    def wait_for_scrapes(self, expr="up", timeout=60):
        """Prometheus starts scraping a few seconds after it is ready."""
        deadline = time.time() + timeout
        while not self.query(expr):
            if time.time() > deadline:
                raise RuntimeError("no %s from Prometheus within %ss" % (expr, timeout))
            time.sleep(0.2)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def cleanup(self):
        self.stop()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)
