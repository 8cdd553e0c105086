//! transduce: the classic sequence-to-sequence family (Elman RNN, Seq2Seq, attention, the
//! Transformer) on burn, trained, decoded, scored and inspected on any backend.
//!
//! The workspace's crates, re-exported:
//! - [`nn`]: model definitions and the [`nn::Seq2Seq`] trait;
//! - [`data`]: tokenizers, vocabularies, corpora, built-in tasks, batching;
//! - [`decode`]: greedy search with attention capture;
//! - [`infer`]: artifact directories, translation, attention maps, BLEU and chrF (no training);
//! - [`train`]: burn-train integration;
//! - [`device`]: the run-time choice of backend.

pub mod allocator;
pub mod bench;
pub mod cli;
pub mod config;
pub mod device;
pub mod logging;
pub mod progress;
pub mod threads;

pub use transduce_data as data;
pub use transduce_decode as decode;
pub use transduce_infer as infer;
pub use transduce_nn as nn;
pub use transduce_train as train;
