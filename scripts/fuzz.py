#!/usr/bin/env python3
"""Bounded, seeded mutation fuzzer for egs-opt.

Takes the .mlir files under test/ (RUN/CHECK lines stripped), mutates them at
the token level (numbers, element types, shapes, ops, lines, attributes) and
runs egs-opt on each mutant with one of several pipelines (parse/verify,
--egs-fuse, --egs-lower-to-cpu, --egs-lower-to-nvvm="format=isa") and random
valid and invalid pass options, each in a subprocess with a timeout.

Each run is classified as clean (exit 0), clean error (exit 1 with a
diagnostic), CRASH (a signal, "LLVM ERROR", "PLEASE submit a bug report",
"Assertion", "UNREACHABLE", any other exit code) or HANG (timeout). Every
crash or hang is saved under --out, deduplicated by signature (the kind plus
the top egs/mlir frames or the first error line): input.mlir, cmd.sh, log.txt.

Usage:
  scripts/fuzz.py --egs-opt build/bin/egs-opt --seed 1 --seconds 120 --out /tmp/f
Exit status: 0 when no new crash or hang was found, 1 otherwise. Signatures
listed in --known (one per line, '#' comments) are reported as known and do
not fail the run.
"""
import argparse
import hashlib
import os
import random
import re
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

TYPES = ["f16", "bf16", "f32", "f64", "i1", "i8", "i32", "i64", "index",
         "complex<f32>", "vector<4xf32>", "f80", "ui32", "si8", "f8E4M3FN",
         "i4", "tf32"]
NUMBERS = ["0", "1", "-1", "2", "3", "7", "16", "31", "64", "65535",
           "2147483647", "2147483648", "-2147483649", "4294967296",
           "9223372036854775807", "18446744073709551616", "-9223372036854775808",
           "1.5", "1e400", "-0"]
DIMS = ["0", "1", "2", "3", "5", "?", "17", "4096", "65536", "2147483648"]
EGS_OPS = ["egs.gather", "egs.gather_concat", "egs.permute", "egs.unpermute",
           "egs.matmul", "egs.matmul_scatter", "egs.gather_matmul",
           "egs.scatter_add", "egs.weight_grad", "egs.route", "egs.topk"]
ATTRS = ["tile = [64, 64, 32, 3, 4]", "tile = [0, 0, 0, 0, 0]",
         "tile = [7, 9, 1, 1, 1]", "tile = [128, 256, 64, 5, 8]",
         "tile = []", "transpose_w", "deterministic", "k = 0", "k = -1",
         "k = 3", "num_experts = 0", "num_experts = 9223372036854775807",
         "tile = #egs.tile<bm = 64, bn = 64, bk = 32, stages = 3, warps = 4, mma = fma>",
         "tile = #egs.tile<bm = 128, bn = 64, bk = 64, stages = 2, warps = 8, mma = warpgroup, resident = true>",
         "egs.gpu_strategy = #egs.gpu_strategy<fast = [#egs.variant<tile = #egs.tile<bm = 64, bn = 64, bk = 32, stages = 3, warps = 4>, min_rows = 5>], general = #egs.tile<bm = 64, bn = 64, bk = 16, stages = 1, warps = 4, mma = general>>",
         "egs.gpu_strategy = #egs.gpu_strategy<fast = [#egs.variant<tile = #egs.tile<bm = 64, bn = 64, bk = 16, stages = 3, warps = 4, mma = fma>>], general = #egs.tile<bm = 64, bn = 64, bk = 16, stages = 1, warps = 4, mma = general>>",
         "egs.gpu_strategy = 1", "egs.bogus = 2"]

CHIPS = ["sm_80", "sm_86", "sm_89", "sm_90", "sm_90a", "sm_100", "sm_120",
         "sm_75", "sm_70", "sm_50", "gfx90a", "garbage", ""]
FEATURES = ["+ptx80", "+ptx81", "+ptx88", "+ptx60", "garbage", "", "-ptx80"]
TILES = ["64,64,32,3,4", "128,128,32,4,8", "0,0,0,0,0", "1,1,1,1,1", "64",
         "64,64,32,3,4,5", "-1,64,32,3,4", "99999999999,1,1,1,1"]


def nvvm_options(rng):
  opts = ["format=isa"]
  if rng.random() < 0.5:
    opts.append("chip=" + rng.choice(CHIPS[:7] if rng.random() < 0.6
                                      else CHIPS))
  if rng.random() < 0.3:
    opts.append("features=" + rng.choice(FEATURES))
  if rng.random() < 0.3:
    opts.append("tile=" + rng.choice(TILES))
  if rng.random() < 0.3:
    opts.append("host-buffers=" + rng.choice(["copy", "device", "bogus"]))
  if rng.random() < 0.2:
    opts.append("check-indices=" + rng.choice(["true", "false", "2"]))
  if rng.random() < 0.2:
    opts.append("host-sync=" + rng.choice(["true", "false"]))
  if rng.random() < 0.2:
    opts.append("opt-level=" + rng.choice(["0", "2", "3", "9", "-1"]))
  if rng.random() < 0.2:
    opts.append("bufferize=" + rng.choice(["true", "false"]))
  return "--egs-lower-to-nvvm=" + " ".join(opts)


def cpu_options(rng):
  opts = []
  if rng.random() < 0.4:
    opts.append("vector-width=" + rng.choice(["0", "1", "3", "4", "8", "16",
                                              "32", "-1", "1000000"]))
  if rng.random() < 0.4:
    opts.append("check-indices=" + rng.choice(["true", "false"]))
  if rng.random() < 0.2:
    opts.append("bufferize=" + rng.choice(["true", "false"]))
  return "--egs-lower-to-cpu" + ("=" + " ".join(opts) if opts else "")


def strategy_options(rng):
  """egs-select-gpu-strategy (then, half the time, convert-egs-to-gpu on its
  decisions: the op patterns, without the rest of the GPU pipeline)."""
  opts = []
  if rng.random() < 0.4:
    opts.append("tile=" + rng.choice(TILES))
  if rng.random() < 0.4:
    opts.append("warpgroup-mma=" + rng.choice(["true", "false"]))
  if rng.random() < 0.4:
    opts.append("max-shared-memory=" + rng.choice(["0", "-1", "1024", "101376", "232448",
                                                   "9223372036854775807"]))
  passes = ["--egs-select-gpu-strategy" + ("=" + " ".join(opts) if opts else "")]
  if rng.random() < 0.5:
    passes = ["--one-shot-bufferize=bufferize-function-boundaries"] + passes + [
        "--convert-egs-to-gpu=host-buffers=device"]
  return passes


def pipeline(rng):
  r = rng.random()
  if r < 0.15:
    return []
  if r < 0.2:
    return strategy_options(rng)
  if r < 0.27:
    return ["--verify-each"]
  if r < 0.45:
    return ["--egs-fuse"]
  if r < 0.7:
    return ([["--egs-fuse"], []][rng.random() < 0.5]) + [cpu_options(rng)]
  return ([["--egs-fuse"], []][rng.random() < 0.5]) + [nvvm_options(rng)]


def load_corpus(root):
  corpus = []
  for dirpath, _, files in os.walk(os.path.join(root, "test")):
    for f in sorted(files):
      if not f.endswith(".mlir"):
        continue
      with open(os.path.join(dirpath, f), errors="replace") as fh:
        lines = [l for l in fh.read().splitlines()
                 if not re.match(r"\s*//", l)]
      text = "\n".join(lines)
      # Split files run with -split-input-file into their parts.
      for part in text.split("\n// -----"):
        if part.strip():
          corpus.append(part)
  corpus.sort()
  return corpus


NUM_RE = re.compile(r"(?<![\w%#^@.])-?\d+(\.\d+)?(e[+-]?\d+)?(?![\w.])")
TYPE_RE = re.compile(r"\b(f16|bf16|f32|f64|i1|i8|i16|i32|i64|index)\b")
SHAPE_RE = re.compile(r"(?<=[<x])(\d+|\?)(?=x)")
OP_RE = re.compile(r"\begs\.[a-z_]+\b")
ATTR_RE = re.compile(r"\{[^{}\n]*\}")


def sub_random(rng, regex, text, repl):
  matches = list(regex.finditer(text))
  if not matches:
    return text
  m = rng.choice(matches)
  return text[:m.start()] + repl(m) + text[m.end():]


def mutate_once(rng, text):
  kind = rng.randrange(8)
  if kind == 0:
    return sub_random(rng, NUM_RE, text, lambda m: rng.choice(NUMBERS))
  if kind == 1:
    return sub_random(rng, TYPE_RE, text, lambda m: rng.choice(TYPES))
  if kind == 2:
    return sub_random(rng, SHAPE_RE, text, lambda m: rng.choice(DIMS))
  if kind == 3:
    return sub_random(rng, OP_RE, text, lambda m: rng.choice(EGS_OPS))
  lines = text.split("\n")
  if kind == 4 and len(lines) > 1:
    del lines[rng.randrange(len(lines))]
  elif kind == 5:
    i = rng.randrange(len(lines))
    lines.insert(i, lines[i])
  elif kind == 6:
    return sub_random(rng, ATTR_RE, text,
                      lambda m: "{" + rng.choice(ATTRS) + "}")
  else:
    # Change one type everywhere, keeping the program consistent.
    found = sorted(set(TYPE_RE.findall(text)))
    if found:
      old = rng.choice(found)
      return re.sub(r"\b%s\b" % re.escape(old), rng.choice(TYPES), text)
  return "\n".join(lines)


def mutate(rng, text):
  for _ in range(rng.choice([1, 1, 1, 2, 2, 3, 5])):
    text = mutate_once(rng, text)
  return text


CRASH_MARKERS = ["LLVM ERROR", "PLEASE submit a bug report", "Assertion",
                 "UNREACHABLE", "Stack dump:"]
FRAME_RE = re.compile(r"^\s*#\d+ 0x[0-9a-f]+ (?:in )?(.*?)(?: \(|$)", re.M)


def signature(kind, out):
  frames = []
  for f in FRAME_RE.findall(out):
    f = re.sub(r"\(.*", "", f).strip()
    if not f or any(s in f for s in ("llvm::sys::", "SignalHandler",
                                     "PrintStackTrace", "__restore_rt",
                                     "libc.so", "raise", "abort",
                                     "__pthread_kill", "gsignal",
                                     "__libc_start", "_start")):
      continue
    frames.append(re.sub(r"0x[0-9a-f]+", "", f))
    if len(frames) == 3:
      break
  if not frames:
    for line in out.splitlines():
      if any(m in line for m in ("LLVM ERROR", "Assertion", "UNREACHABLE",
                                 "error:")):
        frames.append(re.sub(r"\d+", "N", line.strip())[:160])
        break
  return kind + ": " + " | ".join(frames or ["<no frames>"])


# Inputs that crash upstream MLIR's parser before egs sees the module (stock
# mlir-opt-22 crashes on them too; docs/UserGuide.md, "Known limitations").
# A crash on such an input is reported as known under the pattern's name.
UPSTREAM_CRASHES = [
    ("dense array of index", re.compile(r"array<\s*index\s*:")),
    # linalg.transpose's permutation, linalg.broadcast's and linalg.reduce's
    # dimensions: any error inside the list (a value past 64 bits, a float,
    # a name) crashes after its diagnostic.
    ("malformed linalg permutation/dimensions list",
     re.compile(r"\b(permutation|dimensions)\s*=\s*\[[^\]]*(\d{20,}|[^\]\s\d,-])")),
    ("named linalg.batch_matmul on index or vector elements",
     re.compile(r"linalg\.batch_matmul\b[^\n]*(xindex>|x?vector<)")),
]


def upstream_crash(text):
  """The name of the known upstream parser crash `text` contains, or None."""
  for name, pattern in UPSTREAM_CRASHES:
    if pattern.search(text):
      return name
  return None


def run_case(egs_opt, text, args, timeout):
  cmd = [egs_opt, "-", "-o", os.devnull] + args
  env = dict(os.environ, LLVM_SYMBOLIZER_PATH=os.environ.get(
      "LLVM_SYMBOLIZER_PATH", "/usr/lib/llvm-22/bin/llvm-symbolizer"))
  try:
    p = subprocess.run(cmd, input=text.encode(), capture_output=True,
                       timeout=timeout, env=env)
  except subprocess.TimeoutExpired as e:
    out = (e.stderr or b"").decode(errors="replace")
    return "HANG", cmd, out
  out = p.stderr.decode(errors="replace")
  if p.returncode < 0:
    return "CRASH(%s)" % signal.Signals(-p.returncode).name, cmd, out
  if p.returncode not in (0, 1) or any(m in out for m in CRASH_MARKERS):
    return "CRASH(exit %d)" % p.returncode, cmd, out
  if p.returncode == 1:
    return ("error" if out.strip() else "CRASH(exit 1, no diagnostic)",
            cmd, out)
  return "clean", cmd, out


def main():
  ap = argparse.ArgumentParser(description=__doc__,
                               formatter_class=argparse.RawTextHelpFormatter)
  ap.add_argument("--egs-opt", default=os.path.join(ROOT, "build/bin/egs-opt"))
  ap.add_argument("--seed", type=int, default=0)
  ap.add_argument("--seconds", type=float, default=60)
  ap.add_argument("--max-cases", type=int, default=0,
                  help="stop after this many cases (0: only --seconds)")
  ap.add_argument("--jobs", type=int, default=1)
  ap.add_argument("--timeout", type=float, default=60,
                  help="seconds per egs-opt run before it counts as a HANG")
  ap.add_argument("--out", default="fuzz-out")
  ap.add_argument("--known", help="file of known signatures (expected to be "
                  "fixed elsewhere): reported but not failing the run")
  ap.add_argument("--root", default=ROOT)
  a = ap.parse_args()

  corpus = load_corpus(a.root)
  if not corpus:
    sys.exit("fuzz.py: no .mlir files under %s/test" % a.root)
  known = set()
  if a.known:
    with open(a.known) as f:
      known = {l.strip() for l in f if l.strip() and not l.startswith("#")}
  os.makedirs(a.out, exist_ok=True)

  # Case i uses its own generator seeded from (seed, i): reproducible for any
  # --jobs and independent of timing.
  def make_case(i):
    rng = random.Random("%d/%d" % (a.seed, i))
    text = mutate(rng, rng.choice(corpus))
    return text, pipeline(rng)

  counts = {}
  found = {}
  deadline = time.monotonic() + a.seconds
  i = 0

  def job(i):
    text, args = make_case(i)
    return (i, text) + run_case(a.egs_opt, text, args, a.timeout)

  with ThreadPoolExecutor(a.jobs) as pool:
    pending = []
    while True:
      while (len(pending) < a.jobs and time.monotonic() < deadline and
             (not a.max_cases or i < a.max_cases)):
        pending.append(pool.submit(job, i))
        i += 1
      if not pending:
        break
      fut = pending.pop(0)
      idx, text, kind, cmd, out = fut.result()
      bucket = kind if kind in ("clean", "error") else "crash/hang"
      counts[bucket] = counts.get(bucket, 0) + 1
      if bucket != "crash/hang":
        continue
      upstream = upstream_crash(text) if kind.startswith("CRASH") else None
      if upstream:
        sig = "UPSTREAM: " + upstream
        known.add(sig)
      else:
        sig = signature(kind.split("(")[0], out)
      if sig in found:
        continue
      d = os.path.join(a.out, hashlib.sha1(sig.encode()).hexdigest()[:12])
      os.makedirs(d, exist_ok=True)
      with open(os.path.join(d, "input.mlir"), "w") as f:
        f.write(text + "\n")
      with open(os.path.join(d, "cmd.sh"), "w") as f:
        f.write(" ".join("'%s'" % c.replace("'", "'\\''")
                         for c in [a.egs_opt, os.path.join(d, "input.mlir")] +
                         cmd[4:]) + "\n")
      with open(os.path.join(d, "log.txt"), "w") as f:
        f.write("case %d seed %d: %s\n%s\n\n%s" % (idx, a.seed, kind, sig,
                                                 out[-20000:]))
      found[sig] = d
      tag = "known" if sig in known else "NEW"
      print("%s %s\n  %s\n  %s" % (tag, kind, sig, d), flush=True)

  new = [s for s in found if s not in known]
  print("fuzz.py: seed %d, %d cases: %d clean, %d clean errors, %d "
        "crashes/hangs; %d signatures (%d new, %d known) under %s" %
        (a.seed, i, counts.get("clean", 0), counts.get("error", 0),
         counts.get("crash/hang", 0), len(found), len(new),
         len(found) - len(new), a.out))
  return 1 if new else 0


if __name__ == "__main__":
  sys.exit(main())
