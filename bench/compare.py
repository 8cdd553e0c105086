"""Runs `transduce bench` and the PyTorch reference side by side, alternating, and prints the
median speed ratio transduce/PyTorch of every figure (above 1: transduce is faster).

    cargo build --release
    python3 bench/compare.py --rounds 3 --workloads peak,w1,w2 --device flex

With `peak` among the workloads, each framework's 2048^3 matmul rate is measured too, and the
training rows add the GFLOP/s that training reaches and its fraction of that framework's peak.

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
    torch_version = next(iter(rows.values()))[0]["pytorch"].get("torch_version", "?")
    print(f"CPU: {cpu_name()}, {os.cpu_count()} cores; PyTorch {torch_version} with "
          f"{args.threads} threads; transduce on {args.device}; median of {args.rounds} alternating rounds\n")
    peak = {}
    if "peak" in rows:
        for side in ("transduce", "pytorch"):
            peak[side] = statistics.median(r[side]["matmul_gflops"] for r in rows["peak"])
        ratio = statistics.median(r["transduce"]["matmul_gflops"] / r["pytorch"]["matmul_gflops"]
                                  for r in rows["peak"])
        print("| figure | transduce | PyTorch | ratio |")
        print("|---|---:|---:|---:|")
        print(f"| 2048^3 matmul (GFLOP/s) | {peak['transduce']:.1f} | {peak['pytorch']:.1f} | {ratio:.2f}x |\n")
    print("| workload | figure | transduce (s) | PyTorch (s) | speed ratio transduce/PyTorch |")
    print("|---|---|---:|---:|---:|")
    for w, results in rows.items():
        if w == "peak":
            continue
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
        gflop = results[0]["transduce"]["train_gflop"]
        ours = gflop / statistics.median(r["transduce"]["train_step_s"] for r in results)
        theirs = gflop / statistics.median(r["pytorch"]["train_step_s"] for r in results)
        line = f"| {w} | training GFLOP/s ({gflop:.1f} GFLOP a step) | {ours:.1f} | {theirs:.1f} | |"
        if peak:
            line = (f"| {w} | training GFLOP/s ({gflop:.1f} GFLOP a step), % of own peak | "
                    f"{ours:.1f} ({100 * ours / peak['transduce']:.0f}%) | "
                    f"{theirs:.1f} ({100 * theirs / peak['pytorch']:.0f}%) | |")
        print(line)


if __name__ == "__main__":
    main()
