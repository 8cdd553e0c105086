"""Matrix multiplication throughput at the shapes of workloads W1's and W2's training steps, in PyTorch:
the counterpart of `cargo run --release --example gemm_shapes` (same shapes, same output).

    python3 bench/gemm_shapes.py
"""
import time

import torch

torch.set_num_threads(2)

# (name, m, k, n, lhs transposed, rhs transposed)
SHAPES = [
    ("qkv/out proj fwd", 768, 256, 256, False, False),
    ("ffn up fwd", 768, 256, 1024, False, False),
    ("ffn down fwd", 768, 1024, 256, False, False),
    ("vocab proj fwd", 768, 256, 8000, False, False),
    ("vocab dW = x^T g", 256, 768, 8000, True, False),
    ("vocab dx = g W^T", 768, 8000, 256, False, True),
    ("ffn dW", 256, 768, 1024, True, False),
    ("w2 step fwd, in-major", 32, 512, 2048, False, False),
    ("w2 step dx, in-major", 32, 2048, 512, False, True),
    ("w2 step dW", 512, 32, 2048, True, False),
    ("w2 step fwd, out-major", 32, 512, 2048, False, True),
    ("w2 step dx, out-major", 32, 2048, 512, False, False),
    ("w2 dec input fwd", 32, 768, 2048, False, False),
    ("w2 greedy vocab, in-major", 32, 512, 8000, False, False),
    ("w2 greedy vocab, out-major", 32, 512, 8000, False, True),
    ("w2 vocab proj fwd", 768, 512, 8000, False, False),
    ("w2 vocab dW", 512, 768, 8000, True, False),
    ("w2 vocab dx", 768, 8000, 512, False, True),
    ("peak 2048^3", 2048, 2048, 2048, False, False),
]

for name, m, k, n, ta, tb in SHAPES:
    a = torch.rand(k, m).t() if ta else torch.rand(m, k)
    b = torch.rand(n, k).t() if tb else torch.rand(k, n)
    a @ b
    reps = int(min(200, max(3, 2e9 / (2 * m * n * k))))
    times = []
    for _ in range(reps):
        started = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - started)
    times.sort()
    t = times[len(times) // 2]
    print(f"{name:20} {m}x{k}x{n}: {t * 1e3:.3f} ms, {2 * m * n * k / t / 1e9:.1f} GFLOP/s")
