//! Everything between text and batches: tokenizers, vocabularies, corpora, built-in tasks and the
//! batcher that turns sentence pairs into [`transduce_nn::Seq2SeqBatch`] tensors.

pub mod batcher;
pub mod config;
pub mod corpus;
pub mod error;
pub mod prepare;
pub mod task;
pub mod tokenizer;
pub mod vocab;

pub use batcher::{Example, Seq2SeqBatcher, pad_ids};
pub use config::{DataConfig, LoadReport};
pub use corpus::{Pair, Splits, read_tsv, split_by_source};
pub use error::DataError;
pub use prepare::{Codec, Prepared};
pub use task::{Task, TaskConfig};
pub use tokenizer::Tokenizer;
pub use vocab::Vocab;
