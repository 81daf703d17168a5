"""The Alertmanager API v2 silence endpoints, side by side: the same
requests go to Debian's prometheus-alertmanager 0.25 and to vigil's built-in
Alertmanager, and the answers (status, Content-Type, body) must be the same
once silence ids and times that depend on the clock are replaced by
placeholders. Then amtool's silence commands against vigil, and silences
surviving kill -9.

AMTEST_DUMP=1 prints both transcripts."""

import json
import os
import re
import signal
import subprocess
import tempfile
import unittest

import amharness as ah
from harness import http

VIGIL_OK, VIGIL_WHY = ah.vigil_am_support()
DUMP = bool(os.environ.get("AMTEST_DUMP"))

CONFIG = """
route:
  receiver: "null"
receivers:
  - name: "null"
"""

JSON = {"Content-Type": "application/json"}
FAR_START, FAR_END = "2098-01-01T00:00:00.000Z", "2099-01-01T00:00:00.000Z"


def silence(matchers, starts="2020-01-01T00:00:00Z", ends=FAR_END, created_by="me",
            comment="maintenance", sid=None):
    s = {"matchers": matchers, "startsAt": starts, "endsAt": ends, "createdBy": created_by,
         "comment": comment}
    if sid is not None:
        s["id"] = sid
    return json.dumps(s)


def m(name, value, is_regex=False, is_equal=None):
    d = {"name": name, "value": value, "isRegex": is_regex}
    if is_equal is not None:
        d["isEqual"] = is_equal
    return d


VALID = m("alertname", "DiskFull")
BASE = '"startsAt":"2020-01-01T00:00:00Z","endsAt":"2099-01-01T00:00:00Z",' \
       '"createdBy":"x","comment":"y"'

# (step name, method, path, body or None, headers). {A}, {B}... are the ids
# the target gave to the silences created by the steps named "create A"...
# Every silence ends at its own time, so that the list order (Go's
# sort.Slice on the end time, ties left in no set order) is known.
# Steps marked with a trailing "~" compare the body up to "error parsing
# regexp:" only (Go's RE2 and PCRE2 word their errors differently).
SCRIPT = [
    ("empty list", "GET", "/api/v2/silences", None, {}),
    ("create A", "POST", "/api/v2/silences", silence([VALID]), JSON),
    ("create B", "POST", "/api/v2/silences",
     silence([m("job", "db.*", True), m("severity", "page", False, False)], FAR_START, FAR_END),
     JSON),
    ("create C", "POST", "/api/v2/silences",
     silence([m("team", "ops"), m("env", "dev|test", True, False)], ends="2099-02-01T00:00:00Z",
             comment='q"uote\n<&>'), JSON),
    ("create D", "POST", "/api/v2/silences",
     silence([m("svc", "\u00e9t\u00e9")], "2097-01-01T00:00:00+02:00",
             "2097-06-01T10:00:00.123456789Z"), JSON),
    ("get A", "GET", "/api/v2/silence/{A}", None, {}),
    ("list", "GET", "/api/v2/silences", None, {}),
    ("filter eq", "GET", "/api/v2/silences?filter=alertname%3DDiskFull", None, {}),
    ("filter quoted", "GET", "/api/v2/silences?filter=alertname%3D%22DiskFull%22", None, {}),
    ("filter regex", "GET", "/api/v2/silences?filter=job%3D~db.*", None, {}),
    ("filter two", "GET", "/api/v2/silences?filter=team%3Dops&filter=env!~dev%7Ctest", None, {}),
    ("filter none", "GET", "/api/v2/silences?filter=job%3Ddb.*", None, {}),
    ("filter bad", "GET", "/api/v2/silences?filter=bad", None, {}),
    ("filter bad name", "GET", "/api/v2/silences?filter=0a%3Db", None, {}),
    # errors of POST
    ("no comment", "POST", "/api/v2/silences",
     '{"matchers":[{"name":"a","value":"b","isRegex":false}],"startsAt":"2026-01-01T00:00:00Z",'
     '"endsAt":"2099-01-01T00:00:00Z","createdBy":"me"}', JSON),
    ("empty object", "POST", "/api/v2/silences", "{}", JSON),
    ("no createdBy", "POST", "/api/v2/silences", '{"comment":"c"}', JSON),
    ("no endsAt", "POST", "/api/v2/silences", '{"comment":"c","createdBy":"x"}', JSON),
    ("no matchers", "POST", "/api/v2/silences",
     '{"comment":"c","createdBy":"x","endsAt":"2099-01-01T00:00:00Z"}', JSON),
    ("zero matchers", "POST", "/api/v2/silences", '{"matchers":[],' + BASE + '}', JSON),
    ("matcher without isRegex", "POST", "/api/v2/silences",
     '{"matchers":[{"name":"a","value":"b"}],' + BASE + '}', JSON),
    ("matcher without name", "POST", "/api/v2/silences",
     '{"matchers":[{"value":"b","isRegex":false}],' + BASE + '}', JSON),
    ("no startsAt", "POST", "/api/v2/silences",
     '{"matchers":[{"name":"a","value":"b","isRegex":false}],"endsAt":"2099-01-01T00:00:00Z",'
     '"createdBy":"x","comment":"y"}', JSON),
    ("matches empty", "POST", "/api/v2/silences", silence([m("alertname", "")]), JSON),
    ("regex matches empty", "POST", "/api/v2/silences",
     silence([m("a", ".*", True), m("b", "")]), JSON),
    ("bad name", "POST", "/api/v2/silences", silence([m("0a", "x")]), JSON),
    ("bad regex~", "POST", "/api/v2/silences", silence([m("a", "(", True)]), JSON),
    ("start after end", "POST", "/api/v2/silences",
     silence([VALID], "2098-01-01T00:00:00Z", "2097-01-01T00:00:00Z"), JSON),
    ("end in past", "POST", "/api/v2/silences",
     silence([VALID], "2020-01-01T00:00:00Z", "2021-01-01T00:00:00Z"), JSON),
    ("unknown id", "POST", "/api/v2/silences",
     silence([VALID], sid="5a1e4d51-0000-4000-8000-000000000000"), JSON),
    ("not json", "POST", "/api/v2/silences", "nonsense", JSON),
    ("truncated", "POST", "/api/v2/silences", '{"a"', JSON),
    ("blank", "POST", "/api/v2/silences", "  ", JSON),
    ("array", "POST", "/api/v2/silences", "[]", JSON),
    ("id number", "POST", "/api/v2/silences",
     '{"id":5,"matchers":[{"name":"a","value":"b","isRegex":false}],' + BASE + '}', JSON),
    ("isRegex string", "POST", "/api/v2/silences",
     '{"matchers":[{"name":"a","value":"b","isRegex":"x"}],' + BASE + '}', JSON),
    ("matchers object", "POST", "/api/v2/silences", '{"matchers":{},' + BASE + '}', JSON),
    ("matcher string", "POST", "/api/v2/silences", '{"matchers":["x"],' + BASE + '}', JSON),
    ("startsAt number", "POST", "/api/v2/silences",
     '{"matchers":[{"name":"a","value":"b","isRegex":false}],"startsAt":5,'
     '"endsAt":"2099-01-01T00:00:00Z","createdBy":"x","comment":"y"}', JSON),
    ("comment number first", "POST", "/api/v2/silences", '{"comment":5, "matchers":5}', JSON),
    ("time error wins", "POST", "/api/v2/silences", '{"matchers":5, "startsAt":"bad"}', JSON),
    ("bad time", "POST", "/api/v2/silences",
     silence([VALID], "2020-01-01T00:00:00Z", "garbage"), JSON),
    ("date only", "POST", "/api/v2/silences", silence([VALID], ends="2099-11-22"), JSON),
    ("month 13", "POST", "/api/v2/silences", silence([VALID], ends="2099-13-22 00:00:00"), JSON),
    ("day 32", "POST", "/api/v2/silences", silence([VALID], ends="2099-11-32 00:00:00"), JSON),
    ("hour 25", "POST", "/api/v2/silences", silence([VALID], ends="2099-11-22 25:00:00"), JSON),
    ("extra text", "POST", "/api/v2/silences", silence([VALID], ends="2099-11-22 00:00:00Z"),
     JSON),
    ("short month", "POST", "/api/v2/silences", silence([VALID], ends="2099-1-22"), JSON),
    ("feb 30", "POST", "/api/v2/silences", silence([VALID], ends="2099-02-30T00:00:00Z"), JSON),
    ("offset without colon", "POST", "/api/v2/silences",
     silence([VALID], ends="2099-11-22T00:00:00+0100"), JSON),
    ("form content type", "POST", "/api/v2/silences", silence([VALID]),
     {"Content-Type": "application/x-www-form-urlencoded"}),
    ("wrong method", "PUT", "/api/v2/silences", None, {}),
    ("trailing garbage ok", "POST", "/api/v2/silences",
     silence([m("trailing", "x")], ends="2099-03-01T00:00:00Z") + " trailing", JSON),
    ("create E sortable time", "POST", "/api/v2/silences",
     silence([m("sortable", "x")], "2098-02-01 10:00:00.5", "2098-03-01T10:00"), JSON),
    # updates
    ("update B in place", "POST", "/api/v2/silences",
     silence([m("job", "db.*", True), m("severity", "page", False, False)],
             "2098-02-01T00:00:00Z", FAR_END, comment="moved", sid="{B}"), JSON),
    ("get B", "GET", "/api/v2/silence/{B}", None, {}),
    ("update A new matchers", "POST", "/api/v2/silences",
     silence([m("alertname", "DiskFull2")], sid="{A}"), JSON),
    ("get A replaced", "GET", "/api/v2/silence/{A}", None, {}),
    # single silence and expiry
    ("delete C", "DELETE", "/api/v2/silence/{C}", None, {}),
    ("get C expired", "GET", "/api/v2/silence/{C}", None, {}),
    ("delete C again", "DELETE", "/api/v2/silence/{C}", None, {}),
    ("delete B pending", "DELETE", "/api/v2/silence/{B}", None, {}),
    ("delete unknown", "DELETE", "/api/v2/silence/2ded1814-a329-4ac9-be22-0a6bd77a8eed", None, {}),
    ("get unknown", "GET", "/api/v2/silence/2ded1814-a329-4ac9-be22-0a6bd77a8eed", None, {}),
    ("get upper-case", "GET", "/api/v2/silence/2DED1814-A329-4AC9-BE22-0A6BD77A8EED", None, {}),
    ("get bad uuid", "GET", "/api/v2/silence/xyz", None, {}),
    ("delete bad uuid", "DELETE", "/api/v2/silence/abc", None, {}),
    ("get trailing slash", "GET", "/api/v2/silence/{D}/", None, {}),
    ("get empty id", "GET", "/api/v2/silence/", None, {}),
    ("get two segments", "GET", "/api/v2/silence/a/b", None, {}),
    ("post on one", "POST", "/api/v2/silence/{D}", None, {}),
    ("update expired C", "POST", "/api/v2/silences",
     silence([m("team", "ops"), m("env", "dev|test", True, False)], ends="2099-04-01T00:00:00Z",
             sid="{C}"), JSON),
    ("final list", "GET", "/api/v2/silences", None, {}),
]

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


class Transcript:
    def __init__(self, target_cls):
        self.target = target_cls()
        path = os.path.join(self.target.dir, "am.yml")
        with open(path, "w") as f:
            f.write(CONFIG)
        self.target.start(path)
        self.ids = {}      # step letter -> id
        self.names = {}    # id -> placeholder
        self.steps = []

    def placeholder(self, match):
        return self.names.setdefault(match.group(0), "<id-%d>" % (len(self.names) + 1))

    def normalise(self, text):
        text = UUID.sub(self.placeholder, text)
        # go-openapi lists the allowed methods of a 405 in Go's map order,
        # which changes from run to run.
        text = re.sub(r"\[([A-Z,]+)\] are",
                      lambda x: "[%s] are" % ",".join(sorted(x.group(1).split(","))), text)
        # Times fixed by the script stay; the ones that come from the clock
        # (created or updated now) do not.
        return TIME.sub(lambda t: t.group(0) if t.group(0)[:2] == "20" and
                        t.group(0)[:3] == "209" else "<now>", text)

    def run(self):
        for name, method, path, body, headers in SCRIPT:
            for letter, sid in self.ids.items():
                path = path.replace("{%s}" % letter, sid)
                if body:
                    body = body.replace("{%s}" % letter, sid)
            status, hdrs, out = http(method, self.target.url + path,
                                     body.encode() if body is not None else None, headers)
            text = out.decode("utf-8", "replace")
            if name.startswith("create ") and status == 200:
                self.ids[name.split()[1]] = json.loads(text)["silenceID"]
            if name.endswith("~"):
                text = text.split("error parsing regexp:")[0]
            ctype = {k.lower(): v for k, v in hdrs.items()}.get("content-type")
            self.steps.append((name, status, ctype, self.normalise(text)))
        return self

    def cleanup(self):
        self.target.cleanup()


@unittest.skipUnless(ah.HAVE_AM, "prometheus-alertmanager is not installed")
@unittest.skipUnless(VIGIL_OK, VIGIL_WHY)
class SilenceAPISideBySide(unittest.TestCase):
    def test_same_answers(self):
        ref = Transcript(ah.Alertmanager)
        try:
            ref.run()
        finally:
            ref.cleanup()
        got = Transcript(ah.VigilAlertmanager)
        try:
            got.run()
        finally:
            got.cleanup()
        if DUMP:
            for (name, *a), (_, *b) in zip(ref.steps, got.steps):
                print("==", name, "\n  alertmanager:", a, "\n  vigil:       ", b)
        # The real one says what the script expects, so the script is right.
        ref_steps = {s[0]: s for s in ref.steps}
        self.assertEqual(ref_steps["create A"][1], 200)
        self.assertEqual(ref_steps["update B in place"][3], '{"silenceID":"<id-2>"}\n')
        self.assertEqual(ref_steps["delete unknown"][1], 500)
        self.assertEqual(ref_steps["get bad uuid"][1], 422)
        mismatches = [(a[0], a[1:], b[1:]) for a, b in zip(ref.steps, got.steps) if a != b]
        self.assertEqual(mismatches, [], "\n".join(
            "%s\n  alertmanager: %r\n  vigil:        %r" % m for m in mismatches))


@unittest.skipUnless(ah.HAVE_AMTOOL, "amtool is not installed")
@unittest.skipUnless(VIGIL_OK, VIGIL_WHY)
class SilencesWithAmtoolAndCrash(unittest.TestCase):
    def setUp(self):
        self.target = ah.VigilAlertmanager()
        path = os.path.join(self.target.dir, "am.yml")
        with open(path, "w") as f:
            f.write(CONFIG)
        self.target.start(path)

    def tearDown(self):
        self.target.cleanup()

    def amtool(self, *args):
        p = subprocess.run([ah.AMTOOL_BIN, "--alertmanager.url=" + self.target.url] + list(args),
                           capture_output=True, timeout=30)
        self.assertEqual(p.returncode, 0, p.stderr.decode())
        return p.stdout.decode()

    def test_amtool_and_kill(self):
        sid = self.amtool("silence", "add", "alertname=X", "-c", "comment", "-a", "tester").strip()
        self.assertRegex(sid, UUID)
        sid2 = self.amtool("silence", "add", 'instance=~"db-.*"', "severity!=info", "-c", "two",
                           "-d", "2h").strip()
        out = self.amtool("silence", "query")
        self.assertIn(sid, out)
        self.assertIn(sid2, out)
        self.assertIn("tester", out)
        exported = self.amtool("silence", "query", "-o", "json")
        sils = json.loads(exported)
        self.assertEqual(sorted(s["id"] for s in sils), sorted([sid, sid2]))
        one = [s for s in sils if s["id"] == sid2][0]
        self.assertEqual(sorted((x["name"], x["value"], x["isRegex"], x["isEqual"])
                                for x in one["matchers"]),
                         [("instance", "db-.*", True, True), ("severity", "info", False, False)])
        self.assertEqual(self.amtool("silence", "query", "alertname=X", "-q").split(), [sid])
        self.amtool("silence", "expire", sid)
        self.assertEqual(self.amtool("silence", "query", "-q").split(), [sid2])
        self.assertIn(sid, self.amtool("silence", "query", "--expired", "-q").split())
        # import posts the exported silences with their ids: the expired one
        # comes back as a new silence, the active one is updated in place.
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
            f.write(exported)
        try:
            self.amtool("silence", "import", "--worker=1", f.name)
        finally:
            os.unlink(f.name)
        active = self.amtool("silence", "query", "-q").split()
        self.assertEqual(len(active), 2)
        self.assertIn(sid2, active)
        p = subprocess.run([ah.AMTOOL_BIN, "--alertmanager.url=" + self.target.url, "silence",
                            "expire", "2ded1814-a329-4ac9-be22-0a6bd77a8eed"],
                           capture_output=True, timeout=30)
        self.assertNotEqual(p.returncode, 0)

        # kill -9 right after the answers: everything acknowledged is there.
        before = json.loads(self.amtool("silence", "query", "--expired", "-o", "json"))
        self.target.stop(sig=signal.SIGKILL)
        self.target.start()
        after = json.loads(self.amtool("silence", "query", "--expired", "-o", "json"))
        self.assertEqual(sorted(json.dumps(s, sort_keys=True) for s in before),
                         sorted(json.dumps(s, sort_keys=True) for s in after))
        self.assertEqual(sorted(self.amtool("silence", "query", "-q").split()), sorted(active))


if __name__ == "__main__":
    unittest.main()
