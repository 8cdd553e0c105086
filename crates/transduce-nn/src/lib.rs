//! Model definitions for transduce: the sequence-to-sequence family as burn modules.
//!
//! Every architecture implements [`Seq2Seq`]: teacher-forced [`Seq2Seq::forward`],
//! [`Seq2Seq::encode`] and a caller-owned, step-by-step [`Seq2Seq::decode_step`], so that greedy
//! search, beam search, the training step and the attention plots are written once.
//!
//! This crate holds model maths only: no file I/O, no burn-train, and no backend feature except
//! `flex` and `ndarray`, which let [`dropout`] draw its masks and [`activation`] compute `tanh` in
//! the forms fastest on the CPU.
#![warn(missing_docs)]

pub mod activation;
pub mod arch;
pub mod bahdanau;
pub mod batch;
pub mod dropout;
pub mod error;
pub mod linear;
pub mod luong;
pub mod model;
pub mod pytorch;
pub mod rnn;
pub mod rnn_seq2seq;
pub mod seq2seq;
pub mod special;
pub mod transformer;

pub use arch::{Arch, Preset};
pub use bahdanau::{Bahdanau, BahdanauConfig};
pub use batch::Seq2SeqBatch;
pub use error::NnError;
pub use luong::{Luong, LuongConfig};
pub use model::{Model, ModelConfig, ModelMemory, ModelState, Side};
pub use rnn::attention::Score;
pub use rnn::cell::CellKind;
pub use rnn_seq2seq::{RnnSeq2Seq, RnnSeq2SeqConfig};
pub use seq2seq::{BatchSelect, DecodeStep, Seq2Seq};
pub use transformer::{Positions, Transformer, TransformerConfig};

#[cfg(test)]
pub(crate) mod test_util {
    use burn::module::{Module, ModuleVisitor, Param};
    use burn::prelude::*;

    /// The device unit tests run on.
    pub fn test_device() -> Device {
        Device::flex()
    }

    /// Id rows (0 = padding) as a tensor and its padding mask.
    pub fn ids(rows: &[&[i32]], device: &Device) -> (Tensor<2, Int>, Tensor<2, Bool>) {
        let len = rows[0].len();
        let flat: Vec<i32> = rows.iter().flat_map(|r| r.iter().copied()).collect();
        let t = Tensor::<2, Int>::from_data(TensorData::new(flat, [rows.len(), len]), device);
        let mask = t.clone().equal_elem(crate::special::PAD as i32);
        (t, mask)
    }

    struct GradCheck<'a> {
        grads: &'a burn::tensor::Gradients,
        missing: Vec<String>,
        seen: usize,
    }

    impl ModuleVisitor for GradCheck<'_> {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            self.seen += 1;
            if param.val().grad(self.grads).is_none() {
                self.missing
                    .push(format!("{:?} {:?}", param.id, param.val().dims()));
            }
        }
    }

    /// The [`crate::Seq2Seq`] contract on a small batch: output shapes; cached step-by-step decoding
    /// equals the teacher-forced forward; attention rows sum to 1 and are exactly 0 on source
    /// padding (all zero for models without attention); more source padding changes nothing.
    pub fn assert_seq2seq_contract<M: crate::Seq2Seq>(
        model: &M,
        vocab_size: usize,
        has_attention: bool,
    ) {
        use burn::tensor::Tolerance;
        let dev = test_device();
        let (src, src_pad) = ids(&[&[4, 5, 6, 7], &[7, 8, 0, 0]], &dev);
        let (tgt, tgt_pad) = ids(&[&[2, 4, 5, 6, 9], &[2, 9, 10, 3, 0]], &dev);
        let logits = model.forward(src.clone(), src_pad.clone(), tgt.clone(), tgt_pad.clone());
        assert_eq!(logits.dims(), [2, 5, vocab_size]);

        let memory = model.encode(src, src_pad);
        let mut state = model.init_state(&memory);
        for t in 0..5 {
            let tokens = tgt.clone().slice(s![.., t..t + 1]).reshape([2]);
            let step = model.decode_step(&memory, tokens, state);
            state = step.state;
            let rows = if t < 4 { 0..2 } else { 0..1 }; // batch 1's last target position is padding
            let expected = logits
                .clone()
                .slice(s![rows.clone(), t..t + 1, ..])
                .reshape([rows.len(), vocab_size]);
            step.logits
                .slice(s![rows, ..])
                .into_data()
                .assert_approx_eq::<f32>(&expected.into_data(), Tolerance::rel_abs(1e-4, 1e-4));
            assert_eq!(step.attention.dims(), [2, 4]);
            let w: Vec<f32> = step.attention.into_data().try_to_vec().unwrap();
            assert_eq!((w[6], w[7]), (0.0, 0.0), "attention on padding");
            if has_attention {
                assert!((w[..4].iter().sum::<f32>() - 1.0).abs() < 1e-5);
                assert!((w[4..].iter().sum::<f32>() - 1.0).abs() < 1e-5);
            } else {
                assert!(w.iter().all(|&x| x == 0.0));
            }
        }

        let (src_long, pad_long) = ids(&[&[4, 5, 6, 7, 0, 0], &[7, 8, 0, 0, 0, 0]], &dev);
        let longer = model.forward(src_long, pad_long, tgt, tgt_pad);
        longer
            .into_data()
            .assert_approx_eq::<f32>(&logits.into_data(), Tolerance::rel_abs(1e-4, 1e-4));
    }

    /// Trains `model` on one small batch with Adam and asserts that the loss falls by 90% within
    /// `steps` steps (it stops there: how fast depends on the random initialisation, which
    /// tests running in parallel draw from one shared stream).
    pub fn assert_overfits_one_batch<M: crate::Seq2Seq + Module>(model: M, steps: usize) {
        use burn::nn::loss::CrossEntropyLossConfig;
        use burn::optim::{AdamConfig, GradientsParams};
        let dev = test_device().autodiff();
        let (src, src_pad) = ids(&[&[4, 5, 6, 7], &[7, 8, 9, 0], &[5, 5, 4, 0]], &dev);
        let (tgt_in, tgt_pad) = ids(
            &[&[2, 7, 6, 5, 4], &[2, 9, 8, 7, 0], &[2, 4, 5, 5, 0]],
            &dev,
        );
        let (tgt_out, _) = ids(
            &[&[7, 6, 5, 4, 3], &[9, 8, 7, 3, 0], &[4, 5, 5, 3, 0]],
            &dev,
        );
        let mut model = model;
        let mut optim = AdamConfig::new().init();
        let loss_of = |m: &M| {
            let logits = m.forward(
                src.clone(),
                src_pad.clone(),
                tgt_in.clone(),
                tgt_pad.clone(),
            );
            let [b, t, v] = logits.dims();
            CrossEntropyLossConfig::new()
                .with_pad_tokens(Some(vec![crate::special::PAD]))
                .init(&dev)
                .forward(logits.reshape([b * t, v]), tgt_out.clone().reshape([b * t]))
        };
        let first: f32 = loss_of(&model).into_scalar();
        let mut last = first;
        for _ in 0..steps {
            let loss = loss_of(&model);
            last = loss.clone().into_scalar();
            if last < 0.1 * first {
                break;
            }
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            model = optim.step(1e-2, model, grads);
        }
        assert!(
            last < 0.1 * first,
            "loss {first} -> {last} in {steps} steps"
        );
    }

    /// Back-propagates a loss of `model`'s teacher-forced logits on a small padded batch and
    /// asserts that every float parameter received a gradient.
    pub fn assert_gradients_reach_every_parameter<M: crate::Seq2Seq + Module>(model: &M) {
        let dev = model.devices()[0].clone();
        let (src, src_pad) = ids(&[&[4, 5, 6], &[7, 8, 0]], &dev);
        let (tgt, tgt_pad) = ids(&[&[2, 4, 5], &[2, 9, 0]], &dev);
        let loss = model
            .forward(src, src_pad, tgt, tgt_pad)
            .powi_scalar(2)
            .mean();
        let grads = loss.backward();
        let mut check = GradCheck {
            grads: &grads,
            missing: Vec::new(),
            seen: 0,
        };
        model.visit(&mut check);
        assert!(check.seen > 0);
        assert!(
            check.missing.is_empty(),
            "parameters without gradient: {:?}",
            check.missing
        );
    }
}
