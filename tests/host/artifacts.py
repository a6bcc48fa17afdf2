"""What a guest suite printed between its ARTIFACT markers, for the host
checks: '=== BEGIN ARTIFACT name ===' ... '=== END ARTIFACT name ==='."""
import re


def read_output(path):
    """The guest's output, with the serial line's CR LF made LF"""
    return open(path, encoding="utf-8", errors="replace").read().replace("\r\n", "\n")


def artifact(text, name):
    m = re.search(r"=== BEGIN ARTIFACT %s ===\n(.*?)=== END ARTIFACT %s ===" %
                  (re.escape(name), re.escape(name)), text, re.S)
    if not m:
        raise SystemExit("no artifact %s in the guest's output" % name)
    return m.group(1)
