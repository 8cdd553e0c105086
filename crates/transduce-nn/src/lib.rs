//! Model definitions for transduce: the sequence-to-sequence family as burn modules.
//!
//! Every architecture implements [`Seq2Seq`]: teacher-forced [`Seq2Seq::forward`],
//! [`Seq2Seq::encode`] and a caller-owned, step-by-step [`Seq2Seq::decode_step`], so that greedy
//! search, beam search, the training step and the attention plots are written once.
//!
//! This crate holds model maths only: no backend feature, no file I/O, no burn-train.
#![warn(missing_docs)]

pub mod bahdanau;
pub mod batch;
pub mod luong;
pub mod model;
pub mod rnn;
pub mod rnn_seq2seq;
pub mod seq2seq;
pub mod special;
pub mod transformer;

pub use bahdanau::{Bahdanau, BahdanauConfig};
pub use batch::Seq2SeqBatch;
pub use luong::{Luong, LuongConfig};
pub use model::{Model, ModelConfig, ModelMemory, ModelState};
pub use rnn::attention::Score;
pub use rnn::cell::CellKind;
pub use rnn_seq2seq::{RnnSeq2Seq, RnnSeq2SeqConfig};
pub use seq2seq::{BatchSelect, ConfigError, DecodeStep, Seq2Seq};
pub use transformer::{Transformer, TransformerConfig};

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

    /// Back-propagates `loss` and asserts that every float parameter of `model` received a gradient.
    pub fn assert_every_parameter_has_a_gradient<M: Module>(model: &M, loss: Tensor<1>) {
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
