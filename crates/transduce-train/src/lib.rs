//! Training transduce models with burn-train's learner, and the artifact directory that a run
//! leaves behind for `translate` and `eval`.

pub mod artifact;
pub mod checkpoint;
pub mod config;
pub mod error;
pub mod evaluate;
pub mod heatmap;
pub mod inspect;
pub mod metrics;
pub mod optim;
pub mod plot;
pub mod renderer;
pub mod score;
pub mod step;
pub mod train;

pub use artifact::Artifact;
pub use config::TrainingConfig;
pub use error::TrainError;
pub use evaluate::{EvalReport, LengthLimit, Translator};
pub use step::Seq2SeqTrainee;
pub use train::{Dashboard, TrainReport, resume, train, train_on_devices};
