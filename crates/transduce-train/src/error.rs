//! The one error type of training, evaluation and artifacts.

use std::path::PathBuf;

/// Why a run, a load or an evaluation failed.
#[derive(thiserror::Error, Debug)]
pub enum TrainError {
    /// Input data.
    #[error(transparent)]
    Data(#[from] transduce_data::DataError),
    /// An invalid model config, or weights that do not fit the model.
    #[error(transparent)]
    Model(#[from] transduce_nn::NnError),
    /// A file of the artifact directory.
    #[error("{path}: {message}")]
    Artifact {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// Input that the model cannot take.
    #[error("{0}")]
    Input(String),
    /// Reading an artifact, translating or scoring.
    #[error(transparent)]
    Infer(#[from] transduce_infer::InferError),
    /// The learner stopped with an error.
    #[error("training failed: {0}")]
    Training(String),
}

impl TrainError {
    /// An artifact error from anything displayable.
    pub fn artifact(path: impl Into<PathBuf>, message: impl std::fmt::Display) -> Self {
        TrainError::Artifact {
            path: path.into(),
            message: message.to_string(),
        }
    }
}
