"""vigil's built-in Alertmanager beside the real one (Debian's 0.25): the same
timed stream of alerts and silences goes to both at the same time, each with
its own webhook receivers, and the notifications must agree: the same
messages per receiver, in the same order per group, at the same times within
a tolerance. The expectations are also written out against the real
Alertmanager, so the scenario is known to be right before vigil is compared.

Without the real Alertmanager the file is skipped; without vigil's
--alertmanager.config.file flag the vigil halves are skipped.
AMTEST_DUMP=1 prints each target's notification timeline."""

import os
import shutil
import time
import unittest

import amharness as ah
from harness import Prometheus

HAVE_PROMETHEUS = shutil.which("prometheus") is not None
VIGIL_OK, VIGIL_WHY = ah.vigil_am_support()
DUMP = bool(os.environ.get("AMTEST_DUMP"))

# How far a real Alertmanager notification may be from the time written in
# the expectations (it is usually within 20 ms), and how far vigil's may be
# from the real one's.
TOL_EXPECTED = 0.6
TOL_VIGIL = 1.5


def fingerprint(labels):
    """The Alertmanager's alert fingerprint: FNV-1a 64 over the labels sorted
    by name, each name and value followed by a 0xff byte."""
    h = 0xcbf29ce484222325
    for k in sorted(labels):
        for b in k.encode() + b"\xff" + labels[k].encode() + b"\xff":
            h = ((h ^ b) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return "%016x" % h


def dump(title, records, m0):
    print("\n--- %s" % title)
    for r in sorted(records, key=lambda r: r["t"]):
        b = r["body"]
        al = ["%s:%s" % (a["labels"].get("instance"), a["status"]) for a in b["alerts"]]
        print("%6.2f %-9s %3d %-8s %s trunc=%s %s" % (
            r["t"] - m0, b["receiver"], r["status"], b["status"], b["groupKey"],
            b["truncatedAlerts"], al))


# ---------------------------------------------------------------------------
# The stream

RECEIVERS = ["default", "team-db", "db-pager", "db-audit", "team-web"]
# db-pager answers 500 to its first notification: the Alertmanager retries.
FAIL_FIRST = {"db-pager": 1}
STREAM_END = 21.0


def a(name, inst, svc, cluster, sev, starts, ends=None, summary=None):
    labels = {"alertname": name, "instance": inst, "service": svc, "severity": sev}
    if cluster:
        labels["cluster"] = cluster
    return ah.alert(labels, {"summary": summary or "%s on %s" % (name, inst)}, starts, ends,
                    "http://prometheus.example/graph?g0.expr=" + name)


def web(inst, T, ends=None):
    svc = "frontend" if inst == "web3" else "web"
    return a("HighLatency", inst, svc, "c3", "warning", T + (6 if inst == "web4" else 0), ends)


class Stream:
    """One target's run of the scenario; everything is keyed to a shared
    start (T wall clock for timestamps, m0 monotonic for timing) so two
    targets run in step."""

    def __init__(self, target_cls):
        self.receivers = {n: ah.WebhookReceiver(n, FAIL_FIRST.get(n, 0)) for n in RECEIVERS}
        self.target = target_cls()
        config = ah.render_config("side_by_side.yml", self.receivers, self.target.dir)
        ah.start_or_clean(self.target, config, self.receivers.values())

    def at(self, s):
        d = self.m0 + s - time.monotonic()
        if d > 0:
            time.sleep(d)

    def run(self, T, m0):
        self.T, self.m0 = T, m0
        url = self.target.url
        muted = ah.create_silence(url, [ah.matcher("alertname", "Muted")], T - 60, T + 3600,
                                  comment="mutes Muted until expired at 14s")
        ah.post_alerts(url, [
            a("DiskFull", "db1", "db", "c1", "warning", T),
            a("DiskFull", "db2", "db", "c1", "warning", T),
            a("DiskFull", "db3", "db", "c2", "warning", T),
            web("web1", T), web("web2", T), web("web3", T),
            a("Muted", "x1", "misc", None, "info", T),
            # Started an hour ago: a new group holding it flushes at once.
            a("Other", "x2", "misc", None, "info", T - 3600),
            # Already resolved when first seen: never notified.
            a("Gone", "x3", "misc", None, "info", T - 10, T - 5),
        ])
        self.at(2.0)  # an annotation changes: no notification of its own
        ah.post_alerts(url, [a("DiskFull", "db1", "db", "c1", "warning", T,
                               summary="db1 is 99% full")])
        self.at(4.0)  # inhibits the c1 warnings
        ah.post_alerts(url, [a("DBDown", "dbm", "db", "c1", "critical", T + 4)])
        self.at(6.0)
        ah.post_alerts(url, [web("web4", T)])
        self.at(8.0)
        ah.post_alerts(url, [a("DiskFull", "db3", "db", "c2", "warning", T, T + 8)])
        self.at(10.0)  # inhibition ends
        ah.post_alerts(url, [a("DBDown", "dbm", "db", "c1", "critical", T + 4, T + 10)])
        self.at(12.0)
        ah.post_alerts(url, [web(w, T, T + 12) for w in ("web1", "web2", "web3", "web4")])
        self.at(14.0)
        status, _, body = ah.http("DELETE", url + "/api/v2/silence/" + muted)
        if status != 200:
            raise RuntimeError("DELETE silence: %d %s" % (status, body[:300]))
        self.silence_other = ah.create_silence(url, [ah.matcher("alertname", "Other")],
                                               T + 14, T + 3600, comment="silences Other")
        self.at(STREAM_END)
        self.records = []
        for r in self.receivers.values():
            self.records.extend(r.received(ok_only=False))
        self.records.sort(key=lambda r: r["t"])
        self.alerts_api = ah.get_alerts(url)
        self.silences_api = ah.get_silences(url)
        return self

    def ok(self):
        return [r for r in self.records if r["status"] == 200]

    def close(self):
        for r in self.receivers.values():
            r.close()
        self.target.cleanup()


# What the real Alertmanager 0.25 sends for the stream: (seconds after the
# start, receiver, status, group labels, [(instance, alert status)], number of
# alerts left out by max_alerts). Groups tick at 1, 3, 5, ... (group_wait 1s,
# group_interval 2s from the first post), DBDown's groups at 5, 7, ...
GK_DB = '{}/{service="db"}'
GK_WEB = '{}/{service=~"^(?:web|frontend)$"}'


def audit_labels(name, inst, cluster, sev):
    return {"alertname": name, "cluster": cluster, "instance": inst, "service": "db",
            "severity": sev}


EXPECTED = [
    # startsAt an hour ago: flushed at once, then repeated every 8 s (the
    # first group_interval tick after repeat_interval 7 s) until silenced.
    (0.0, "default", "firing", {"alertname": "Other"}, [("x2", "firing")], 0),
    (8.0, "default", "firing", {"alertname": "Other"}, [("x2", "firing")], 0),
    (1.0, "team-db", "firing", {"alertname": "DiskFull", "cluster": "c1"},
     [("db1", "firing"), ("db2", "firing")], 0),
    (1.0, "team-db", "firing", {"alertname": "DiskFull", "cluster": "c2"}, [("db3", "firing")], 0),
    (1.0, "db-audit", "firing", audit_labels("DiskFull", "db1", "c1", "warning"),
     [("db1", "firing")], 0),
    (1.0, "db-audit", "firing", audit_labels("DiskFull", "db2", "c1", "warning"),
     [("db2", "firing")], 0),
    (1.0, "db-audit", "firing", audit_labels("DiskFull", "db3", "c2", "warning"),
     [("db3", "firing")], 0),
    # max_alerts 2: the first two by instance, and how many were left out.
    (1.0, "team-web", "firing", {"alertname": "HighLatency", "cluster": "c3",
                                 "severity": "warning"}, [("web1", "firing"), ("web2", "firing")], 1),
    (5.0, "db-audit", "firing", audit_labels("DBDown", "dbm", "c1", "critical"),
     [("dbm", "firing")], 0),
    # db-pager answered 500 once at 5.0; the retry comes 0.25-0.75 s later.
    (5.5, "db-pager", "firing", {"alertname": "DBDown", "cluster": "c1"}, [("dbm", "firing")], 0),
    (7.0, "team-web", "firing", {"alertname": "HighLatency", "cluster": "c3",
                                 "severity": "warning"}, [("web1", "firing"), ("web2", "firing")], 2),
    # db3 resolved at 8: team-db says so; db-audit (send_resolved false) does not.
    (9.0, "team-db", "resolved", {"alertname": "DiskFull", "cluster": "c2"},
     [("db3", "resolved")], 0),
    (11.0, "db-pager", "resolved", {"alertname": "DBDown", "cluster": "c1"},
     [("dbm", "resolved")], 0),
    # DBDown inhibited the c1 warnings from 5 to 9 (nothing sent); at 11 the
    # inhibition is over and repeat_interval has passed since 1: repeated,
    # with db1's new annotation, then again 8 s later.
    (11.0, "team-db", "firing", {"alertname": "DiskFull", "cluster": "c1"},
     [("db1", "firing"), ("db2", "firing")], 0),
    (11.0, "db-audit", "firing", audit_labels("DiskFull", "db1", "c1", "warning"),
     [("db1", "firing")], 0),
    (11.0, "db-audit", "firing", audit_labels("DiskFull", "db2", "c1", "warning"),
     [("db2", "firing")], 0),
    (13.0, "team-web", "resolved", {"alertname": "HighLatency", "cluster": "c3",
                                    "severity": "warning"},
     [("web1", "resolved"), ("web2", "resolved")], 2),
    # The silence on Muted expired at 14: its group's next tick sends it.
    (15.0, "default", "firing", {"alertname": "Muted"}, [("x1", "firing")], 0),
    (19.0, "team-db", "firing", {"alertname": "DiskFull", "cluster": "c1"},
     [("db1", "firing"), ("db2", "firing")], 0),
    (19.0, "db-audit", "firing", audit_labels("DiskFull", "db1", "c1", "warning"),
     [("db1", "firing")], 0),
    (19.0, "db-audit", "firing", audit_labels("DiskFull", "db2", "c1", "warning"),
     [("db2", "firing")], 0),
]


class SideBySideTest(ah.TargetRuns, unittest.TestCase):
    """The stream runs once against each available target in setUpClass (in
    parallel); the tests judge what was recorded."""

    @classmethod
    def setUpClass(cls):
        if not ah.HAVE_AM:
            raise unittest.SkipTest("prometheus-alertmanager is not installed")
        cls.runs, cls.errors = ah.run_targets(Stream)
        if DUMP:
            for s in cls.runs.values():
                dump(s.target.name, s.records, s.m0)

    # -- expectations, checked on each target -------------------------------

    def check_expected(self, name):
        run = self.run_of(name)
        got = run.ok()
        lines = []
        for r in got:
            b = r["body"]
            lines.append((r["t"] - run.m0, b["receiver"], b["status"], b["groupLabels"],
                          [(x["labels"]["instance"], x["status"]) for x in b["alerts"]],
                          b["truncatedAlerts"]))
        unmatched = list(lines)
        missing = []
        for e in EXPECTED:
            for g in unmatched:
                if g[1:] == e[1:] and abs(g[0] - e[0]) <= TOL_EXPECTED:
                    unmatched.remove(g)
                    break
            else:
                missing.append(e)
        self.assertEqual((missing, unmatched), ([], []),
                         "%s: expected notifications missing / unexpected ones" % name)

    def check_messages(self, name):
        """The full content of the messages, beyond the timeline."""
        run = self.run_of(name)
        T = run.T
        for r in run.ok():
            b = r["body"]
            self.assertEqual(r["path"], "/" + b["receiver"])
            self.assertEqual(b["version"], "4")
            self.assertIn("externalURL", b)
            for x in b["alerts"]:
                self.assertEqual(x["fingerprint"], fingerprint(x["labels"]))
                self.assertTrue(x["generatorURL"].startswith("http://prometheus.example/"))
                if x["status"] == "firing":
                    # A firing alert's end is not shown.
                    self.assertEqual(x["endsAt"], "0001-01-01T00:00:00Z")
            # commonLabels/commonAnnotations: the pairs every alert sent
            # shares (after max_alerts cut the list); the group key is the route's key and the group labels.
            labels = [x["labels"] for x in b["alerts"]]
            common = {k: v for k, v in labels[0].items() if all(l.get(k) == v for l in labels)}
            self.assertEqual(b["commonLabels"], common)
            gl = ", ".join('%s="%s"' % kv for kv in sorted(b["groupLabels"].items()))
            self.assertTrue(b["groupKey"].endswith(":{" + gl + "}"), b["groupKey"])
            status = "firing" if any(x["status"] == "firing" for x in b["alerts"]) else "resolved"
            self.assertEqual(b["status"], status)
        msgs = [r["body"] for r in run.ok()]

        def find(receiver, t_lo, t_hi, **labels):
            out = [r["body"] for r in run.ok()
                   if r["body"]["receiver"] == receiver and t_lo <= r["t"] - run.m0 <= t_hi
                   and all(r["body"]["groupLabels"].get(k) == v for k, v in labels.items())]
            self.assertEqual(len(out), 1, (receiver, t_lo, t_hi, labels))
            return out[0]

        first = find("team-db", 0.5, 1.5, cluster="c1")
        self.assertEqual(first["groupKey"], GK_DB + ':{alertname="DiskFull", cluster="c1"}')
        self.assertEqual(first["commonLabels"], {"alertname": "DiskFull", "cluster": "c1",
                                                 "service": "db", "severity": "warning"})
        self.assertEqual(first["commonAnnotations"], {})
        self.assertEqual(first["alerts"][0]["annotations"], {"summary": "DiskFull on db1"})
        # Times come back as Go prints them: 12:00:00.5Z, not 12:00:00.500Z.
        self.assertEqual(first["alerts"][0]["startsAt"], ah.go_time(T))
        # The repeat after the inhibition carries the annotation posted at 2.
        again = find("team-db", 10.5, 11.5, cluster="c1")
        self.assertEqual(again["alerts"][0]["annotations"], {"summary": "db1 is 99% full"})
        self.assertEqual(again["alerts"][1]["annotations"], {"summary": "DiskFull on db2"})
        pager = find("db-pager", 4.5, 6.0)
        self.assertEqual(pager["groupKey"],
                         GK_DB + '/{severity="critical"}:{alertname="DBDown", cluster="c1"}')
        self.assertEqual(pager["commonAnnotations"], {"summary": "DBDown on dbm"})
        resolved = find("db-pager", 10.5, 11.5)
        self.assertEqual(resolved["alerts"][0]["endsAt"], ah.go_time(T + 10))
        self.assertEqual(resolved["alerts"][0]["startsAt"], ah.go_time(T + 4))
        webmsg = find("team-web", 6.5, 7.5)
        self.assertEqual(webmsg["groupKey"], GK_WEB +
                         ':{alertname="HighLatency", cluster="c3", severity="warning"}')
        # commonLabels over the two alerts sent, not all four (service
        # differs on web3, which max_alerts left out).
        self.assertEqual(webmsg["commonLabels"], {"alertname": "HighLatency", "cluster": "c3",
                                                  "service": "web", "severity": "warning"})
        self.assertEqual(webmsg["commonAnnotations"], {})
        audit = find("db-audit", 4.5, 5.5)
        self.assertEqual(audit["groupKey"], GK_DB + ":{" + ", ".join(
            '%s="%s"' % kv for kv in sorted(audit_labels("DBDown", "dbm", "c1", "critical").items()))
            + "}")
        # Gone (resolved on arrival) and Muted-while-silenced never went out.
        names = {x["labels"]["alertname"] for m in msgs for x in m["alerts"]}
        self.assertNotIn("Gone", names)

    def check_retry(self, name):
        """db-pager's first attempt was answered 500 and retried."""
        run = self.run_of(name)
        pager = [r for r in run.records if r["body"]["receiver"] == "db-pager"]
        self.assertEqual([r["status"] for r in pager], [500, 200, 200])
        self.assertEqual(ah.normalise(pager[0]["body"]), ah.normalise(pager[1]["body"]))
        delay = pager[1]["t"] - pager[0]["t"]
        self.assertLess(delay, 1.2, "retry came %.2fs after the failure" % delay)

    def check_api(self, name):
        run = self.run_of(name)
        # GET /api/v2/alerts at the end: the still-firing alerts with their
        # state; resolved ones are not listed.
        state = {x["labels"]["alertname"] + "/" + x["labels"]["instance"]:
                 (x["status"]["state"], sorted(x["status"]["silencedBy"]),
                  sorted(x["status"]["inhibitedBy"])) for x in run.alerts_api}
        self.assertEqual(state, {
            "DiskFull/db1": ("active", [], []),
            "DiskFull/db2": ("active", [], []),
            "Muted/x1": ("active", [], []),
            "Other/x2": ("suppressed", [run.silence_other], []),
        })
        # The API prints times with exactly three decimals (unlike the
        # webhook); an alert posted without endsAt ends resolve_timeout (5m)
        # after it was last received.
        (other,) = [x for x in run.alerts_api if x["labels"]["alertname"] == "Other"]
        self.assertEqual(other["startsAt"], ah.rfc3339(run.T - 3600))
        self.assertRegex(other["updatedAt"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
        self.assertAlmostEqual(ah.parse_rfc3339(other["endsAt"]) -
                               ah.parse_rfc3339(other["updatedAt"]), 300.0, delta=0.002)
        self.assertEqual(other["fingerprint"], fingerprint(other["labels"]))
        self.assertEqual(other["receivers"], [{"name": "default"}])
        self.assertEqual(other["annotations"], {"summary": "Other on x2"})
        self.assertEqual(other["generatorURL"], "http://prometheus.example/graph?g0.expr=Other")
        by_state = sorted((s["status"]["state"], s["matchers"][0]["value"]) for s in run.silences_api)
        self.assertEqual(by_state, [("active", "Other"), ("expired", "Muted")])

    def test_alertmanager_timeline(self):
        self.check_expected("alertmanager")

    def test_alertmanager_messages(self):
        self.check_messages("alertmanager")

    def test_alertmanager_retry(self):
        self.check_retry("alertmanager")

    def test_alertmanager_api_state(self):
        self.check_api("alertmanager")

    @unittest.skipUnless(VIGIL_OK, VIGIL_WHY)
    def test_vigil_timeline(self):
        self.check_expected("vigil")

    @unittest.skipUnless(VIGIL_OK, VIGIL_WHY)
    def test_vigil_messages(self):
        self.check_messages("vigil")

    @unittest.skipUnless(VIGIL_OK, VIGIL_WHY)
    def test_vigil_retry(self):
        self.check_retry("vigil")

    @unittest.skipUnless(VIGIL_OK, VIGIL_WHY)
    def test_vigil_api_state(self):
        self.check_api("vigil")

    @unittest.skipUnless(VIGIL_OK, VIGIL_WHY)
    def test_vigil_same_as_alertmanager(self):
        real, vig = self.run_of("alertmanager"), self.run_of("vigil")
        g_real = ah.by_group(real.ok(), real.m0)
        g_vig = ah.by_group(vig.ok(), vig.m0)
        # Per receiver, the same multiset of messages.
        for recv in RECEIVERS:
            mr = sorted(ah.canonical(m) for (r, _), l in g_real.items() if r == recv for _, m in l)
            mv = sorted(ah.canonical(m) for (r, _), l in g_vig.items() if r == recv for _, m in l)
            self.assertEqual(mv, mr, "receiver %s got different messages" % recv)
        # Per group, the same messages in the same order at about the same times.
        self.assertEqual(sorted(g_vig), sorted(g_real))
        for key in g_real:
            self.assertEqual([m for _, m in g_vig[key]], [m for _, m in g_real[key]],
                             "order in group %s" % (key,))
            for (tv, _), (tr, _) in zip(g_vig[key], g_real[key]):
                self.assertLess(abs(tv - tr), TOL_VIGIL,
                                "group %s: vigil at %.2fs, Alertmanager at %.2fs" % (key, tv, tr))


# ---------------------------------------------------------------------------
# Restart: notification log and silences survive a restart.

RESTART_RECEIVER = "pager"


class RestartRun:
    """A group fires and notifies; the target restarts at 3 s (SIGTERM, same
    storage) in the middle of repeat_interval (10 s); the alerts are posted
    again as Prometheus would (same startsAt) together with one a silence
    made before the restart should mute."""

    def __init__(self, target_cls):
        self.recv = ah.WebhookReceiver(RESTART_RECEIVER)
        self.target = target_cls()
        config = ah.render_config("restart.yml", {RESTART_RECEIVER: self.recv}, self.target.dir)
        ah.start_or_clean(self.target, config, [self.recv])

    def run(self, T, m0):
        self.T, self.m0 = T, m0
        url = self.target.url
        self.silence = ah.create_silence(url, [ah.matcher("alertname", "Quiet")], T - 1, T + 3600)
        loud = [a("Loud", "h1", "app", "c1", "critical", T, T + 3600),
                a("Loud", "h2", "app", "c1", "critical", T, T + 3600)]
        ah.post_alerts(url, loud)
        self.recv.wait_for(1, timeout=3)
        self.sleep_until(3.0)
        self.stop_status = self.target.stop()
        self.target.start()
        self.restarted_at = time.monotonic() - m0
        # After the restart the alerts are only known from the re-post.
        ah.post_alerts(url, loud + [a("Quiet", "h3", "app", "c1", "critical", T, T + 3600)])
        self.sleep_until(13.5)
        self.records = self.recv.received()
        self.silences_after = ah.get_silences(url)
        return self

    def sleep_until(self, s):
        d = self.m0 + s - time.monotonic()
        if d > 0:
            time.sleep(d)

    def close(self):
        self.recv.close()
        self.target.cleanup()


class RestartTest(ah.TargetRuns, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not ah.HAVE_AM:
            raise unittest.SkipTest("prometheus-alertmanager is not installed")
        cls.runs, cls.errors = ah.run_targets(RestartRun)
        if DUMP:
            for r in cls.runs.values():
                dump("%s restart (restarted at %.2f)" % (r.target.name, r.restarted_at),
                     r.records, r.m0)

    def check(self, name):
        run = self.run_of(name)
        self.assertEqual(run.stop_status, 0, "exit status after SIGTERM")
        times = [r["t"] - run.m0 for r in run.records]
        for r in run.records:
            self.assertEqual([x["labels"]["instance"] for x in r["body"]["alerts"]], ["h1", "h2"])
        # Notified once at group_wait; no duplicate after the restart before
        # repeat_interval (10 s) has passed; the repeat comes at the first
        # group_interval tick of the new group after it.
        self.assertEqual(len(times), 2, "notifications at %s" % times)
        self.assertAlmostEqual(times[0], 1.0, delta=TOL_EXPECTED)
        self.assertGreaterEqual(times[1], times[0] + 10.0)
        self.assertLess(times[1], times[0] + 12.0)
        # The silence made before the restart is still there and muted Quiet.
        self.assertEqual([(s["id"], s["status"]["state"]) for s in run.silences_after],
                         [(run.silence, "active")])

    def test_alertmanager(self):
        self.check("alertmanager")

    @unittest.skipUnless(VIGIL_OK, VIGIL_WHY)
    def test_vigil(self):
        self.check("vigil")

    @unittest.skipUnless(VIGIL_OK, VIGIL_WHY)
    def test_vigil_same_as_alertmanager(self):
        real, vig = self.run_of("alertmanager"), self.run_of("vigil")
        self.assertEqual([ah.normalise(r["body"]) for r in vig.records],
                         [ah.normalise(r["body"]) for r in real.records])


# ---------------------------------------------------------------------------
# A real Prometheus delivers its alerts to the target.

PROM_RULES = """
groups:
  - name: always
    interval: 1s
    rules:
      - alert: AlwaysFiring
        expr: vector(1)
        for: 0s
        labels:
          severity: critical
        annotations:
          summary: "fires from the first evaluation"
"""


class PrometheusRun:
    def __init__(self, target_cls):
        self.recv = ah.WebhookReceiver("prom")
        self.prom = None
        self.target = target_cls()
        config = ah.render_config("prometheus_delivery.yml", {"prom": self.recv}, self.target.dir)
        ah.start_or_clean(self.target, config, [self.recv])

    def run(self, T, m0):
        rules = os.path.join(self.target.dir, "rules.yml")
        with open(rules, "w") as f:
            f.write(PROM_RULES)
        # resend-delay 1s: the first send after start-up can go before the
        # notifier knows the Alertmanager; the default would retry after 1m.
        self.prom = Prometheus(
            "global:\n  evaluation_interval: 1s\n"
            "rule_files: ['%s']\n"
            "alerting:\n  alertmanagers:\n    - static_configs:\n"
            "        - targets: ['127.0.0.1:%d']\n" % (rules, self.target.port),
            args=["--rules.alert.resend-delay=1s"])
        self.records = self.recv.wait_for(1, timeout=30)
        self.took = time.monotonic() - m0
        self.alerts = ah.get_alerts(self.target.url)

    def close(self):
        if self.prom is not None:
            self.prom.cleanup()
        self.recv.close()
        self.target.cleanup()


class PrometheusDeliveryTest(ah.TargetRuns, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not ah.HAVE_AM or not HAVE_PROMETHEUS:
            raise unittest.SkipTest("needs prometheus-alertmanager and prometheus")
        cls.runs, cls.errors = ah.run_targets(PrometheusRun)
        if DUMP:
            for r in cls.runs.values():
                dump("%s from Prometheus (%.2fs to the first notification)" % (
                    r.target.name, r.took), r.records, r.records[0]["t"] if r.records else 0)

    def check(self, name):
        run = self.run_of(name)
        self.assertTrue(run.records, "no notification within 30s")
        m = run.records[0]["body"]
        self.assertEqual(m["receiver"], "prom")
        self.assertEqual(m["status"], "firing")
        self.assertEqual(m["groupKey"], '{}:{alertname="AlwaysFiring"}')
        x = m["alerts"][0]
        self.assertEqual(x["labels"], {"alertname": "AlwaysFiring", "severity": "critical"})
        self.assertEqual(x["annotations"], {"summary": "fires from the first evaluation"})
        self.assertIn("/graph?g0.expr=vector%281%29", x["generatorURL"])
        self.assertEqual(x["endsAt"], "0001-01-01T00:00:00Z")
        self.assertLess(abs(ah.parse_rfc3339(x["startsAt"]) - time.time()), 60)
        # The API shows the alert with the end Prometheus gave it (now plus
        # four times the larger of resend delay and evaluation interval).
        (api,) = run.alerts
        ends = ah.parse_rfc3339(api["endsAt"]) - ah.parse_rfc3339(api["updatedAt"])
        self.assertGreater(ends, 1.0)
        self.assertLess(ends, 10.0)

    def test_alertmanager(self):
        self.check("alertmanager")

    @unittest.skipUnless(VIGIL_OK, VIGIL_WHY)
    def test_vigil(self):
        self.check("vigil")


if __name__ == "__main__":
    unittest.main()
