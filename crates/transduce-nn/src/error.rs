//! The one error type of the model crate: invalid configurations, and PyTorch weights that do
//! not fit a model.

/// Why a model could not be configured or given weights.
#[derive(thiserror::Error, Clone, Debug, PartialEq)]
pub enum NnError {
    /// An invalid model configuration, found before any training starts.
    #[error("invalid model config: {0}")]
    Config(String),
    /// A tensor the module needs is not in the state dict.
    #[error("the state dict has no tensor {0:?}")]
    MissingTensor(String),
    /// A tensor has another shape than the module's.
    #[error("{name}: the model needs shape {expected:?}, the state dict has {found:?}")]
    TensorShape {
        /// The tensor's name.
        name: String,
        /// The module's shape.
        expected: Vec<usize>,
        /// The state dict's shape.
        found: Vec<usize>,
    },
    /// Tensors of the state dict that the model has no place for: the PyTorch model is not
    /// the one the config describes.
    #[error("the state dict has tensors the model does not use: {}", .0.join(", "))]
    UnusedTensors(Vec<String>),
    /// A tensor that the config says is shared with another (tied weights) holds other values.
    #[error("{name} must equal {of} (the config ties them), but the values differ")]
    NotTied {
        /// The tensor that should be a copy.
        name: String,
        /// The tensor it should be a copy of.
        of: String,
    },
}
