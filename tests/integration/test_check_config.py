"""`vigil check config` against `promtool check config`: the same verdict on
the same files, the seeds' configurations pass, broken files fail with a
message that says where."""

import glob
import os
import re
import subprocess
import unittest

from harness import ROOT, SHARED, run_vigil

FIXTURES = os.path.join(ROOT, "tests", "unit", "config", "fixtures")
# Files where vigil means to differ from promtool 2.42, and why.
DIFFERENT_ON_PURPOSE = {
    # vigil refuses a scheme it cannot scrape; promtool accepts it.
    "bad-scheme.yml",
    # Prometheus 3.x settings, which vigil reads and the 2.42 reference does not know.
    "good-v3.yml",
}


def promtool(path):
    p = subprocess.run(["promtool", "check", "config", path], capture_output=True, timeout=60)
    return p.returncode


class CheckConfigTest(unittest.TestCase):
    def test_seed_configurations_pass(self):
        status, out, err = run_vigil(["check", "config",
                                      os.path.join(SHARED, "seed-fixtures", "prometheus-003.yml")])
        self.assertEqual(status, 0, out + err)
        self.assertIn("SUCCESS", out)
        self.assertRegex(out, r'WARNING: job "api-gateway": kubernetes_sd_configs cannot be '
                              r'reached here')
        status, out, err = run_vigil(["check", "config", os.path.join(ROOT, "vigil.yml")])
        self.assertEqual(status, 0, out + err)

    def test_same_verdict_as_promtool_on_broken_files(self):
        files = sorted(glob.glob(os.path.join(FIXTURES, "*.yml")))
        self.assertGreater(len(files), 30)
        agreed = 0
        for path in files:
            name = os.path.basename(path)
            status, out, err = run_vigil(["check", "config", path])
            if name.startswith("bad-"):
                self.assertEqual(status, 1, name)
                # A precise message: file, line and column, on stderr.
                self.assertRegex(err, r"FAILED: .*%s:\d+:\d+: " % re.escape(name), name)
            else:
                self.assertEqual(status, 0, name + out + err)
            if name in DIFFERENT_ON_PURPOSE or name.startswith("bad-vigil"):
                continue
            self.assertEqual(status == 0, promtool(path) == 0, "verdicts differ on " + name)
            agreed += 1
        print("\ncheck config: same verdict as promtool on %d files" % agreed)

    def test_unreadable_file(self):
        status, out, err = run_vigil(["check", "config", "/nonexistent.yml"])
        self.assertEqual(status, 1)
        self.assertIn("/nonexistent.yml", err)

    def test_usage_errors(self):
        self.assertEqual(run_vigil(["check"])[0], 2)
        self.assertEqual(run_vigil(["check", "config"])[0], 2)
        self.assertEqual(run_vigil(["check", "nonsense", "x"])[0], 2)


if __name__ == "__main__":
    unittest.main()
