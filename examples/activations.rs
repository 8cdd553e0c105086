//! tanh and sigmoid with their backward pass under autodiff on flex: burn's (and `tanh` as the
//! exp-based graph of operations it used to be) against `transduce::nn::activation`'s host pass.
//!
//! `cargo run --release --example activations`
use burn::prelude::*;
use std::time::Instant;
fn main() {
    transduce::allocator::tune();
    let ad = Device::flex().autodiff();
    for shape in [[32usize, 512usize], [32, 2048], [768, 512]] {
        let x = Tensor::<2>::random(shape, burn::tensor::Distribution::Normal(0.0, 2.0), &ad)
            .require_grad();
        let run = |f: &dyn Fn(Tensor<2>) -> Tensor<2>| {
            let mut ts = vec![];
            for _ in 0..200 {
                let t = Instant::now();
                let y = f(x.clone());
                let _ = y.sum().backward();
                ts.push(t.elapsed().as_secs_f64());
            }
            ts.sort_by(f64::total_cmp);
            ts[100] * 1e6
        };
        let a = run(&|x| burn::tensor::activation::sigmoid(x));
        let b = run(&|x| transduce::nn::activation::sigmoid(x));
        let c = run(&|x| {
            x.clamp(-20.0, 20.0)
                .mul_scalar(2.0)
                .exp()
                .add_scalar(1.0)
                .recip()
                .mul_scalar(-2.0)
                .add_scalar(1.0)
        });
        let d = run(&|x| transduce::nn::activation::tanh(x));
        println!(
            "{shape:?} fwd+bwd+sum: sigmoid burn {a:.0} us, ours {b:.0} us; tanh via exp ops {c:.0} us, ours {d:.0} us"
        );
    }
}
