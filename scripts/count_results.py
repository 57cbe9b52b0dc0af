#!/usr/bin/env python3
"""Counts test results for scripts/test.sh.

  count_results.py junit FILE          -> prints "passed failed skipped"
  count_results.py lit FILE [P F S]    -> prints "N passed, N failed, N skipped"
     (lit UNSUPPORTED tests count as skipped, never as passed; P F S are
     added from another runner)
"""
import json
import sys
import xml.etree.ElementTree as ET


def junit(path):
    root = ET.parse(path).getroot()
    suites = [root] if root.tag == "testsuite" else list(root)
    tests = sum(int(s.get("tests", 0)) for s in suites)
    failed = sum(int(s.get("failures", 0)) + int(s.get("errors", 0)) for s in suites)
    skipped = sum(int(s.get("skipped", 0)) for s in suites)
    return tests - failed - skipped, failed, skipped


def lit(path):
    with open(path) as f:
        data = json.load(f)
    passed = failed = skipped = 0
    for t in data.get("tests", []):
        code = t.get("code")
        if code in ("PASS", "XFAIL"):
            passed += 1
        elif code in ("UNSUPPORTED", "SKIPPED", "EXCLUDED"):
            skipped += 1
        else:
            failed += 1
    return passed, failed, skipped


def main():
    kind, path = sys.argv[1], sys.argv[2]
    if kind == "junit":
        print(*junit(path))
        return
    p, f, s = lit(path)
    extra = [int(v) for v in sys.argv[3:6]] or [0, 0, 0]
    p, f, s = p + extra[0], f + extra[1], s + extra[2]
    print(f"{p} passed, {f} failed, {s} skipped")


if __name__ == "__main__":
    main()
