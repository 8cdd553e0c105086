//! transduce: the classic sequence-to-sequence family (Elman RNN, Seq2Seq, attention, the
//! Transformer) on burn, trained, decoded, scored and inspected on any backend.
//!
//! The workspace's crates, re-exported:
//! - [`nn`]: model definitions and the [`nn::Seq2Seq`] trait;
//! - [`data`]: tokenizers, vocabularies, corpora, built-in tasks, batching;
//! - [`decode`]: greedy and beam search (length penalties, n-best) with attention capture;
//! - [`infer`]: artifact directories, translation, attention maps, BLEU and chrF (no training);
//! - [`train`]: burn-train integration (`train` for the built-in architectures, `fit` for any
//!   [`nn::Seq2Seq`] model);
//! - [`device`]: the run-time choice of backend.

#![warn(missing_docs)]

pub mod allocator;
pub mod bench;
pub mod cli;
pub mod config;
pub mod device;
pub mod experiment;
pub mod logging;
pub mod progress;
pub mod threads;

pub use transduce_data as data;
pub use transduce_decode as decode;
pub use transduce_infer as infer;
pub use transduce_nn as nn;
pub use transduce_train as train;

/// The README's Rust blocks, compiled and run as doctests.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;

/// The burn this crate is built on (0.22), so that a program using transduce need not pin the
/// same version itself: `use transduce::burn::prelude::*;`.
pub use burn;

/// The names most programs need: `use transduce::prelude::*;`.
pub mod prelude {
    pub use burn::prelude::*;
    pub use transduce_data::{Codec, DataConfig, Pair, Prepared, Task, TokenizerKind, pad_ids};
    pub use transduce_decode::{
        BeamConfig, Hypothesis, LengthPenalty, beam_search, beam_search_with_limits, greedy,
        greedy_with_limits,
    };
    pub use transduce_infer::evaluate::decode_limit;
    pub use transduce_infer::{
        Artifact, EvalReport, LengthLimit, RunConfig, TrainingConfig, Translator,
    };
    pub use transduce_nn::{
        Arch, BahdanauConfig, BatchSelect, CellKind, DecodeStep, LuongConfig, Model, ModelConfig,
        RnnSeq2SeqConfig, Score, Seq2Seq, TransformerConfig,
    };
    pub use transduce_train::{Dashboard, Fitted, TrainReport, fit, resume, train};
}
