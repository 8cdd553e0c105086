//! The same model on every backend compiled into this build: the weights are made once on flex,
//! carried to each device through a record, and each device translates the same batch; the
//! example prints each backend's time and how far its logits are from flex's.
//!
//! ```sh
//! cargo run --release --example pick_a_backend                           # flex only
//! cargo run --release --features ndarray,wgpu --example pick_a_backend   # flex, ndarray, wgpu
//! ```
//! Without a GPU, wgpu runs on Mesa's software Vulkan driver (lavapipe): real, but slow, and its
//! first run compiles kernels.

use std::time::Instant;

use transduce::decode::greedy;
use transduce::device::DeviceSpec;
use transduce::prelude::*;

fn main() -> anyhow::Result<()> {
    // A small Transformer with random weights, made on flex.
    let config = ModelConfig::Transformer(
        TransformerConfig::new(100, 100)
            .with_d_model(64)
            .with_n_heads(4)
            .with_d_ff(256)
            .with_dropout(0.0)
            .with_embedding_dropout(0.0),
    );
    let reference = config.init(&Device::flex());
    let record = reference.clone().into_record();
    let ids: Vec<i64> = (0..8 * 12).map(|i| 4 + (i * 37 % 96)).collect();
    let tgt: Vec<i64> = (0..8 * 6).map(|i| 4 + (i * 53 % 96)).collect();

    let mut flex_logits: Option<Vec<f32>> = None;
    // flex first: the others are compared with it.
    let mut names = transduce::device::compiled_backends();
    names.sort_by_key(|&n| n != "flex");
    for name in names {
        let device = match name.parse::<DeviceSpec>().map(|d| d.device()) {
            Ok(Ok(device)) => device,
            Ok(Err(e)) | Err(e) => {
                println!("{name:8} unavailable: {e}");
                continue;
            }
        };
        // The same weights on this device.
        let model = config.init(&device).load_record(record.clone());
        let src = Tensor::<2, Int>::from_data(TensorData::new(ids.clone(), [8, 12]), &device);
        let src_mask = src.clone().equal_elem(0);
        let tgt_in = Tensor::<2, Int>::from_data(TensorData::new(tgt.clone(), [8, 6]), &device);
        let tgt_mask = tgt_in.clone().equal_elem(0);

        let started = Instant::now();
        let logits = model.forward(src.clone(), src_mask.clone(), tgt_in, tgt_mask);
        let logits: Vec<f32> = logits
            .into_data()
            .convert::<f32>()
            .try_to_vec::<f32>()
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        let forward_s = started.elapsed().as_secs_f64();
        let started = Instant::now();
        let hyps = greedy(&model, src, src_mask, 10);
        let greedy_s = started.elapsed().as_secs_f64();

        let reference = flex_logits.get_or_insert_with(|| logits.clone());
        let max_diff = logits
            .iter()
            .zip(reference.iter())
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        println!(
            "{name:8} forward {:7.1} ms | greedy 8 x 10 tokens {:7.1} ms | max |logit - flex's| {max_diff:.2e} | first output {:?}",
            forward_s * 1e3,
            greedy_s * 1e3,
            hyps[0].tokens
        );
    }
    Ok(())
}
