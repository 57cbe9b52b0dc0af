# Writes the PTX of a gpu.binary built with --egs-lower-to-nvvm="format=isa"
# (the `assembly` string, with MLIR's \XX escapes decoded) to stdout.
import re
import sys

text = open(sys.argv[1]).read()
match = re.search(r'assembly = "((?:[^"\\]|\\.)*)"', text)
if not match:
    sys.exit("no assembly in " + sys.argv[1])
raw = match.group(1)
ptx = re.sub(r'\\([0-9A-Fa-f]{2})', lambda m: chr(int(m.group(1), 16)), raw)
sys.stdout.write(ptx.replace('\\\\', '\\'))
