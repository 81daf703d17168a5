"""Helpers for the Alertmanager integration tests: a target that speaks the
Alertmanager API v2 (the real Alertmanager, or vigil serving its built-in
one), webhook receivers that record every notification, alert and silence
helpers, and the normalisation that makes two targets' notifications
comparable.

The same scenario runs against either target: it starts one with a config
file, posts alerts and silences to .url, and reads what the receivers got."""

import datetime
import json
import os
import shutil
import signal
import string
import subprocess
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import harness
from harness import check_sanitizer_report, free_port, http, wait_http

AM_BIN = shutil.which("prometheus-alertmanager") or "/usr/bin/prometheus-alertmanager"
AMTOOL_BIN = shutil.which("amtool") or "/usr/bin/amtool"
HAVE_AM = os.path.exists(AM_BIN)
HAVE_AMTOOL = os.path.exists(AMTOOL_BIN)
DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "alertmanager")

# The flag vigil serve takes for an alertmanager.yml; its presence in
# `vigil serve --help` says vigil has the built-in Alertmanager.
VIGIL_AM_FLAG = "--alertmanager.config.file"


class AlertmanagerTarget:
    """Something serving the Alertmanager API v2 under .url (no path prefix).
    start() runs it with a config file, stop() ends it with SIGTERM,
    restart() stops it and starts it again on the same port with the same
    storage directory, cleanup() also removes the directory. The storage
    directory lives as long as the object, so state kept on disk (silences,
    notification log) survives restart()."""

    name = "target"

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="am-test-")
        self.port = free_port()
        self.url = "http://127.0.0.1:%d" % self.port
        self.proc = None
        self.config_path = None
        self.log_path = os.path.join(self.dir, "log")
        self.log = None

    def command(self):
        raise NotImplementedError

    def start(self, config_path=None):
        if config_path is not None:
            self.config_path = config_path
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.command(), stdout=self.log, stderr=subprocess.STDOUT)
        try:
            wait_http(self.url + "/-/ready", timeout=30, proc=self.proc)
        except RuntimeError as e:
            raise RuntimeError("%s: %s\n%s" % (self.name, e, self.logs()[-3000:]))
        return self

    def stop(self, sig=signal.SIGTERM, timeout=20):
        """Stops the process and returns its exit status (None if not running)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.log is not None and not self.log.closed:
            self.log.close()
        return self.proc.returncode

    def restart(self):
        self.stop()
        return self.start()

    def logs(self):
        if self.log is not None and not self.log.closed:
            self.log.flush()
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def cleanup(self):
        self.stop()
        logs = self.logs()
        shutil.rmtree(self.dir, ignore_errors=True)
        check_sanitizer_report(logs)

    def reload(self):
        return http("POST", self.url + "/-/reload")[0]


class Alertmanager(AlertmanagerTarget):
    """Debian's prometheus-alertmanager on 127.0.0.1, without gossip."""

    name = "alertmanager"

    def command(self):
        return [AM_BIN, "--config.file=" + self.config_path,
                "--storage.path=" + os.path.join(self.dir, "data"),
                "--web.listen-address=127.0.0.1:%d" % self.port,
                "--cluster.listen-address=", "--log.level=debug"]


MINIMAL_PROMETHEUS_YML = """
global:
  scrape_interval: 15s
"""


class VigilAlertmanager(AlertmanagerTarget):
    """vigil serve with its built-in Alertmanager, serving API v2 on its
    own port, with no scrape jobs."""

    name = "vigil"

    def __init__(self):
        super().__init__()
        self.prom_config = os.path.join(self.dir, "prometheus.yml")
        with open(self.prom_config, "w") as f:
            f.write(MINIMAL_PROMETHEUS_YML)

    def command(self):
        return [harness.VIGIL_BIN, "serve", "--config.file=" + self.prom_config,
                "--storage.tsdb.path=" + os.path.join(self.dir, "tsdb"),
                "--web.listen-address=127.0.0.1:%d" % self.port,
                VIGIL_AM_FLAG + "=" + self.config_path,
                "--alertmanager.storage.path=" + os.path.join(self.dir, "am")]


class SecondAlertmanager(Alertmanager):
    """A second real Alertmanager standing in for vigil (AMTEST_SELF_CHECK=1):
    the comparisons must then pass, which checks the test machinery itself
    before vigil has an Alertmanager to compare."""

    name = "vigil"


SELF_CHECK = bool(os.environ.get("AMTEST_SELF_CHECK"))
_vigil_support = None


def vigil_am_support():
    """(True, "") when vigil serve takes --alertmanager.config.file, else
    (False, why). Asked once per process."""
    global _vigil_support
    if _vigil_support is None:
        if SELF_CHECK:
            _vigil_support = (True, "")
        elif not os.path.exists(harness.VIGIL_BIN):
            _vigil_support = (False, "no vigil binary at %s" % harness.VIGIL_BIN)
        else:
            try:
                p = subprocess.run([harness.VIGIL_BIN, "serve", "--help"], capture_output=True,
                                   timeout=30)
                text = (p.stdout + p.stderr).decode("utf-8", "replace")
            except (OSError, subprocess.TimeoutExpired) as e:
                text = str(e)
            if VIGIL_AM_FLAG in text:
                _vigil_support = (True, "")
            else:
                _vigil_support = (False, "vigil serve has no %s flag yet (built-in Alertmanager "
                                         "not available)" % VIGIL_AM_FLAG)
    return _vigil_support


def targets_available():
    """The target classes this machine can run: the real one if installed,
    vigil if it has the flag."""
    out = []
    if HAVE_AM:
        out.append(Alertmanager)
    if SELF_CHECK:
        out.append(SecondAlertmanager)
    elif vigil_am_support()[0]:
        out.append(VigilAlertmanager)
    return out


# ---------------------------------------------------------------------------
# Webhook receiver

class _Server(ThreadingHTTPServer):
    # The default backlog of 5 drops connections when several notifications
    # arrive at once; Alertmanager then retries a second later.
    request_queue_size = 1024
    daemon_threads = True
    allow_reuse_address = True


class WebhookReceiver:
    """An HTTP server on 127.0.0.1 (free port) that records every POST as a
    dict {t: monotonic arrival time, path, body: parsed JSON (or None),
    raw: bytes, status: what was answered}. Answers 200, or 500 to the first
    fail_first requests."""

    def __init__(self, name="webhook", fail_first=0):
        self.name = name
        self.fail_first = fail_first
        self.requests = []
        self.lock = threading.Lock()
        self.cond = threading.Condition(self.lock)
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(n) if n else b""
                t = time.monotonic()
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = None
                with owner.cond:
                    status = 500 if owner.fail_first > 0 else 200
                    if owner.fail_first > 0:
                        owner.fail_first -= 1
                    owner.requests.append({"t": t, "path": self.path, "body": body,
                                           "raw": raw, "status": status})
                    owner.cond.notify_all()
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = _Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.url = "http://127.0.0.1:%d/%s" % (self.port, name)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True,
                                       name="webhook-" + name)
        self.thread.start()

    def received(self, ok_only=True):
        """The recorded requests (answered 200 unless ok_only is False)."""
        with self.lock:
            return [r for r in self.requests if r["status"] == 200 or not ok_only]

    def messages(self):
        return [r["body"] for r in self.received()]

    def wait_for(self, n, timeout=10):
        """Waits until n requests were answered 200; returns them (maybe fewer)."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while sum(1 for r in self.requests if r["status"] == 200) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self.cond.wait(left)
        return self.received()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


# ---------------------------------------------------------------------------
# Alerts and silences

def rfc3339(t):
    """A Unix time as RFC 3339 UTC with milliseconds, as Prometheus sends it."""
    d = datetime.datetime.fromtimestamp(t, datetime.timezone.utc)
    return d.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (d.microsecond // 1000)


def go_time(t):
    """A Unix time (ms precision) as Go prints a UTC time.Time in JSON
    (RFC 3339 with the fraction's trailing zeros dropped): how the
    Alertmanager echoes a time posted as rfc3339(t)."""
    s = rfc3339(t)
    head, frac = s[:-1].split(".")
    frac = frac.rstrip("0")
    return head + ("." + frac if frac else "") + "Z"


def parse_rfc3339(s):
    return datetime.datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()


def alert(labels, annotations=None, starts=None, ends=None, generator_url=None):
    """One postable alert; starts/ends are Unix times (None leaves them out)."""
    a = {"labels": dict(labels), "annotations": dict(annotations or {})}
    if starts is not None:
        a["startsAt"] = rfc3339(starts)
    if ends is not None:
        a["endsAt"] = rfc3339(ends)
    if generator_url is not None:
        a["generatorURL"] = generator_url
    return a


def post_alerts(url, alerts):
    """POSTs alerts to URL/api/v2/alerts; raises unless answered 200."""
    status, _, body = http("POST", url + "/api/v2/alerts", json.dumps(alerts).encode(),
                           {"Content-Type": "application/json"})
    if status != 200:
        raise RuntimeError("POST /api/v2/alerts: %d %s" % (status, body[:500]))


def get_alerts(url, query=""):
    status, _, body = http("GET", url + "/api/v2/alerts" + query)
    if status != 200:
        raise RuntimeError("GET /api/v2/alerts: %d %s" % (status, body[:500]))
    return json.loads(body)


def matcher(name, value, is_regex=False, is_equal=True):
    return {"name": name, "value": value, "isRegex": is_regex, "isEqual": is_equal}


def create_silence(url, matchers, starts, ends, created_by="test", comment="test"):
    """Creates a silence (matchers as from matcher()); returns its id."""
    s = {"matchers": matchers, "startsAt": rfc3339(starts), "endsAt": rfc3339(ends),
         "createdBy": created_by, "comment": comment}
    status, _, body = http("POST", url + "/api/v2/silences", json.dumps(s).encode(),
                           {"Content-Type": "application/json"})
    if status != 200:
        raise RuntimeError("POST /api/v2/silences: %d %s" % (status, body[:500]))
    return json.loads(body)["silenceID"]


def get_silences(url):
    status, _, body = http("GET", url + "/api/v2/silences")
    if status != 200:
        raise RuntimeError("GET /api/v2/silences: %d %s" % (status, body[:500]))
    return json.loads(body)


def render_config(template_name, receivers, out_dir, **extra):
    """Reads data/alertmanager/<template_name>, replaces $<name>_url with
    each receiver's URL (receivers: {name: WebhookReceiver}) and any extra
    $key, writes the result into out_dir and returns its path."""
    with open(os.path.join(DATA, template_name)) as f:
        text = f.read()
    values = {name.replace("-", "_") + "_url": r.url for name, r in receivers.items()}
    values.update(extra)
    path = os.path.join(out_dir, template_name)
    with open(path, "w") as f:
        f.write(string.Template(text).substitute(values))
    return path


# ---------------------------------------------------------------------------
# Comparison

ALERT_KEYS = ("status", "labels", "annotations", "startsAt", "endsAt", "generatorURL")
MESSAGE_KEYS = ("receiver", "status", "groupKey", "groupLabels", "commonLabels",
                "commonAnnotations", "truncatedAlerts", "version")


def normalise(message, keep_fingerprint=False):
    """A webhook message reduced to what two Alertmanagers must agree on:
    externalURL (host and port) goes, and so does each alert's fingerprint
    unless keep_fingerprint. Alert order is kept: it is the order the
    Alertmanager sorts them in (by instance, then fingerprint)."""
    out = {k: message.get(k) for k in MESSAGE_KEYS}
    alerts = []
    for a in message.get("alerts") or []:
        n = {k: a.get(k) for k in ALERT_KEYS}
        if keep_fingerprint:
            n["fingerprint"] = a.get("fingerprint")
        alerts.append(n)
    out["alerts"] = alerts
    return out


def canonical(obj):
    """A hashable, order-stable text of a JSON value (for multisets)."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"))


def by_group(records, t0):
    """{(receiver, groupKey): [(seconds since t0, normalised message), ...]}
    in arrival order, from WebhookReceiver records."""
    groups = {}
    for r in records:
        m = r["body"]
        groups.setdefault((m.get("receiver"), m.get("groupKey")), []).append(
            (r["t"] - t0, normalise(m)))
    return groups


# ---------------------------------------------------------------------------
# Running one scenario against every target at once

def run_targets(make, classes=None):
    """Runs a scenario against each target class (targets_available() by
    default) in parallel: make(cls) builds and starts one run (an object with
    .target, .run(T, m0) and .close(); make cleans up after itself if it
    fails), then, once all are started, obj.run(T, m0) drives each with a
    shared start (T wall clock, m0 monotonic) so the runs are in step.
    Returns ({name: obj}, {name: exception}); a target that failed is closed
    and reported, and does not stop the others."""
    classes = targets_available() if classes is None else classes
    objs, errors = {}, {}
    lock = threading.Lock()

    def in_threads(fn, items):
        threads = [threading.Thread(target=fn, args=(i,)) for i in items]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    def do_make(cls):
        try:
            obj = make(cls)
            with lock:
                objs[cls.name] = obj
        except BaseException as e:  # reported to the tests of that target
            with lock:
                errors[cls.name] = e

    in_threads(do_make, classes)
    T, m0 = time.time(), time.monotonic()

    def do_run(name):
        try:
            objs[name].run(T, m0)
        except BaseException as e:
            with lock:
                errors[name] = e

    in_threads(do_run, list(objs))
    for name in errors:
        obj = objs.pop(name, None)
        if obj is not None:
            try:
                obj.close()
            except BaseException:
                pass
    return objs, errors


class TargetRuns:
    """A mixin for unittest classes whose setUpClass stores run_targets()'s
    answer in cls.runs and cls.errors: run_of(name) gives a target's run or
    fails the test with that target's error; tearDownClass closes them."""

    runs = {}
    errors = {}

    def run_of(self, name):
        if name in self.errors:
            e = self.errors[name]
            raise AssertionError("%s: scenario failed: %s: %s" % (name, type(e).__name__, e)) from e
        if name not in self.runs:
            self.skipTest("%s did not run" % name)
        return self.runs[name]

    @classmethod
    def tearDownClass(cls):
        first = None
        for r in cls.runs.values():
            try:
                r.close()
            except BaseException as e:  # a sanitizer report: close the rest first
                first = first or e
        cls.runs = {}
        if first is not None:
            raise first


def start_or_clean(target, config, receivers):
    """Starts target with config; on failure removes the target's directory
    and closes the receivers before raising."""
    try:
        target.start(config)
    except BaseException:
        for r in receivers:
            r.close()
        target.cleanup()
        raise
