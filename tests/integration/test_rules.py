"""Rules against the reference: `vigil check rules` and `vigil test rules`
beside Debian's promtool (2.42) on the seed rule files and the promtool-format
tests in rules-tests/ (same verdicts), and a running vigil beside a real
Prometheus holding the same rule file and samples (/api/v1/rules and
/api/v1/alerts compared in shape and values)."""

import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import unittest

import harness
import rwclient

HAVE_PROMTOOL = shutil.which("promtool") is not None
HAVE_PROMETHEUS = shutil.which("prometheus") is not None
SEEDS = os.path.join(harness.SHARED, "seed-fixtures")
SEED_RULES = ["rules-000-ecommerce.yml", "rules-003-guide.yml", "rules-004-todo.yml"]
TESTS_DIR = os.path.join(harness.ROOT, "rules-tests")

try:
    import yaml
except ImportError:  # the stripped-annotation comparison needs PyYAML
    yaml = None


def promtool(args):
    p = subprocess.run(["promtool"] + list(args), capture_output=True, timeout=120)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def strip_unit_testing_line(out):
    # promtool 2.42 prints "Unit Testing:  FILE" first; 3.x does not.
    return "\n".join(l for l in out.splitlines() if not l.startswith("Unit Testing:"))


class CheckRules(unittest.TestCase):
    @unittest.skipUnless(HAVE_PROMTOOL, "promtool not installed")
    def test_seed_files_like_promtool(self):
        files = [os.path.join(SEEDS, f) for f in SEED_RULES]
        rc, out, err = harness.run_vigil(["check", "rules"] + files)
        prc, pout, perr = promtool(["check", "rules"] + files)
        self.assertEqual(rc, 0, err)
        self.assertEqual(rc, prc)
        self.assertEqual(out, pout)

    @unittest.skipUnless(HAVE_PROMTOOL, "promtool not installed")
    def test_bad_files_same_status(self):
        d = tempfile.mkdtemp(prefix="vigil-rules-")
        try:
            bad = {
                "expr.yml": "groups:\n- name: a\n  rules:\n  - alert: X\n    expr: up ==\n",
                "unknown.yml": "groups:\n- name: a\n  foo: 1\n  rules: []\n",
                "dup.yml": "groups:\n- name: a\n  rules: []\n- name: a\n  rules: []\n",
                "syntax.yml": "groups: [\n",
                "noexpr.yml": "groups:\n- name: a\n  rules:\n  - record: x\n",
                "for.yml": "groups:\n- name: a\n  rules:\n  - record: x\n    expr: up\n    for: 1m\n",
            }
            for name, text in bad.items():
                path = os.path.join(d, name)
                with open(path, "w") as f:
                    f.write(text)
                rc, out, err = harness.run_vigil(["check", "rules", path])
                prc, pout, perr = promtool(["check", "rules", path])
                # promtool 2.42 prints an empty line after a failed file;
                # 3.x (which vigil follows) does not.
                self.assertEqual((rc, out), (prc, pout.rstrip("\n") + "\n"), name)
                self.assertIn("  FAILED:", err, name)
                # The messages agree line for line where 2.x and 3.x word them alike.
                if name in ("expr.yml", "dup.yml", "syntax.yml"):
                    self.assertEqual(err, perr, name)
            # Lint: duplicate recording rules are reported; exit 0, or 3 with --lint-fatal.
            path = os.path.join(d, "lint.yml")
            with open(path, "w") as f:
                f.write("groups:\n- name: a\n  rules:\n  - record: x\n    expr: up\n"
                        "  - record: x\n    expr: sum(up)\n")
            for extra in ([], ["--lint-fatal"], ["--lint=none"]):
                rc, out, err = harness.run_vigil(["check", "rules"] + extra + [path])
                prc, pout, perr = promtool(["check", "rules"] + extra + [path])
                self.assertEqual((rc, out, err), (prc, pout, perr), extra)
        finally:
            shutil.rmtree(d, ignore_errors=True)


def unrendered(text):
    return "{{" in text


class TestRules(unittest.TestCase):
    """rules-tests/ under both runners."""

    @unittest.skipUnless(HAVE_PROMTOOL, "promtool not installed")
    def test_promtool_passes_the_shipped_tests(self):
        for name in SEED_RULES:
            test = os.path.join(TESTS_DIR, name.replace(".yml", ".test.yml"))
            prc, pout, perr = promtool(["test", "rules", test])
            self.assertEqual(prc, 0, perr)

    def test_vigil_runs_the_shipped_tests(self):
        """Every shipped test passes, annotations rendered, and promtool
        gives the same verdict."""
        for name in SEED_RULES:
            test = os.path.join(TESTS_DIR, name.replace(".yml", ".test.yml"))
            rc, out, err = harness.run_vigil(["test", "rules", test], timeout=120)
            self.assertEqual(rc, 0, err)
            self.assertEqual(out, "  SUCCESS\n\n")
            if HAVE_PROMTOOL:
                self.assertEqual(promtool(["test", "rules", test])[0], rc, name)

    @unittest.skipUnless(HAVE_PROMTOOL and yaml, "promtool or PyYAML missing")
    def test_same_verdicts_without_annotations(self):
        """The shipped tests with annotations left out of the rules and the
        expectations, and each test broken on purpose one way: vigil and
        promtool pass and fail the same ones."""
        d = tempfile.mkdtemp(prefix="vigil-rules-")
        try:
            for name in SEED_RULES:
                with open(os.path.join(SEEDS, name)) as f:
                    rules = yaml.safe_load(f)
                for g in rules["groups"]:
                    for r in g["rules"]:
                        r.pop("annotations", None)
                rules_path = os.path.join(d, name)
                with open(rules_path, "w") as f:
                    yaml.safe_dump(rules, f)
                with open(os.path.join(TESTS_DIR, name.replace(".yml", ".test.yml"))) as f:
                    tests = yaml.safe_load(f)
                tests["rule_files"] = [rules_path]
                for tg in tests["tests"]:
                    for at in tg.get("alert_rule_test", []):
                        for a in at.get("exp_alerts") or []:
                            a.pop("exp_annotations", None)
                variants = {"ok": tests}
                # Broken: an expected alert too many, and one label wrong.
                broken = json.loads(json.dumps(tests))
                first = broken["tests"][0]["alert_rule_test"][0]
                first["exp_alerts"] = (first.get("exp_alerts") or []) + [
                    {"exp_labels": {"severity": "none"}}]
                variants["extra"] = broken
                wrong = json.loads(json.dumps(tests))
                for at in wrong["tests"][-1]["alert_rule_test"]:
                    if at.get("exp_alerts"):
                        at["exp_alerts"][0]["exp_labels"]["severity"] = "other"
                        break
                variants["label"] = wrong
                for vname, content in variants.items():
                    path = os.path.join(d, "%s.%s.test.yml" % (name, vname))
                    with open(path, "w") as f:
                        yaml.safe_dump(content, f)
                    rc, out, err = harness.run_vigil(["test", "rules", path], timeout=120)
                    prc, pout, perr = promtool(["test", "rules", path])
                    self.assertEqual(rc, prc, "%s %s\nvigil:\n%s\npromtool:\n%s" % (
                        name, vname, err, perr))
                    self.assertEqual(rc, 0 if vname == "ok" else 1, err)
                    if rc:
                        # The reports agree too, apart from promtool 2.42's
                        # "Unit Testing:" line.
                        self.assertEqual(err, perr, vname)
                        self.assertEqual(out, strip_unit_testing_line(pout) + "\n", vname)
        finally:
            shutil.rmtree(d, ignore_errors=True)

    def test_report_format(self):
        """promtool's report for failing expectations, byte for byte (its
        3.x form: no "Unit Testing:" line)."""
        d = tempfile.mkdtemp(prefix="vigil-rules-")
        try:
            with open(os.path.join(d, "r.yml"), "w") as f:
                f.write("groups:\n- name: g\n  rules:\n  - record: job:up:sum\n"
                        "    expr: sum by (job) (up)\n  - alert: Down\n    expr: up == 0\n"
                        "    for: 2m\n    labels:\n      severity: page\n")
            with open(os.path.join(d, "t.yml"), "w") as f:
                f.write("rule_files: [r.yml]\nevaluation_interval: 1m\ntests:\n- interval: 1m\n"
                        "  input_series:\n  - series: 'up{job=\"a\",instance=\"x\"}'\n"
                        "    values: '1 1 0 0 0 0 _ stale 1x3'\n"
                        "  alert_rule_test:\n  - eval_time: 4m\n    alertname: Down\n"
                        "    exp_alerts:\n    - exp_labels: {severity: page, instance: x, job: b}\n"
                        "  promql_expr_test:\n  - expr: job:up:sum\n    eval_time: 3m\n"
                        "    exp_samples:\n    - labels: 'job:up:sum{job=\"a\"}'\n      value: 2\n")
            rc, out, err = harness.run_vigil(["test", "rules", os.path.join(d, "t.yml")])
            self.assertEqual(rc, 1)
            self.assertEqual(out, "\n\n\n")
            self.assertEqual(err, """  FAILED:
    alertname: Down, time: 4m, 
        exp:[
            0:
              Labels:{alertname="Down", instance="x", job="b", severity="page"}
              Annotations:{}
            ], 
        got:[
            0:
              Labels:{alertname="Down", instance="x", job="a", severity="page"}
              Annotations:{}
            ]
    expr: "job:up:sum", time: 3m,
        exp: {__name__="job:up:sum", job="a"} 2E+00
        got: {__name__="job:up:sum", job="a"} 0E+00
""")
            if HAVE_PROMTOOL:
                prc, pout, perr = promtool(["test", "rules", os.path.join(d, "t.yml")])
                self.assertEqual((prc, perr), (rc, err))
        finally:
            shutil.rmtree(d, ignore_errors=True)


TIME_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$")


def normalise_rules(doc, rendered):
    """/api/v1/rules with the times and durations that legitimately differ
    between two servers blanked (after checking their form)."""
    for g in doc["data"]["groups"]:
        for k in ("evaluationTime", "lastEvaluation"):
            assert k in g
        assert TIME_RE.match(g["lastEvaluation"]), g["lastEvaluation"]
        g["evaluationTime"] = g["lastEvaluation"] = None
        for r in g["rules"]:
            assert TIME_RE.match(r["lastEvaluation"]), r["lastEvaluation"]
            r["evaluationTime"] = r["lastEvaluation"] = None
            for a in r.get("alerts") or []:
                assert TIME_RE.match(a["activeAt"]), a["activeAt"]
                a["activeAt"] = None
                if not rendered:
                    a["annotations"] = sorted(a["annotations"])
    return doc


@unittest.skipUnless(HAVE_PROMETHEUS, "prometheus not installed")
class LiveAgainstPrometheus(unittest.TestCase):
    """A seed rule file in a running vigil and a real Prometheus fed the same
    samples."""

    def setUp(self):
        self.rule_file = os.path.join(SEEDS, "rules-004-todo.yml")
        config = ("global:\n  evaluation_interval: 1s\n  external_labels: {site: test}\n"
                  "rule_files: [%s]\n" % self.rule_file)
        self.vigil = harness.Vigil(config)
        self.prom = harness.Prometheus(config, args=["--web.enable-remote-write-receiver"])

    def tearDown(self):
        self.vigil.cleanup()
        self.prom.cleanup()

    def feed(self):
        now = int(time.time() * 1000)
        start = now - 240000
        series = []

        def add(labels, fn):
            pts = [(t, fn(i)) for i, t in enumerate(range(start, now + 1, 15000))]
            series.append((labels, pts))

        add({"__name__": "up", "job": "postgres", "instance": "db:5432"}, lambda i: 0)
        add({"__name__": "up", "job": "todo-api", "instance": "api:8080"}, lambda i: 1)
        add({"__name__": "node_cpu_seconds_total", "instance": "n1", "cpu": "0",
             "mode": "idle"}, lambda i: 1000 + 1.5 * i)
        add({"__name__": "node_memory_MemAvailable_bytes", "instance": "n1"}, lambda i: 10)
        add({"__name__": "node_memory_MemTotal_bytes", "instance": "n1"}, lambda i: 100)
        add({"__name__": "node_memory_MemAvailable_bytes", "instance": "n2"}, lambda i: 50)
        add({"__name__": "node_memory_MemTotal_bytes", "instance": "n2"}, lambda i: 100)
        for url in (self.vigil.url, self.prom.url):
            status, body = rwclient.send(url + "/api/v1/write", series)[:2]
            self.assertIn(status, (200, 204), body)

    def test_rules_and_alerts(self):
        self.feed()
        deadline = time.time() + 30
        while time.time() < deadline:
            _, _, vb = self.vigil.get("/api/v1/alerts")
            _, _, pb = self.prom.get("/api/v1/alerts")
            va, pa = json.loads(vb)["data"]["alerts"], json.loads(pb)["data"]["alerts"]
            if len(va) == len(pa) == 3:
                break
            time.sleep(0.5)
        self.assertEqual(len(pa), 3, pb)
        key = lambda a: json.dumps(a["labels"], sort_keys=True)
        va, pa = sorted(va, key=key), sorted(pa, key=key)
        rendered = not any(unrendered(v) for a in va for v in a["annotations"].values())
        self.assertTrue(rendered, va)
        for v, p in zip(va, pa):
            self.assertEqual(v["labels"], p["labels"])
            self.assertEqual(v["state"], p["state"])
            self.assertEqual(v["value"], p["value"])
            self.assertEqual(list(v), list(p))  # field order
            if rendered:
                self.assertEqual(v["annotations"], p["annotations"])
            else:
                self.assertEqual(sorted(v["annotations"]), sorted(p["annotations"]))
            # Both align evaluations to the same grid (the group's hash
            # offset), so activeAt differs by whole intervals at most.
            vt, pt = v["activeAt"], p["activeAt"]
            self.assertEqual(vt.split(".")[1] if "." in vt else "",
                             pt.split(".")[1] if "." in pt else "", (vt, pt))
        _, _, vb = self.vigil.get("/api/v1/rules")
        _, _, pb = self.prom.get("/api/v1/rules")
        vr = normalise_rules(json.loads(vb), rendered)
        pr = normalise_rules(json.loads(pb), rendered)
        if not rendered:
            for doc in (vr, pr):
                for g in doc["data"]["groups"]:
                    for r in g["rules"]:
                        for a in r.get("alerts") or []:
                            a["annotations"] = sorted(a["annotations"])
        for doc in (vr, pr):
            for g in doc["data"]["groups"]:
                for r in g["rules"]:
                    if r.get("alerts"):
                        r["alerts"].sort(key=key)
        self.assertEqual(vr, pr)
        # Filters (rule_name[], rule_group[] and file[] are newer than 2.42,
        # so vigil's answers are checked against what 3.x gives).
        all_rules = [r["name"] for r in pr["data"]["groups"][0]["rules"]]
        for q, want in (("?type=alert", [all_rules]), ("?type=record", []),
                        ("?rule_name[]=DatabaseDown", [["DatabaseDown"]]),
                        ("?rule_group[]=todo-app-alerts&rule_name[]=HighCPUUsage",
                         [["HighCPUUsage"]]),
                        ("?file[]=/nonexistent", []),
                        ("?match[]={severity=\"critical\"}", [["HighErrorRate", "DatabaseDown"]])):
            _, _, vb = self.vigil.get("/api/v1/rules" + q.replace("{", "%7B").replace(
                "}", "%7D").replace('"', "%22"))
            vg = json.loads(vb)["data"]["groups"]
            self.assertEqual([[r["name"] for r in g["rules"]] for g in vg], want, q)
        status, _, body = self.vigil.get("/api/v1/rules?type=bad")
        pstatus, _, pbody = self.prom.get("/api/v1/rules?type=bad")
        self.assertEqual((status, json.loads(body)), (pstatus, json.loads(pbody)))

    def test_recorded_series_and_alerts_series(self):
        self.feed()
        time.sleep(4)
        for expr in ('ALERTS{alertname="DatabaseDown"}', 'ALERTS_FOR_STATE{alertname="DatabaseDown"}'):
            deadline = time.time() + 20
            while time.time() < deadline:
                v = json.loads(self.vigil.get("/api/v1/query?query=" + expr)[2])["data"]["result"]
                if v:
                    break
                time.sleep(0.5)
            p = self.prom.query(expr)
            self.assertEqual([x["metric"] for x in v], [x["metric"] for x in p], expr)


class Receiver:
    """A stand-in Alertmanager that records the bodies POSTed to
    /api/v2/alerts (listen backlog 1024, see REFERENCE-STACK.md)."""

    def __init__(self):
        import http.server
        import threading
        received = self.received = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                received.append((self.path, self.headers.get("Content-Type"), json.loads(body)))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *a):
                pass

        class Server(http.server.ThreadingHTTPServer):
            request_queue_size = 1024

        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class Notifier(unittest.TestCase):
    """Alerts reach Alertmanager's API v2 with Prometheus's payload."""

    def test_payload_like_prometheus(self):
        recv_v, recv_p = Receiver(), Receiver()
        rules = tempfile.mkdtemp(prefix="vigil-rules-")
        rule_file = os.path.join(rules, "r.yml")
        with open(rule_file, "w") as f:
            f.write("groups:\n- name: n\n  rules:\n  - alert: Fire\n    expr: vector(2) > 1\n"
                    "    labels: {severity: page, team: '{{ $value }}'}\n"
                    "    annotations: {summary: 'value {{ $value }} <&>'}\n")
        cfg = ("global:\n  evaluation_interval: 1s\n  external_labels: {site: eu1, team: x}\n"
               "rule_files: [%s]\nalerting:\n  alert_relabel_configs:\n"
               "  - {source_labels: [severity], regex: none, action: drop}\n"
               "  alertmanagers:\n  - path_prefix: /am\n    static_configs:\n"
               "    - targets: ['127.0.0.1:%%d']\n" % rule_file)
        # A short resend delay: Prometheus may drop its first send after
        # start-up and resend only after the delay (REFERENCE-STACK.md).
        args = ["--web.external-url=http://vigil.example:9090/", "--rules.alert.resend-delay=2s"]
        v = harness.Vigil(cfg % recv_v.port, args=args)
        p = harness.Prometheus(cfg % recv_p.port, args=args) if HAVE_PROMETHEUS else None
        try:
            deadline = time.time() + 40
            while time.time() < deadline and not (recv_v.received and (
                    p is None or recv_p.received)):
                time.sleep(0.2)
            self.assertTrue(recv_v.received, v.logs())
            path, ctype, body = recv_v.received[0]
            self.assertEqual(path, "/am/api/v2/alerts")
            self.assertEqual(ctype, "application/json")
            self.assertEqual(len(body), 1)
            a = body[0]
            self.assertEqual(list(a), ["annotations", "endsAt", "startsAt", "generatorURL",
                                       "labels"])
            self.assertEqual(a["labels"], {"alertname": "Fire", "severity": "page",
                                           "team": "2", "site": "eu1"})
            self.assertEqual(a["annotations"], {"summary": "value 2 <&>"})
            self.assertEqual(a["generatorURL"],
                             "http://vigil.example:9090/graph?g0.expr=vector%282%29+%3E+1&g0.tab=1")
            self.assertTrue(TIME_RE.match(a["startsAt"]) and TIME_RE.match(a["endsAt"]))
            # endsAt = startsAt + 4 x max(interval, resend delay) = 8 s.
            def secs(t):
                import datetime
                return datetime.datetime.strptime(t[:19], "%Y-%m-%dT%H:%M:%S").timestamp()
            self.assertEqual(secs(a["endsAt"]) - secs(a["startsAt"]), 8)
            if p is not None:
                pa = recv_p.received[0][2][0]
                self.assertEqual(list(a), list(pa))
                self.assertEqual(a["labels"], pa["labels"])
                self.assertEqual(a["annotations"], pa["annotations"])
                self.assertEqual(a["generatorURL"], pa["generatorURL"])
                self.assertEqual(recv_p.received[0][0], path)
                # Both evaluate on the same grid, so the times agree to the ms
                # when both fired in the same slot (or differ by whole seconds).
                self.assertEqual(a["startsAt"][19:], pa["startsAt"][19:])
            _, _, body = v.get("/api/v1/alertmanagers")
            self.assertEqual(json.loads(body)["data"]["activeAlertmanagers"],
                             [{"url": "http://127.0.0.1:%d/am/api/v2/alerts" % recv_v.port}])
        finally:
            v.cleanup()
            if p is not None:
                p.cleanup()
            recv_v.close()
            recv_p.close()
            shutil.rmtree(rules, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
