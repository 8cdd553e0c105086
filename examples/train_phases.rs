//! A training step's phases on flex: forward (with the loss), backward and the optimizer step,
//! medians of 6 steps after 2 of warm-up, for a bench workload (`w1`, `w2`, `gru`, `bahdanau`).
//!
//! `cargo run --release --example train_phases -- w2` (PyTorch: `python3 bench/pytorch_phases.py w2`)
use burn::optim::GradientsParams;
use burn::prelude::*;
use std::time::Instant;
use transduce::bench::{Workload, random_batch};

fn main() {
    transduce::allocator::tune();
    if std::env::var("IN_POOL").is_ok() {
        transduce::threads::on_worker(run);
    } else {
        run();
    }
}

fn run() {
    let name = std::env::args().nth(1).unwrap_or_else(|| "w2".into());
    let w = Workload::named(&name).expect("a bench workload");
    let device = Device::flex().autodiff();
    let (mut trainee, mut optim) = transduce::bench::trainer(&w, &device);
    let (mut forward, mut backward, mut step) = (vec![], vec![], vec![]);
    let n: u64 = std::env::var("STEPS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(8);
    for i in 0..n {
        let (batch, _) = random_batch(&w, i, &device);
        let t0 = Instant::now();
        let loss = trainee.forward_loss(batch, 1.0).loss;
        let _: f32 = loss.clone().into_scalar();
        let t1 = Instant::now();
        let grads = GradientsParams::from_grads(loss.backward(), &trainee);
        let t2 = Instant::now();
        trainee = optim.step(1e-4, trainee, grads);
        let _ = trainee.model.num_params();
        let t3 = Instant::now();
        if std::env::var("VERBOSE").is_ok() {
            eprintln!("step {i}: {:.3} s", (t3 - t0).as_secs_f64());
        }
        if i >= 2 {
            forward.push((t1 - t0).as_secs_f64());
            backward.push((t2 - t1).as_secs_f64());
            step.push((t3 - t2).as_secs_f64());
        }
    }
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    println!(
        "{name}: forward {:.3} s, backward {:.3} s, optimizer {:.3} s",
        median(forward),
        median(backward),
        median(step)
    );
}
