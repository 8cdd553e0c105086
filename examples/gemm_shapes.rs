//! Matrix multiplication throughput at the shapes of workloads W1's and W2's training steps, on flex.
//!
//! `cargo run --release --example gemm_shapes` (compare with `python3 bench/gemm_shapes.py`)
use burn::prelude::*;
use std::time::Instant;

fn main() {
    transduce::allocator::tune();
    transduce::threads::on_worker(run);
}

fn run() {
    let dev = Device::flex();
    let shapes: &[(&str, usize, usize, usize, bool, bool)] = &[
        ("qkv/out proj fwd", 768, 256, 256, false, false),
        ("ffn up fwd", 768, 256, 1024, false, false),
        ("ffn down fwd", 768, 1024, 256, false, false),
        ("vocab proj fwd", 768, 256, 8000, false, false),
        ("vocab dW = x^T g", 256, 768, 8000, true, false),
        ("vocab dx = g W^T", 768, 8000, 256, false, true),
        ("ffn dW", 256, 768, 1024, true, false),
        ("w2 step fwd, in-major", 32, 512, 2048, false, false),
        ("w2 step dx, in-major", 32, 2048, 512, false, true),
        ("w2 step dW", 512, 32, 2048, true, false),
        ("w2 step fwd, out-major", 32, 512, 2048, false, true),
        ("w2 step dx, out-major", 32, 2048, 512, false, false),
        ("w2 dec input fwd", 32, 768, 2048, false, false),
        ("w2 greedy vocab, in-major", 32, 512, 8000, false, false),
        ("w2 greedy vocab, out-major", 32, 512, 8000, false, true),
        ("w2 vocab proj fwd", 768, 512, 8000, false, false),
        ("w2 vocab dW", 512, 768, 8000, true, false),
        ("w2 vocab dx", 768, 8000, 512, false, true),
        ("beam vocab in-major", 128, 512, 8000, false, false),
        ("beam vocab out-major", 128, 512, 8000, false, true),
        ("beam vocab^T", 8000, 512, 128, false, false),
        ("beam vocab^T b", 8000, 512, 128, true, true),
        ("beam lstm in", 128, 768, 2048, false, false),
        ("beam lstm h", 128, 512, 2048, false, false),
        ("beam lstm cat", 128, 1280, 2048, false, false),
        ("beam Wc", 128, 1024, 512, false, false),
        ("peak 2048^3", 2048, 2048, 2048, false, false),
    ];
    for &(name, m, k, n, ta, tb) in shapes {
        let a = if ta {
            Tensor::<2>::random([k, m], burn::tensor::Distribution::Default, &dev).transpose()
        } else {
            Tensor::<2>::random([m, k], burn::tensor::Distribution::Default, &dev)
        };
        let b = if tb {
            Tensor::<2>::random([n, k], burn::tensor::Distribution::Default, &dev).transpose()
        } else {
            Tensor::<2>::random([k, n], burn::tensor::Distribution::Default, &dev)
        };
        let _ = a.clone().matmul(b.clone()).into_data();
        let reps = (2e9 / (2.0 * (m * n * k) as f64)).clamp(3.0, 200.0) as usize;
        let mut times = Vec::new();
        for _ in 0..reps {
            let t = Instant::now();
            let c = a.clone().matmul(b.clone());
            drop(c);
            times.push(t.elapsed().as_secs_f64());
        }
        times.sort_by(f64::total_cmp);
        let t = times[times.len() / 2];
        println!(
            "{name:20} {m}x{k}x{n}: {:.3} ms, {:.1} GFLOP/s",
            t * 1e3,
            2.0 * (m * n * k) as f64 / t / 1e9
        );
    }
}
