"""amtool (Debian's 0.25) driving the Alertmanager API v2: the same script of
amtool commands runs against the real Alertmanager and, when vigil has its
built-in Alertmanager, against vigil; each command's exit status and output
must be the same once silence ids, times, ports and temporary paths are
replaced by placeholders. The real Alertmanager's outputs are also checked
against what they should say, so the script is known to be right.

AMTEST_DUMP=1 prints the normalised transcript."""

import json
import os
import re
import subprocess
import unittest

import amharness as ah

VIGIL_OK, VIGIL_WHY = ah.vigil_am_support()
DUMP = bool(os.environ.get("AMTEST_DUMP"))

FIXED_START = "2024-01-01T00:00:00Z"
VERSION_WARNING = re.compile(
    r"^Warning: amtool version \(.*?\) and alertmanager version \(.*?\) are different\.\n",
    re.M)


class Transcript:
    """One target driven by the amtool script: steps[name] = (status,
    stdout, stderr) with placeholders in place of what varies."""

    def __init__(self, target_cls):
        self.hook = ah.WebhookReceiver("hook")
        self.target = target_cls()
        self.config = ah.render_config("amtool.yml", {"hook": self.hook}, self.target.dir)
        ah.start_or_clean(self.target, self.config, [self.hook])
        self.steps = {}
        self.order = []
        self.ids = {}
        self.version_warnings = 0

    def amtool(self, step, *args, url=True):
        cmd = [ah.AMTOOL_BIN]
        if url:
            cmd.append("--alertmanager.url=" + self.target.url)
        p = subprocess.run(cmd + list(args), capture_output=True, timeout=30)
        out, err = p.stdout.decode(), p.stderr.decode()
        self.steps[step] = (p.returncode, self.normalise(out), self.normalise(err))
        self.order.append(step)
        self.raw_last = out
        return out

    def normalise(self, text):
        # amtool warns on every command when the server's versionInfo is
        # not its own; vigil reports its own version, which is fair, so the
        # warning is counted (self.version_warnings) and left out.
        text, n = VERSION_WARNING.subn("", text)
        self.version_warnings += n
        text = text.replace(self.target.dir, "<dir>")
        text = re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:<port>", text)

        def uuid(m):
            return self.ids.setdefault(m.group(0), "<silence-%d>" % (len(self.ids) + 1))
        text = re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", uuid, text)

        def when(m):
            return m.group(0) if m.group(0).startswith("2024-01-01") else "<time>"
        text = re.sub(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", when, text)
        text = re.sub(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)", when, text)
        return text

    def run(self, T, m0):
        t = self.amtool
        t("add Foo", "alert", "add", "alertname=Foo", "severity=critical", "cluster=c1",
          "--annotation=summary=x")
        t("add Bar", "alert", "add", "alertname=Bar", "severity=warning", "cluster=c1",
          "service=db", "instance=a", "--annotation=summary=y", "--start=" + FIXED_START,
          "--generator-url=http://gen.example/bar")
        t("add Baz", "alert", "add", "alertname=Baz", "severity=warning", "cluster=c2",
          "team=frontend", "--annotation=summary=z", "--annotation=runbook=http://rb/z")
        t("alert query", "alert", "query")
        t("alert query json", "alert", "query", "-o", "json")
        t("alert query extended", "alert", "query", "-o", "extended")
        t("alert query matcher", "alert", "query", "severity=warning")
        t("alert query regex", "alert", "query", 'alertname=~"Ba.*"')
        t("alert query inhibited", "alert", "query", "-i")
        t("alert query inhibited json", "alert", "query", "-i", "-o", "json")
        t("alert query receiver", "alert", "query", "--receiver=team-web")
        sid = t("silence add", "silence", "add", "alertname=Foo", "-c", "c", "-a", "tester",
                "-d", "1h").strip()
        t("silence add regex", "silence", "add", 'instance=~"a.*"', "severity!=info",
          "-c", "second", "-a", "tester", "--duration=2h")
        t("silence query", "silence", "query")
        t("silence query extended", "silence", "query", "-o", "extended")
        t("silence query filter", "silence", "query", "alertname=Foo")
        exported = t("silence query json", "silence", "query", "-o", "json")
        t("alert query after silence", "alert", "query")
        t("alert query silenced", "alert", "query", "-s")
        t("silence expire", "silence", "expire", sid)
        t("silence query after expire", "silence", "query")
        t("silence query expired", "silence", "query", "--expired")
        path = os.path.join(self.target.dir, "silences.json")
        with open(path, "w") as f:
            f.write(exported)
        t("silence import", "silence", "import", "--worker=1", path)
        t("silence query quiet", "silence", "query", "-q")
        t("config routes", "config", "routes")
        t("config routes test", "config", "routes", "test", "service=db", "severity=critical")
        t("config routes test tree", "config", "routes", "test", "--tree", "service=db",
          "severity=critical")
        t("config routes test file", "config", "routes", "test", "--config.file=" + self.config,
          "team=frontend-2")
        t("config routes test default", "config", "routes", "test", "--config.file=" + self.config,
          "alertname=Other")
        t("check-config", "check-config", self.config, url=False)
        t("config show", "config", "show")
        return self

    def close(self):
        self.hook.close()
        self.target.cleanup()


def table(text):
    """The rows of an amtool table, split on runs of two or more spaces."""
    return [re.split(r"\s{2,}", l.strip()) for l in text.splitlines() if l.strip()]


class AmtoolTest(ah.TargetRuns, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not ah.HAVE_AM or not ah.HAVE_AMTOOL:
            raise unittest.SkipTest("needs prometheus-alertmanager and amtool")
        cls.runs, cls.errors = ah.run_targets(Transcript)
        if DUMP:
            for r in cls.runs.values():
                print("\n=== %s" % r.target.name)
                for s in r.order:
                    status, out, err = r.steps[s]
                    print("--- %s -> %d\n%s%s" % (s, status, out, err))

    def check(self, name):
        steps = self.run_of(name).steps

        def ok(step):
            status, out, err = steps[step]
            self.assertEqual(status, 0, "%s: %s%s" % (step, out, err))
            return out

        for step in ("add Foo", "add Bar", "add Baz", "silence expire"):
            self.assertEqual(ok(step), "", step)
        # Only active alerts unless -s/-i; Bar is inhibited by Foo (critical,
        # same cluster) from the moment Foo is there. The API sorts by
        # fingerprint: Foo (2d12...) before Baz (c1cc...).
        self.assertEqual(table(ok("alert query")), [
            ["Alertname", "Starts At", "Summary", "State"],
            ["Foo", "<time>", "x", "active"],
            ["Baz", "<time>", "z", "active"]])
        alerts = json.loads(ok("alert query json"))
        self.assertEqual([(a["labels"]["alertname"], a["fingerprint"],
                           [r["name"] for r in a["receivers"]], a["status"]) for a in alerts],
                         [("Foo", "2d124ecf5518edd8", ["default"],
                           {"inhibitedBy": [], "silencedBy": [], "state": "active"}),
                          ("Baz", "c1cc37570f46334e", ["team-web"],
                           {"inhibitedBy": [], "silencedBy": [], "state": "active"})])
        self.assertEqual(alerts[1]["annotations"], {"runbook": "http://rb/z", "summary": "z"})
        self.assertEqual(alerts[1]["endsAt"], "<time>")
        (bar,) = json.loads(ok("alert query inhibited json"))
        self.assertEqual(bar["labels"], {"alertname": "Bar", "cluster": "c1", "instance": "a",
                                         "service": "db", "severity": "warning"})
        self.assertEqual(bar["startsAt"], "2024-01-01T00:00:00.000Z")
        self.assertEqual(bar["generatorURL"], "http://gen.example/bar")
        self.assertEqual(bar["annotations"], {"summary": "y"})
        self.assertEqual([r["name"] for r in bar["receivers"]], ["team-db", "db-audit"])
        self.assertEqual(bar["status"], {"inhibitedBy": [alerts[0]["fingerprint"]],
                                         "silencedBy": [], "state": "suppressed"})
        self.assertEqual(table(ok("alert query extended"))[1], [
            'alertname="Foo" cluster="c1" severity="critical"', 'summary="x"', "<time>",
            "<time>", "active"])
        self.assertEqual([r[0] for r in table(ok("alert query matcher"))[1:]], ["Baz"])
        self.assertEqual([r[0] for r in table(ok("alert query regex"))[1:]], ["Baz"])
        self.assertEqual([r[0] for r in table(ok("alert query receiver"))[1:]], ["Baz"])
        # -i alone lists only the inhibited ones.
        self.assertEqual([(r[0], r[-1]) for r in table(ok("alert query inhibited"))[1:]],
                         [("Bar", "suppressed")])
        self.assertRegex(ok("silence add"), r"^<silence-1>\n$")
        self.assertRegex(ok("silence add regex"), r"^<silence-2>\n$")
        rows = table(ok("silence query"))
        self.assertEqual(rows[0], ["ID", "Matchers", "Ends At", "Created By", "Comment"])
        self.assertEqual(sorted(rows[1:]), [
            ["<silence-1>", 'alertname="Foo"', "<time>", "tester", "c"],
            ["<silence-2>", 'instance=~"a.*" severity!="info"', "<time>", "tester", "second"]])
        self.assertEqual(table(ok("silence query filter"))[1:],
                         [["<silence-1>", 'alertname="Foo"', "<time>", "tester", "c"]])
        self.assertEqual(table(ok("silence query extended"))[0],
                         ["ID", "Matchers", "Starts At", "Ends At", "Updated At", "Created By",
                          "Comment"])
        exported = json.loads(ok("silence query json"))
        self.assertEqual(sorted((s["id"], s["status"]["state"], s["createdBy"], s["comment"],
                                 json.dumps(s["matchers"], sort_keys=True)) for s in exported), [
            ("<silence-1>", "active", "tester", "c", json.dumps(
                [{"isEqual": True, "isRegex": False, "name": "alertname", "value": "Foo"}],
                sort_keys=True)),
            ("<silence-2>", "active", "tester", "second", json.dumps(
                [{"isEqual": True, "isRegex": True, "name": "instance", "value": "a.*"},
                 {"isEqual": False, "isRegex": False, "name": "severity", "value": "info"}],
                sort_keys=True))])
        # Foo is silenced; Bar is silenced (instance=a) and inhibited, so -s
        # alone (silenced, not inhibited) shows only Foo.
        self.assertEqual([r[0] for r in table(ok("alert query after silence"))[1:]], ["Baz"])
        self.assertEqual([(r[0], r[-1]) for r in table(ok("alert query silenced"))[1:]],
                         [("Foo", "suppressed")])
        self.assertEqual([r[0] for r in table(ok("silence query after expire"))[1:]],
                         ["<silence-2>"])
        self.assertEqual([r[0] for r in table(ok("silence query expired"))[1:]], ["<silence-1>"])
        # import posts the exported silences with their ids: the active one
        # (unchanged) is updated in place and keeps its id; the expired one
        # cannot be, so it comes back as a new silence.
        self.assertEqual(ok("silence import"), "<silence-3>\n<silence-2>\n")
        # Active silences sorted by end: silence-3 (1h) before silence-2 (2h).
        self.assertEqual(ok("silence query quiet"), "<silence-3>\n<silence-2>\n")
        # The tree's vertical bar is followed by two no-break spaces (U+00A0);
        # match_re shows as the anchored regex it is compiled to.
        self.assertEqual(ok("config routes"), """Routing tree:
.
\u2514\u2500\u2500 default-route  receiver: default
    \u251c\u2500\u2500 {service=~"db|cache"}  continue: true  receiver: team-db
    \u2502\u00a0\u00a0 \u2514\u2500\u2500 {severity="critical"}  receiver: db-pager
    \u251c\u2500\u2500 {service="db"}  receiver: db-audit
    \u2514\u2500\u2500 {team=~"^(?:front.*)$"}  receiver: team-web

""")
        self.assertEqual(ok("config routes test"), "db-pager,db-audit\n")
        self.assertIn("db-pager", ok("config routes test tree"))
        self.assertEqual(ok("config routes test file"), "team-web\n")
        self.assertEqual(ok("config routes test default"), "default\n")
        self.assertEqual(ok("check-config"), """Checking '<dir>/amtool.yml'  SUCCESS
Found:
 - global config
 - route
 - 1 inhibit rules
 - 5 receivers
 - 0 templates

""")
        show = ok("config show")
        self.assertIn("receiver: default", show)
        self.assertIn("url: http://127.0.0.1:<port>/hook", show)

    def test_alertmanager(self):
        self.check("alertmanager")

    @unittest.skipUnless(VIGIL_OK, VIGIL_WHY)
    def test_vigil(self):
        self.check("vigil")

    @unittest.skipUnless(VIGIL_OK, VIGIL_WHY)
    def test_vigil_same_output(self):
        real, vig = self.run_of("alertmanager"), self.run_of("vigil")
        for step in real.order:
            if step == "config show":
                continue
            with self.subTest(step=step):
                self.assertEqual(vig.steps[step], real.steps[step])

    @unittest.skipUnless(VIGIL_OK, VIGIL_WHY)
    def test_vigil_config_show(self):
        """config show prints /api/v2/status's config.original, which the
        Alertmanager fills with the configuration marshalled back to YAML,
        defaults included (global smtp_hello, http_config, send_resolved,
        max_alerts...), not the file as written."""
        real, vig = self.run_of("alertmanager"), self.run_of("vigil")
        self.maxDiff = None
        self.assertEqual(vig.steps["config show"], real.steps["config show"])


if __name__ == "__main__":
    unittest.main()
