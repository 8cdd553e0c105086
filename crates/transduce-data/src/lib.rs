//! Everything between text and batches: tokenizers, vocabularies, corpora, built-in tasks and the
//! batcher that turns sentence pairs into [`transduce_nn::Seq2SeqBatch`] tensors.

#![warn(missing_docs)]

pub mod batcher;
pub mod bpe;
pub mod bucket;
pub mod config;
pub mod corpus;
pub mod embeddings;
pub mod error;
pub mod moses;
pub mod prepare;
pub mod task;
pub mod tokenizer;
pub mod vocab;
pub mod words;

pub use batcher::{Example, Seq2SeqBatcher, pad_ids};
pub use bucket::{BatchPlan, padding_fraction};
pub use config::{DataConfig, Direction, LoadReport, Normalization};
pub use corpus::{Pair, Splits, read_aligned, read_tsv, split_by_source};
pub use embeddings::{Pretrained, read_vectors};
pub use error::DataError;
pub use moses::Lang;
pub use prepare::{Codec, Prepared};
pub use task::{Task, TaskConfig};
pub use tokenizer::{Tokenizer, TokenizerKind};
pub use vocab::Vocab;
