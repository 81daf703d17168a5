"""vigil's host metrics against node_exporter on the same machine.

Starts prometheus-node-exporter (Debian's 1.5.0) and `vigil serve` on free
127.0.0.1 ports, fetches both /metrics, and compares, collector by collector,
for every family that node_exporter's collector writes: the metric names,
HELP and TYPE, the label names of every series, the label values where they
do not change between two reads (CPU modes, devices, mount points, clock
sources, uname), and node_scrape_collector_success. It also runs
`promtool check metrics` on vigil's output: no parse error, and no lint
finding that node_exporter's own output does not get too.

Environment:
  VIGIL_BIN            the vigil binary. When unset, the host unit test
                       binary (unit_host_test_host, found under build*/ or
                       given as VIGIL_HOST_UNIT_TEST) writes one host scrape
                       of this machine to a file, and that file is compared.
  NODE_EXPORTER_BIN    default: prometheus-node-exporter on PATH.
"""

import glob
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# node_exporter collector -> the families it writes (as a name pattern).
COLLECTORS = {
    "cpu": r"node_cpu_(seconds_total|guest_seconds_total|core_throttles_total|"
    r"package_throttles_total|isolated)",
    "diskstats": r"node_disk_\w+",
    "filefd": r"node_filefd_\w+",
    "filesystem": r"node_filesystem_\w+",
    "loadavg": r"node_load(1|5|15)",
    "meminfo": r"node_memory_\w+",
    "netdev": r"node_network_(receive|transmit)_\w+_total",
    "pressure": r"node_pressure_\w+",
    "sockstat": r"node_sockstat_\w+",
    "stat": r"node_(boot_time_seconds|context_switches_total|forks_total|intr_total|"
    r"procs_running|procs_blocked|softirqs_total)",
    "time": r"node_time_\w+",
    "uname": r"node_uname_info",
    "vmstat": r"node_vmstat_\w+",
}
COLLECTOR_RE = {c: re.compile("^(?:%s)$" % p) for c, p in COLLECTORS.items()}

# Families whose label values are the same in two reads a moment apart.
STABLE_VALUES = re.compile(
    r"^node_(cpu_seconds_total|cpu_guest_seconds_total|filesystem_\w+|disk_\w+|"
    r"network_\w+|time_clocksource_\w+|time_zone_offset_seconds|uname_info)$"
)

SAMPLE_RE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)")
LABEL_RE = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse(text):
    """Returns {family: {"help", "type", "series": [(labels dict, value)]}}."""
    fams = {}
    for line in text.splitlines():
        if line.startswith("# HELP "):
            name, _, help_ = line[7:].partition(" ")
            fams.setdefault(name, {"series": []})["help"] = help_
        elif line.startswith("# TYPE "):
            name, _, typ = line[7:].partition(" ")
            fams.setdefault(name, {"series": []})["type"] = typ
        elif line and not line.startswith("#"):
            m = SAMPLE_RE.match(line)
            if not m:
                continue
            labels = dict(LABEL_RE.findall(m.group(2) or ""))
            fams.setdefault(m.group(1), {"series": []})["series"].append((labels, m.group(3)))
    return fams


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fetch(url, timeout=10.0):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                if r.status == 200:
                    return r.read().decode("utf-8")
        except Exception as e:  # not listening yet
            last = e
        time.sleep(0.1)
    raise AssertionError("no answer from %s: %s" % (url, last))


def find_unit_test_binary():
    explicit = os.environ.get("VIGIL_HOST_UNIT_TEST")
    if explicit:
        return explicit
    found = glob.glob(os.path.join(REPO, "build*", "unit_host_test_host"))
    found = [f for f in found if os.access(f, os.X_OK)]
    return max(found, key=os.path.getmtime) if found else None


class HostVsNodeExporter(unittest.TestCase):
    def setUp(self):
        self.procs = []
        self.tmp = tempfile.mkdtemp(prefix="vigil-host-it-")

    def tearDown(self):
        for p in self.procs:
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def start(self, argv, name):
        log = open(os.path.join(self.tmp, name + ".log"), "wb")
        p = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        log.close()
        self.procs.append(p)
        return p

    def node_exporter_metrics(self):
        ne = os.environ.get("NODE_EXPORTER_BIN") or shutil.which("prometheus-node-exporter")
        if not ne:
            self.skipTest("prometheus-node-exporter is not installed")
        port = free_port()
        self.start([ne, "--web.listen-address=127.0.0.1:%d" % port, "--no-collector.systemd"],
                   "node_exporter")
        return fetch("http://127.0.0.1:%d/metrics" % port)

    def vigil_metrics(self):
        vigil = os.environ.get("VIGIL_BIN")
        if vigil:
            port = free_port()
            cfg = os.path.join(self.tmp, "prometheus.yml")
            with open(cfg, "w") as f:
                f.write("global:\n  scrape_interval: 15s\nscrape_configs: []\n")
            self.start([vigil, "serve", "--web.listen-address=127.0.0.1:%d" % port,
                        "--storage.path=" + os.path.join(self.tmp, "data"),
                        "--config.file=" + cfg], "vigil")
            return fetch("http://127.0.0.1:%d/metrics" % port), "vigil serve (%s)" % vigil
        unit = find_unit_test_binary()
        if not unit:
            self.skipTest("VIGIL_BIN is unset and no unit_host_test_host binary was found")
        dump = os.path.join(self.tmp, "host.txt")
        env = dict(os.environ, HOST_DUMP_FILE=dump)
        r = subprocess.run([unit], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=120)
        self.assertEqual(r.returncode, 0, r.stdout.decode(errors="replace"))
        with open(dump) as f:
            return f.read(), "host scrape written by %s" % unit

    def promtool_findings(self, text, families):
        """promtool's lint lines for the given families; fails on a parse error."""
        promtool = shutil.which("promtool")
        if not promtool:
            return None
        r = subprocess.run([promtool, "check", "metrics"], input=text.encode(),
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
        out = r.stdout.decode(errors="replace")
        self.assertNotIn("error while linting", out)
        self.assertNotEqual(r.returncode, 1, out)
        return {l for l in out.splitlines() if l.split(" ", 1)[0] in families}

    def test_host_metrics_match_node_exporter(self):
        ne_text = self.node_exporter_metrics()
        vg_text, source = self.vigil_metrics()
        ne, vg = parse(ne_text), parse(vg_text)
        print("\ncomparing node_exporter with %s" % source, file=sys.stderr)

        problems = []
        covered = {}
        for coll, pat in COLLECTOR_RE.items():
            ne_f = {n for n in ne if pat.match(n)}
            vg_f = {n for n in vg if pat.match(n)}
            for n in sorted(ne_f - vg_f):
                problems.append("%s: family %s missing in vigil" % (coll, n))
            for n in sorted(vg_f - ne_f):
                problems.append("%s: family %s not written by node_exporter" % (coll, n))
            n_series = 0
            for n in sorted(ne_f & vg_f):
                a, b = ne[n], vg[n]
                if a.get("help") != b.get("help"):
                    problems.append("%s: HELP differs: %r vs %r" % (n, a.get("help"), b.get("help")))
                if a.get("type") != b.get("type"):
                    problems.append("%s: TYPE differs: %r vs %r" % (n, a.get("type"), b.get("type")))
                ne_names = {tuple(sorted(l)) for l, _ in a["series"]}
                vg_names = {tuple(sorted(l)) for l, _ in b["series"]}
                if ne_names != vg_names:
                    problems.append("%s: label names %s vs %s" % (n, ne_names, vg_names))
                if STABLE_VALUES.match(n):
                    ne_vals = {tuple(sorted(l.items())) for l, _ in a["series"]}
                    vg_vals = {tuple(sorted(l.items())) for l, _ in b["series"]}
                    if ne_vals != vg_vals:
                        problems.append("%s: label values only in node_exporter %s, only in vigil %s"
                                        % (n, sorted(ne_vals - vg_vals)[:5], sorted(vg_vals - ne_vals)[:5]))
                n_series += len(b["series"])
            covered[coll] = (len(ne_f & vg_f), n_series)

        # A collector that fails on this machine fails in both.
        def success(fams):
            return {l.get("collector"): v for l, v in
                    fams.get("node_scrape_collector_success", {}).get("series", [])}
        ne_ok, vg_ok = success(ne), success(vg)
        for coll in COLLECTORS:
            if coll not in vg_ok:
                problems.append("node_scrape_collector_success{collector=%r} missing in vigil" % coll)
            elif ne_ok.get(coll) != vg_ok[coll]:
                problems.append("collector %s: success %s in node_exporter, %s in vigil"
                                % (coll, ne_ok.get(coll), vg_ok[coll]))
        for n in ("node_scrape_collector_success", "node_scrape_collector_duration_seconds"):
            if vg.get(n, {}).get("help") != ne.get(n, {}).get("help"):
                problems.append("%s: HELP differs" % n)

        ours = {n for n in vg if any(p.match(n) for p in COLLECTOR_RE.values())}
        ours |= {"node_scrape_collector_success", "node_scrape_collector_duration_seconds"}
        vg_lint = self.promtool_findings(vg_text, ours)
        if vg_lint is not None:
            ne_lint = self.promtool_findings(ne_text, ours)
            for l in sorted(vg_lint - ne_lint):
                problems.append("promtool finding node_exporter does not get: " + l)

        cpu = vg.get("node_cpu_seconds_total", {"series": []})["series"]
        modes = sorted({l.get("mode") for l, _ in cpu})
        print("covered (families, series):", file=sys.stderr)
        for coll, (nf, ns) in sorted(covered.items()):
            print("  %-11s %3d families %5d series   success=%s" % (coll, nf, ns, vg_ok.get(coll)),
                  file=sys.stderr)
        print("  cpu modes: %s" % " ".join(modes), file=sys.stderr)
        print("  meminfo fields: %d" % covered["meminfo"][0], file=sys.stderr)
        print("  promtool: %s" % ("checked" if vg_lint is not None else "not installed"),
              file=sys.stderr)
        self.assertEqual(problems, [], "\n".join(problems))
        self.assertGreater(covered["cpu"][1], 0)
        self.assertGreater(covered["meminfo"][0], 10)


if __name__ == "__main__":
    unittest.main()
