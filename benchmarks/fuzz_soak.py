"""Fuzz soak: the fuzz suite (tests/test_fuzz.py) with N times its cases, drawn at random.

CI runs the suite's fixed, derandomized 1,400 cases; this draws ``--scale`` times as many at
random (a new draw every run unless ``--seed`` is given), through every reader, artifact and
verb's options, and records how many ran, how long they took and whether any ended in a
traceback or a half-written run folder (a failure prints hypothesis' reproducing example).

Usage::

    python benchmarks/fuzz_soak.py --scale 10 --out benchmarks/results/fuzz_soak.json
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=int, default=10)
    parser.add_argument("--seed", type=int, default=None, help="hypothesis seed (default: a fresh draw)")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    env = {**os.environ, "G2REC_FUZZ_SCALE": str(args.scale)}
    command = [sys.executable, "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider", "tests/test_fuzz.py"]
    if args.seed is not None:
        command.append(f"--hypothesis-seed={args.seed}")
    tick = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, env=env, check=False, capture_output=True, text=True)
    seconds = time.perf_counter() - tick
    counted = re.search(r"fuzz cases: (\{.*?\}) = (\d+)", done.stdout)
    result = {"command": "python benchmarks/fuzz_soak.py " + " ".join(sys.argv[1:]), "scale": args.scale,
              "seed": args.seed, "cases": json.loads(counted.group(1).replace("'", '"')) if counted else None,
              "total": int(counted.group(2)) if counted else None, "seconds": round(seconds, 1),
              "passed": done.returncode == 0, "summary": done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""}
    print(json.dumps(result, indent=2))
    if args.out:
        args.out.write_text(json.dumps(result, indent=2) + "\n")
    if done.returncode != 0:
        sys.exit(done.stdout[-6000:] + done.stderr[-3000:])


if __name__ == "__main__":
    main()
