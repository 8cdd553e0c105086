//! The same weights give the same outputs on every compiled-in backend (within 1e-4).
//!
//! A model is initialised on flex, saved, and loaded on the other backend; the teacher-forced
//! logits and a cached decoding step are compared. On machines without a GPU, the wgpu test runs
//! on Mesa's software Vulkan driver (lavapipe).
#![cfg(any(feature = "ndarray", feature = "wgpu"))]

use burn::prelude::*;
use transduce_data::pad_ids;
use transduce_nn::{ModelConfig, Seq2Seq, TransformerConfig};
use transduce_train::artifact::{load_weights, save_weights};

fn config() -> ModelConfig {
    ModelConfig::Transformer(
        TransformerConfig::new(12, 12)
            .with_d_model(16)
            .with_n_heads(2)
            .with_d_ff(32)
            .with_n_encoder_layers(1)
            .with_n_decoder_layers(1),
    )
}

/// Teacher-forced logits and the logits of two cached decoding steps on `device`.
fn outputs(device: &Device, weights: &std::path::Path) -> (Vec<f32>, Vec<f32>) {
    let model = load_weights(&config(), weights, device).unwrap();
    let (src, src_pad) = pad_ids(vec![vec![4, 5, 6, 7], vec![8, 9]], device);
    let (tgt, tgt_pad) = pad_ids(vec![vec![2, 7, 6, 5], vec![2, 9, 8]], device);
    let logits = model.forward(src.clone(), src_pad.clone(), tgt, tgt_pad);
    let memory = model.encode(src, src_pad);
    let state = model.init_state(&memory);
    let step = model.decode_step(&memory, Tensor::from_data([2, 2], device), state);
    let step = model.decode_step(&memory, Tensor::from_data([7, 9], device), step.state);
    let f = |t: Tensor<3>| t.into_data().convert::<f32>().try_to_vec::<f32>().unwrap();
    let g = |t: Tensor<2>| t.into_data().convert::<f32>().try_to_vec::<f32>().unwrap();
    (f(logits), g(step.logits))
}

fn assert_same_as_flex(other: Device) {
    let tmp = tempfile::tempdir().unwrap();
    let weights = tmp.path().join("model.bpk");
    let flex = Device::flex();
    flex.seed(7);
    save_weights(&config().init(&flex), &weights).unwrap();
    let (a_full, a_step) = outputs(&flex, &weights);
    let (b_full, b_step) = outputs(&other, &weights);
    for (a, b) in [(a_full, b_full), (a_step, b_step)] {
        assert_eq!(a.len(), b.len());
        let max = a
            .iter()
            .zip(&b)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0f32, f32::max);
        assert!(max < 1e-4, "max |flex - other| = {max}");
        assert!(
            a.iter().any(|x| x.abs() > 1e-3),
            "outputs are not trivially zero"
        );
    }
}

#[cfg(feature = "ndarray")]
#[test]
fn flex_and_ndarray_agree() {
    #[allow(deprecated)]
    assert_same_as_flex(Device::ndarray());
}

#[cfg(feature = "wgpu")]
#[test]
fn flex_and_wgpu_agree() {
    assert_same_as_flex(Device::wgpu(burn::tensor::DeviceKind::DefaultDevice));
}
