"""Runs `transduce bench` and the PyTorch reference side by side, alternating, and prints the
median speed ratio transduce/PyTorch of every figure (above 1: transduce is faster).

    cargo build --release
    python3 bench/compare.py --rounds 3 --workloads w1,w2 --device flex

Each run is its own process (so peak memory is per workload). Ratios are of speeds: PyTorch's
seconds divided by transduce's. PyTorch's Transformer decoder has no cache, so its greedy time is
compared with transduce's uncached greedy (`greedy_uncached`) as well as with the cached one.
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
FIGURES = ["train_step_s", "greedy_s", "beam4_s"]


def run(cmd):
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def cpu_name():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workloads", default="w1,w2")
    parser.add_argument("--device", default="flex")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--binary", default=os.path.join(
        os.environ.get("CARGO_TARGET_DIR", os.path.join(HERE, "..", "target")), "release", "transduce"))
    args = parser.parse_args()
    rows = {}
    for r in range(args.rounds):
        for w in args.workloads.split(","):
            ours = [args.binary, "bench", "--workload", w, "--device", args.device, "--json"]
            theirs = [sys.executable, os.path.join(HERE, "pytorch_bench.py"), "--workload", w,
                      "--threads", str(args.threads)]
            order = [("transduce", ours), ("pytorch", theirs)]
            if r % 2:
                order.reverse()
            results = {name: run(cmd) for name, cmd in order}
            rows.setdefault(w, []).append(results)
            print(f"round {r + 1} {w}: " + json.dumps(results), file=sys.stderr)
    torch_version = rows[next(iter(rows))][0]["pytorch"].get("torch_version", "?")
    print(f"CPU: {cpu_name()}, {os.cpu_count()} cores; PyTorch {torch_version} with "
          f"{args.threads} threads; transduce on {args.device}; median of {args.rounds} alternating rounds\n")
    print("| workload | figure | transduce (s) | PyTorch (s) | speed ratio transduce/PyTorch |")
    print("|---|---|---:|---:|---:|")
    for w, results in rows.items():
        pairs = [(f, f, f) for f in FIGURES]
        if results[0]["transduce"].get("greedy_uncached_s") is not None:
            pairs.append(("greedy, both without cache", "greedy_uncached_s", "greedy_s"))
        for label, ours_key, theirs_key in pairs:
            ours = statistics.median(r["transduce"][ours_key] for r in results)
            theirs = statistics.median(r["pytorch"][theirs_key] for r in results)
            ratio = statistics.median(r["pytorch"][theirs_key] / r["transduce"][ours_key] for r in results)
            print(f"| {w} | {label.removesuffix('_s')} | {ours:.3f} | {theirs:.3f} | {ratio:.2f}x |")
        mem = statistics.median(r["transduce"]["peak_rss_mb"] for r in results)
        tmem = statistics.median(r["pytorch"]["peak_rss_mb"] for r in results)
        print(f"| {w} | peak RSS (MiB) | {mem:.0f} | {tmem:.0f} | |")


if __name__ == "__main__":
    main()
