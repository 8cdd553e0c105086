//! The one error type of reading artifacts, translating and scoring.

use std::path::PathBuf;

/// Why a load, a translation or an evaluation failed.
#[derive(thiserror::Error, Debug)]
pub enum InferError {
    /// Input data (a corpus, a vocabulary, a tokenizer file).
    #[error(transparent)]
    Data(#[from] transduce_data::DataError),
    /// An invalid model config, or weights that do not fit the model.
    #[error(transparent)]
    Model(#[from] transduce_nn::NnError),
    /// An invalid training config.
    #[error("invalid training config: {0}")]
    TrainingConfig(String),
    /// A file of the artifact directory.
    #[error("{path}: {message}")]
    Artifact {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// Search options that no search can run with.
    #[error(transparent)]
    Decode(#[from] transduce_decode::DecodeError),
    /// A file given to an import (a PyTorch state dict, a vocabulary) that cannot be read.
    #[error("{path}: {message}")]
    ImportFile {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// An imported vocabulary whose size differs from the rows of its embedding table.
    #[error(
        "the {side} vocabulary{} has {tokens} tokens, but the state dict's {tensor} has {rows} rows",
        .path.as_ref().map(|p| format!(" ({})", p.display())).unwrap_or_default()
    )]
    VocabSize {
        /// `source` or `target`.
        side: &'static str,
        /// The vocabulary file, when the vocabulary was read from one.
        path: Option<PathBuf>,
        /// Entries of the vocabulary.
        tokens: usize,
        /// The embedding table's name.
        tensor: String,
        /// Its rows.
        rows: usize,
    },
    /// Input that the model cannot take.
    #[error("{0}")]
    Input(String),
}

impl InferError {
    /// An artifact error from anything displayable.
    pub fn artifact(path: impl Into<PathBuf>, message: impl std::fmt::Display) -> Self {
        InferError::Artifact {
            path: path.into(),
            message: message.to_string(),
        }
    }
}
