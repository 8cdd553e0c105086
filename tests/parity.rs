//! The same weights give the same outputs on every compiled-in backend, for every family: the
//! teacher-forced logits, two cached decoding steps, and the logits after one training step
//! (label-smoothed loss, backward, Adam) agree with flex within 1e-4 (forward) and 1e-3 (after
//! the step, where each backend's own reduction order compounds).
//!
//! A model is initialised on flex, saved, and loaded on the other backend. On machines without a
//! GPU, the wgpu tests run on Mesa's software Vulkan driver (lavapipe).
#![cfg(any(feature = "ndarray", feature = "wgpu"))]

use burn::data::dataloader::batcher::Batcher;
use burn::optim::{AdamConfig, GradientsParams};
use burn::prelude::*;
use transduce_data::{Example, Seq2SeqBatcher};
use transduce_nn::{
    BahdanauConfig, CellKind, LuongConfig, ModelConfig, RnnSeq2SeqConfig, Score, Seq2Seq,
    Seq2SeqBatch, TransformerConfig,
};
use transduce_train::Seq2SeqTrainee;
use transduce_train::artifact::{load_weights, save_weights};

/// One small model of each family, without dropout (so a training step is deterministic).
fn configs() -> Vec<ModelConfig> {
    vec![
        ModelConfig::Transformer(
            TransformerConfig::new(12, 12)
                .with_d_model(16)
                .with_n_heads(2)
                .with_d_ff(32)
                .with_n_encoder_layers(1)
                .with_n_decoder_layers(1)
                .with_dropout(0.0)
                .with_embedding_dropout(0.0),
        ),
        ModelConfig::Seq2seq(
            RnnSeq2SeqConfig::new(12, 12)
                .with_cell(CellKind::Lstm)
                .with_d_embedding(8)
                .with_d_hidden(16)
                .with_n_layers(2)
                .with_dropout(0.0),
        ),
        ModelConfig::Luong(
            LuongConfig::new(12, 12)
                .with_cell(CellKind::Gru)
                .with_score(Score::Concat)
                .with_d_embedding(8)
                .with_d_hidden(16)
                .with_dropout(0.0),
        ),
        ModelConfig::Bahdanau(
            BahdanauConfig::new(12, 12)
                .with_cell(CellKind::Rnn)
                .with_d_embedding(8)
                .with_d_hidden(16)
                .with_dropout(0.0),
        ),
    ]
}

fn batch(device: &Device) -> Seq2SeqBatch {
    let example = |src: &[usize], tgt: &[usize]| Example {
        src: src.to_vec(),
        tgt: tgt.to_vec(),
    };
    Seq2SeqBatcher.batch(
        vec![
            example(&[4, 5, 6, 7], &[7, 6, 5]),
            example(&[8, 9], &[9, 8]),
        ],
        device,
    )
}

fn floats<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().convert::<f32>().try_to_vec::<f32>().unwrap()
}

/// Teacher-forced logits and the logits of two cached decoding steps.
fn outputs<M: Seq2Seq>(model: &M, device: &Device) -> Vec<Vec<f32>> {
    let b = batch(device);
    let logits = model.forward(
        b.src.clone(),
        b.src_mask_pad.clone(),
        b.tgt_in,
        b.tgt_mask_pad,
    );
    let memory = model.encode(b.src, b.src_mask_pad);
    let state = model.init_state(&memory);
    let step = model.decode_step(&memory, Tensor::from_data([2, 2], device), state);
    let step = model.decode_step(&memory, Tensor::from_data([7, 9], device), step.state);
    vec![floats(logits), floats(step.logits)]
}

/// The teacher-forced logits after one Adam step on the label-smoothed loss.
fn after_one_step(config: &ModelConfig, weights: &std::path::Path, device: &Device) -> Vec<f32> {
    let ad = device.clone().autodiff();
    let trainee = Seq2SeqTrainee {
        model: load_weights(config, weights, &ad).unwrap(),
        label_smoothing: 0.1,
        teacher_forcing: 1.0,
    };
    let loss = trainee.forward_loss(batch(&ad), 1.0).loss;
    let grads = GradientsParams::from_grads(loss.backward(), &trainee);
    let mut optim = AdamConfig::new().init();
    let trainee = optim.step(1e-2, trainee, grads);
    let model = trainee.model.valid();
    let b = batch(device);
    floats(model.forward(b.src, b.src_mask_pad, b.tgt_in, b.tgt_mask_pad))
}

fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0f32, f32::max)
}

fn assert_same_as_flex(other: Device) {
    let tmp = tempfile::tempdir().unwrap();
    let flex = Device::flex();
    for config in configs() {
        let arch = config.arch();
        let weights = tmp.path().join(format!("{arch}.bpk"));
        flex.seed(7);
        save_weights(&config.init(&flex), &weights).unwrap();
        let a = outputs(&load_weights(&config, &weights, &flex).unwrap(), &flex);
        let b = outputs(&load_weights(&config, &weights, &other).unwrap(), &other);
        for (what, a, b) in [("forward", &a[0], &b[0]), ("cached steps", &a[1], &b[1])] {
            let max = max_diff(a, b);
            assert!(max < 1e-4, "{arch} {what}: max |flex - other| = {max}");
            assert!(a.iter().any(|x| x.abs() > 1e-3), "{arch}: trivially zero");
        }
        let before = &a[0];
        let (a, b) = (
            after_one_step(&config, &weights, &flex),
            after_one_step(&config, &weights, &other),
        );
        let max = max_diff(&a, &b);
        assert!(
            max < 1e-3,
            "{arch} after one step: max |flex - other| = {max}"
        );
        assert!(
            max_diff(&a, before) > 1e-3,
            "{arch}: the step changed nothing"
        );
    }
}

#[cfg(feature = "ndarray")]
#[test]
fn every_family_agrees_on_flex_and_ndarray() {
    #[allow(deprecated)]
    assert_same_as_flex(Device::ndarray());
}

#[cfg(feature = "wgpu")]
#[test]
fn every_family_agrees_on_flex_and_wgpu() {
    assert_same_as_flex(Device::wgpu(burn::tensor::DeviceKind::DefaultDevice));
}
