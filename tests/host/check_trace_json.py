#!/usr/bin/env python3
"""Check the JSON trace the guest captured (tests/tool_cli.sh) with a real
JSON parser: every line an object with every field and the right types,
dense sequence numbers, a closing summary whose counts add up, and exactly
the workload's events.

    check_trace_json.py GUEST_OUTPUT
"""
import json
import re
import sys

from artifacts import artifact, read_output

COMMON = {
    "seq": int, "ts_ns": int, "event": str, "ret": int, "owner_tgid": int,
    "tgid": int, "comm": str, "ctx": int,
}
# Records without a context: pinned pages are a process's
NO_CTX = {"pinned_update"}
RANGE = {"ioas_id": int, "iova": int, "length": int, "done": int,
         "flags": int, "duration_ns": int, "pinned": int, "domain_unmaps": int}
DEVICE = {"dev_id": int, "hwpt_id": int, "ioas_id": int, "pasid": int}
# Each event's own fields, named for what they hold (README, "JSON")
EVENT_FIELDS = {
    "ioas_map": RANGE,
    "ioas_unmap": RANGE,
    "ioas_copy": {"src_ioas_id": int, "src_iova": int, "dst_ioas_id": int,
                  "dst_iova": int, "length": int, "done": int, "flags": int,
                  "duration_ns": int},
    "device_attach": DEVICE,
    "device_detach": DEVICE,
    "device_replace": dict(DEVICE, old_hwpt_id=int),
    "domain_unmap": {"ioas_id": int, "iova": int, "length": int,
                     "reason": str},
    "hwpt_invalidate": {"hwpt_id": int, "data_type": int, "entries": int,
                        "done": int},
    "dirty_tracking": {"hwpt_id": int, "ioas_id": int, "enable": bool},
    "dirty_read": {"hwpt_id": int, "ioas_id": int, "iova": int,
                   "length": int, "page_size": int, "flags": int,
                   "dirty_pages": int, "duration_ns": int},
    "fault_report": {"fault_id": int, "hwpt_id": int, "dev_id": int,
                     "pasid": int, "addr": int, "perm": int, "grpid": int,
                     "count": int, "flags": int},
    "fault_read": {"fault_id": int, "dev_id": int, "pasid": int,
                   "addr": int, "grpid": int, "count": int, "cookie": int,
                   "queued_ns": int},
    "fault_respond": {"fault_id": int, "dev_id": int, "pasid": int,
                      "addr": int, "grpid": int, "cookie": int, "code": str,
                      "waited_ns": int, "queued_ns": int, "handled_ns": int},
    "fault_auto_respond": {"fault_id": int, "dev_id": int, "count": int,
                           "reason": str},
    "pinned_update": {"direction": str, "pages": int, "npinned": int,
                      "account_mode": int},
    "dma_fault": {"dev_id": int, "hwpt_id": int, "ioas_id": int,
                  "iova": int, "pasid_valid": bool, "pasid": int,
                  "reason_code": int, "write": bool, "attributed": bool,
                  "decoded": bool, "device": str, "source_id": int,
                  "kind": str, "reason": str, "after_unmap": bool},
    "ctx_open": {},
    "ctx_release": {},
    "ioas_alloc": {"ioas_id": int},
    "fault_alloc": {"fault_id": int},
    "access_create": {"access_id": int},
    "hwpt_alloc": {"hwpt_id": int, "type": str, "ioas_id": int,
                   "parent_hwpt_id": int, "dev_id": int, "fault_id": int,
                   "flags": int, "auto": bool},
    "device_bind": {"dev_id": int, "device": str},
    "object_destroy": {"type": str, "id": int},
    "access_pin": {"access_id": int, "ioas_id": int, "iova": int,
                   "length": int},
    "access_unpin": {"access_id": int, "ioas_id": int,
                     "iova": int, "length": int},
}
AFTER_UNMAP_FIELDS = {
    "unmap_iova": int, "unmap_length": int, "unmap_age_ns": int,
    "unmap_tgid": int, "unmap_comm": str,
}
# The workload's name (tests/tool_cli.sh): 0xff is not UTF-8 and must come
# through as U+FFFD; the quote, backslash and tab as themselves
WORKLOAD_COMM = 'wl\ufffd"\\\t'



def main():
    text = read_output(sys.argv[1])
    lines = [l for l in artifact(text, "trace.json").split("\n") if l]
    wl = re.search(r"pid=(\d+) ioas=(\d+) dev=(\d+) hwpt=(\d+)",
                   artifact(text, "workload.out"))
    if not wl:
        raise SystemExit("check_trace_json: workload printed no ids")
    pid, ioas, dev = int(wl.group(1)), int(wl.group(2)), int(wl.group(3))

    errors = []
    records = [json.loads(l) for l in lines]   # raises on any invalid line
    summary = records.pop()
    if summary.get("event") != "summary":
        errors.append("last line is not the summary: %r" % summary)
    last = 0
    for r in records:
        if r.get("event") not in EVENT_FIELDS:
            errors.append("seq %s: unknown event %s" % (r.get("seq"),
                                                         r.get("event")))
            continue
        fields = dict(COMMON, **EVENT_FIELDS[r["event"]])
        if r["event"] in NO_CTX:
            del fields["ctx"]
        if r.get("event") == "dma_fault" and r.get("after_unmap"):
            fields.update(AFTER_UNMAP_FIELDS)
        for k, t in fields.items():
            if not isinstance(r.get(k), t):
                errors.append("seq %s: field %s missing or not %s" %
                              (r.get("seq"), k, t.__name__))
        if set(r) != set(fields):
            errors.append("seq %s: unexpected keys %s" %
                          (r.get("seq"), sorted(set(r) ^ set(fields))))
        if r["seq"] != last + 1:
            errors.append("sequence gap before seq %s" % r["seq"])
        last = r["seq"]
    if summary.get("delivered") != len(records):
        errors.append("summary delivered %s, lines %d" %
                      (summary.get("delivered"), len(records)))
    if summary.get("produced") != (summary.get("delivered", 0) +
                                   summary.get("dropped", 0) +
                                   summary.get("filtered", 0)):
        errors.append("summary does not add up: %r" % summary)

    mine = [r for r in records if r["owner_tgid"] == pid]
    def n(ev, **kw):
        return sum(1 for r in mine if r["event"] == ev and
                   all(r.get(k) == v for k, v in kw.items()))
    want = {
        # A map and an unmap count their pages and domain unmaps themselves
        "ioas_map": (3, dict(ioas_id=ioas, length=8192, done=8192, ret=0,
                             pinned=2, domain_unmaps=0)),
        "ioas_unmap": (3, dict(ioas_id=ioas, length=8192, done=8192, ret=0,
                               pinned=-2, domain_unmaps=1)),
        "domain_unmap": (0, dict()),
        "pinned_update": (0, dict()),
        "fault_report": (2, dict(dev_id=dev, pasid=1, perm=1, count=1)),
        "fault_read": (2, dict(dev_id=dev, pasid=1, count=1)),
        "fault_respond": (2, dict(dev_id=dev, code="success")),
        # --dma-faults 4: two writes into the range unmapped last, two reads
        # of an IOVA never mapped
        "dma_fault": (2, dict(dev_id=dev, ioas_id=ioas, write=True,
                              attributed=True, decoded=False,
                              after_unmap=True, unmap_iova=1 << 24,
                              unmap_length=8192, unmap_tgid=pid)),
    }
    # The context's life: opened and released once, its objects under its id
    opened = [r["ctx"] for r in mine if r["event"] == "ctx_open"]
    ctx = opened[0] if len(opened) == 1 else None
    if ctx is None:
        errors.append("ctx_open: %d records, want 1" % len(opened))
    else:
        want.update({
            "ctx_release": (1, dict(ctx=ctx)),
            "ioas_alloc": (1, dict(ctx=ctx, ioas_id=ioas)),
            "device_bind": (1, dict(ctx=ctx, dev_id=dev)),
            "object_destroy": (1, dict(ctx=ctx, type="ioas", id=ioas)),
        })
        if n("hwpt_alloc", ctx=ctx, dev_id=dev, ioas_id=ioas, auto=True) < 1:
            errors.append("hwpt_alloc: no automatic HWPT of the device")
        # Every record of an operation names the context it ran in
        for ev, (count, kw) in list(want.items()):
            if ev not in NO_CTX:
                kw.setdefault("ctx", ctx)
    want_reads = n("dma_fault", dev_id=dev, write=False, after_unmap=False)
    if want_reads != 2:
        errors.append("dma_fault reads never mapped: %d records, want 2" % want_reads)
    for ev, (count, kw) in want.items():
        got = n(ev, **kw)
        if got != count:
            errors.append("%s %r: %d records, want %d" % (ev, kw, got, count))
    untimed = [r["seq"] for r in mine
               if r["event"] in ("ioas_map", "ioas_unmap") and r["duration_ns"] <= 0]
    if untimed:
        errors.append("ioas_map/unmap records without a duration: seq %s" % untimed)
    # Each answer's wait splits at its read: the latest read of the same
    # fault object and cookie (cookies are reused once answered) before it
    reads = {}
    for r in sorted(mine, key=lambda r: r["seq"]):
        key = (r.get("fault_id"), r.get("cookie"))
        if r["event"] == "fault_read":
            reads[key] = r
            continue
        if r["event"] != "fault_respond":
            continue
        read = reads.pop(key, None)
        if (read is None or read["queued_ns"] != r["queued_ns"] or
                r["queued_ns"] <= 0 or r["handled_ns"] <= 0 or
                r["queued_ns"] + r["handled_ns"] != r["waited_ns"]):
            errors.append("fault_respond seq %d: wait not split at its read %r"
                          % (r["seq"], read))
    pinned = sum(r["pages"] if r["direction"] == "pin" else -r["pages"]
                 for r in mine if r["event"] == "pinned_update")
    pinned += sum(r["pinned"] for r in mine
                  if r["event"] in ("ioas_map", "ioas_unmap"))
    names = {r["comm"] for r in mine if r["event"] != "dma_fault"}
    if names != {WORKLOAD_COMM}:
        errors.append("workload's name came through as %r, want %r" %
                      (names, WORKLOAD_COMM))
    if pinned != 0:
        errors.append("pinned pages charged and released differ by %d" % pinned)

    if errors:
        print("not ok host: JSON trace (%d records)" % len(records))
        for e in errors:
            print("# " + e)
        return 1
    print("ok host: JSON trace parses, %d records, summary adds up, workload's %d events match"
          % (len(records), len(mine)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
