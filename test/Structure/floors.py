"""Checks that lib/Conversion/EGSToGPU is built on floors: a file includes
headers of its own floor or of the floors below it, never above.

    Strategy (heuristics, the strategy pass) < Kernels (device code)
      < Host (launch code) < Patterns (op patterns, convert-egs-to-gpu)

Prints one line per file (floor, includes) and every violation; exit status 1
if there is one.
"""
import os
import re
import sys

FLOORS = ["Strategy", "Kernels", "Host", "Patterns"]
root = os.path.join(sys.argv[1], "lib", "Conversion", "EGSToGPU")
bad = 0
files = 0
for floor in FLOORS:
    for name in sorted(os.listdir(os.path.join(root, floor))):
        files += 1
        text = open(os.path.join(root, floor, name)).read()
        for inc in re.findall(r'^#include "([^"]+)"', text, re.M):
            target = inc.split("/")[0]
            if target not in FLOORS:
                continue  # egs/, mlir/, llvm/: public headers
            if FLOORS.index(target) > FLOORS.index(floor):
                print(f"{floor}/{name} includes {inc}: runs up from {floor} to {target}")
                bad += 1
loose = [n for n in os.listdir(root) if n not in FLOORS and n != "CMakeLists.txt"]
for n in loose:
    print(f"{n}: not on a floor ({', '.join(FLOORS)})")
    bad += 1
print(f"floors: {files} files, {bad} violations")
sys.exit(1 if bad else 0)
