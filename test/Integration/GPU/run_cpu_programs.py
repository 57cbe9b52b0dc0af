#!/usr/bin/env python3
"""Runs the RUN lines of every test/Integration/CPU program with
`egs-runner --target=cuda` (same CHECK lines, same flags otherwise).
Programs under subdirectories (index errors, reported by the host lowering
only) are skipped. Exits non-zero when any program fails."""
import os
import re
import subprocess
import sys
import tempfile

cpu_dir = sys.argv[1]
failures = []
for name in sorted(os.listdir(cpu_dir)):
    path = os.path.join(cpu_dir, name)
    if not name.endswith(".mlir") or not os.path.isfile(path):
        continue
    runs = [l.split("RUN:", 1)[1].strip() for l in open(path) if l.startswith("// RUN:")]
    if not runs or any(r.startswith("not ") for r in runs):
        continue
    with tempfile.TemporaryDirectory() as tmp:
        for run in runs:
            cmd = run.replace("%s", path).replace("%t", os.path.join(tmp, "t"))
            cmd = re.sub(r"\begs-runner\b(?: --target=cpu)?", "egs-runner --target=cuda", cmd)
            r = subprocess.run(["bash", "-o", "pipefail", "-c", cmd], capture_output=True, text=True)
            if r.returncode != 0:
                failures.append(name)
                print(f"FAIL {name}: {cmd}\n{r.stdout[-2000:]}{r.stderr[-2000:]}")
                break
        else:
            print(f"PASS {name}")
print(f"{len(failures)} failure(s)")
sys.exit(1 if failures else 0)
