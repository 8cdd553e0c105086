//! Row-wise softmax and log-sum-exp on flex: burn's fused softmax against
//! `transduce::decode::rows::softmax_in_place` (host rows with a vectorised `exp`, copies included), at the shapes
//! of a W2 beam step (`[128, 8000]`) and of W1's and W2's loss (`[768, 8000]`).
//!
//! `cargo run --release --example softmax_rows`
use burn::prelude::*;
use std::time::Instant;
fn main() {
    transduce::allocator::tune();
    let dev = Device::flex();
    for rows in [128usize, 768] {
        let x = Tensor::<2>::random(
            [rows, 8000],
            burn::tensor::Distribution::Normal(0.0, 3.0),
            &dev,
        );
        let mut t1 = vec![];
        let mut t2 = vec![];
        for _ in 0..30 {
            let t = Instant::now();
            let probs = burn::tensor::activation::softmax(x.clone(), 1);
            let lse = x.clone().max_dim(1) - probs.clone().max_dim(1).log();
            let _ = (probs.into_data(), lse.into_data());
            t1.push(t.elapsed().as_secs_f64());
            let t = Instant::now();
            // What the loss does on the host: one copy out, the rows pass, one tensor back.
            let mut data = x.clone().into_data();
            let rows = data.as_mut_slice::<f32>().unwrap();
            let lse = transduce::decode::rows::softmax_in_place(rows, 8000);
            let p = Tensor::<2>::from_data(data, &dev);
            let _ = (p.into_data(), lse);
            t2.push(t.elapsed().as_secs_f64());
        }
        let med = |mut v: Vec<f64>| {
            v.sort_by(f64::total_cmp);
            v[v.len() / 2] * 1e3
        };
        let host: Vec<f32> = x.clone().into_data().try_into_vec().unwrap();
        let mut t3 = vec![];
        let mut t4 = vec![];
        for _ in 0..30 {
            let mut h = host.clone();
            let t = Instant::now();
            let _ = transduce::decode::rows::softmax_in_place(&mut h, 8000);
            t3.push(t.elapsed().as_secs_f64());
            let t = Instant::now();
            let _ = transduce::decode::rows::log_sum_exp(&host, 8000);
            t4.push(t.elapsed().as_secs_f64());
        }
        println!(
            "raw softmax_in_place {:.2} ms, raw log_sum_exp {:.2} ms",
            med(t3.clone()),
            med(t4.clone())
        );
        println!(
            "{rows}x8000 softmax+lse: burn {:.2} ms, transduce::decode (host rows) {:.2} ms",
            med(t1),
            med(t2)
        );
    }
}
