#!/usr/bin/env python3
"""Check what tests/stats_cli.sh captured in the guest:

- the JSON lines of 'top --json' and 'hist --json' with Python's parser,
  every row with the fields of its kind and the right types;
- the Prometheus text pages (HTTP default and the node_exporter textfile)
  with promtool, Prometheus' own parser and linter;
- the OpenMetrics page with a strict checker of the OpenMetrics 1.0 text
  format, since promtool only parses the Prometheus format: metadata before
  samples, each family's samples together, the suffixes each type allows,
  label syntax, no duplicate series, cumulative histogram buckets in
  increasing le ending with +Inf equal to _count, and one final "# EOF".

    check_metrics.py GUEST_OUTPUT
"""
import json
import math
import re
import subprocess
import sys

from artifacts import artifact, read_output

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"'
SAMPLE = re.compile(r"^(%s)(\{(?:%s(?:,%s)*)?\})? (\S+)$" % (NAME, LABEL, LABEL))
SUFFIXES = {
    "counter": ["_total", "_created"],
    "gauge": [""],
    "histogram": ["_bucket", "_sum", "_count", "_created"],
}



def labels_of(braces):
    return dict(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"',
                           braces or ""))


def check_openmetrics(text):
    errors = []
    lines = text.split("\n")
    if lines[-1] != "":
        errors.append("does not end with a newline")
    lines = lines[:-1]
    if not lines or lines[-1] != "# EOF":
        errors.append("last line is not '# EOF'")
    families = {}          # name -> type
    seen_done = set()      # families whose samples are over
    current = None
    series = set()
    buckets = {}           # (family, labels without le) -> [(le, value)]
    counts = {}
    for i, line in enumerate(lines[:-1], 1):
        if line == "# EOF":
            errors.append("line %d: '# EOF' before the end" % i)
            continue
        if line.startswith("#"):
            m = re.match(r"^# (HELP|TYPE|UNIT) (%s) (.*)$" % NAME, line)
            if not m:
                errors.append("line %d: bad metadata: %r" % (i, line))
                continue
            kind, fam, rest = m.groups()
            if fam in seen_done or (fam != current and fam in families and kind == "TYPE"):
                errors.append("line %d: metadata of %s after its samples" % (i, fam))
            if kind == "TYPE":
                if rest not in SUFFIXES:
                    errors.append("line %d: type %s" % (i, rest))
                if fam.endswith("_total"):
                    errors.append("line %d: family name %s ends in _total" % (i, fam))
                families[fam] = rest
            if current and current != fam:
                seen_done.add(current)
            current = fam
            continue
        m = SAMPLE.match(line)
        if not m:
            errors.append("line %d: not a sample: %r" % (i, line))
            continue
        name, braces, value = m.groups()
        fam = next((f for f in families
                    for s in SUFFIXES[families[f]] if name == f + s), None)
        if fam is None:
            errors.append("line %d: %s belongs to no declared family" % (i, name))
            continue
        if fam != current:
            errors.append("line %d: %s outside its family's block" % (i, name))
        try:
            v = float(value)
        except ValueError:
            errors.append("line %d: value %r" % (i, value))
            continue
        key = (name, braces or "")
        if key in series:
            errors.append("line %d: duplicate series %s%s" % (i, name, braces or ""))
        series.add(key)
        labels = labels_of(braces)
        if families[fam] == "counter" and name.endswith("_total") and (v < 0 or math.isnan(v)):
            errors.append("line %d: negative counter" % i)
        if families[fam] == "histogram":
            rest = tuple(sorted((k, x) for k, x in labels.items() if k != "le"))
            if name.endswith("_bucket"):
                le = labels.get("le")
                if le is None:
                    errors.append("line %d: bucket without le" % i)
                    continue
                buckets.setdefault((fam, rest), []).append(
                    (math.inf if le == "+Inf" else float(le), v))
            elif name.endswith("_count"):
                counts[(fam, rest)] = v
    for key, bs in buckets.items():
        les = [le for le, _ in bs]
        if les != sorted(les) or len(set(les)) != len(les):
            errors.append("%s %s: le not increasing" % key)
        if not les or les[-1] != math.inf:
            errors.append("%s %s: no +Inf bucket" % key)
        # The BPF side clamps longer durations into its last slot, which
        # starts at TOP_SLOT_NS: no finite bucket may claim to bound those
        finite = [le for le in les if le != math.inf]
        if finite and finite[-1] > TOP_SLOT_NS * 1e-9 * (1 + 1e-9):
            errors.append("%s %s: finite bucket le=%g above the last "
                          "distinguishable top" % (key[0], key[1], finite[-1]))
        vals = [v for _, v in bs]
        if vals != sorted(vals):
            errors.append("%s %s: buckets not cumulative" % key)
        if key in counts and vals and vals[-1] != counts[key]:
            errors.append("%s %s: +Inf bucket %s != _count %s" %
                          (key[0], key[1], vals[-1], counts[key]))
    return errors, len(series)


# Where the last, open-ended slot of the BPF histograms begins (2^35 ns:
# STATS_HIST_SLOTS in bpf/iommufd_stats.h is 36)
TOP_SLOT_NS = 2 ** 35

TOP_FIELDS = {
    "ctx": {"interval_s": float, "owner_tgid": int, "comm": str, "maps": int,
            "unmaps": int, "copies": int, "map_bytes": int, "copy_bytes": int,
            "errors": int, "domain_unmaps": int,
            "invalidations": int, "iotlb_waits": int, "iotlb_wait_ns": int,
            "iopf_groups": int, "dma_faults": int, "pasid_attaches": int,
            "pasid_detaches": int, "pasids": int, "pinned_bytes": int},
    "ioas": {"interval_s": float, "owner_tgid": int, "ctx": int, "ioas_id": int,
             "maps": int, "unmaps": int, "copies": int, "map_bytes": int,
             "unmap_bytes": int, "copy_bytes": int, "errors": int, "domain_unmaps": int, "invalidations": int,
             "iotlb_waits": int, "iotlb_wait_ns": int},
    "dev": {"interval_s": float, "owner_tgid": int, "ctx": int, "dev_id": int,
            "iopf_groups": int, "iopf_answered": int, "dma_faults": int,
            "pasid_attaches": int, "pasid_detaches": int, "pasids": int},
}


def check_json_lines(name, text, check):
    errors = []
    rows = 0
    for i, line in enumerate(text.split("\n"), 1):
        if not line:
            continue
        try:
            obj = json.loads(line)
        except ValueError as e:
            errors.append("%s line %d: %s" % (name, i, e))
            continue
        rows += 1
        errors += ["%s line %d: %s" % (name, i, e) for e in check(obj)]
    if not rows:
        errors.append("%s: no rows" % name)
    return errors, rows


def check_top_row(obj):
    want = TOP_FIELDS.get(obj.get("row"))
    if want is None:
        return ["unknown row %r" % obj.get("row")]
    want = dict(want, row=str)
    errs = ["field %s missing or not %s" % (k, t.__name__)
            for k, t in want.items()
            if not isinstance(obj.get(k), t) or isinstance(obj.get(k), bool)]
    if set(obj) != set(want):
        errs.append("keys differ: %s" % sorted(set(obj) ^ set(want)))
    return errs


def check_hist_row(obj):
    errs = []
    if obj.get("kind") not in ("map", "unmap", "copy", "invalidate", "fault",
                               "fault_queue", "fault_handle", "iotlb"):
        errs.append("kind %r" % obj.get("kind"))
    buckets = obj.get("buckets")
    if not isinstance(buckets, list):
        return errs + ["no buckets"]
    if sum(b["count"] for b in buckets) != obj.get("count"):
        errs.append("buckets do not add up to count")
    for b in buckets:
        # The last slot also holds everything longer: no finite top
        if b["high_ns"] is None and b["low_ns"] == TOP_SLOT_NS:
            continue
        if b["high_ns"] != 2 * b["low_ns"] - 1:
            errs.append("bucket %r is not a log2 bucket" % b)
    return errs


def promtool(text):
    p = subprocess.run(["promtool", "check", "metrics"], input=text,
                       capture_output=True, text=True)
    return p.returncode, (p.stdout + p.stderr).strip()


def main():
    text = read_output(sys.argv[1])
    failed = 0
    for name, check in (("top.json", check_top_row), ("hist.json", check_hist_row)):
        errors, rows = check_json_lines(name, artifact(text, name), check)
        if errors:
            print("not ok host: %s (%d errors)" % (name, len(errors)))
            for e in errors[:20]:
                print("# " + e)
            failed += 1
        else:
            print("ok host: %s parses, %d rows with their fields" % (name, rows))
    for name in ("metrics.txt", "textfile.prom"):
        page = artifact(text, name)
        if not page.strip():
            print("not ok host: %s is empty" % name)
            failed += 1
            continue
        rc, out = promtool(page)
        if rc:
            print("not ok host: promtool check metrics on %s" % name)
            for line in out.split("\n"):
                print("# " + line)
            failed += 1
        else:
            print("ok host: promtool check metrics accepts %s" % name)
    errors, n = check_openmetrics(artifact(text, "openmetrics.txt"))
    if errors:
        print("not ok host: OpenMetrics page (%d errors)" % len(errors))
        for e in errors[:20]:
            print("# " + e)
        failed += 1
    else:
        print("ok host: OpenMetrics page is valid, %d series" % n)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
