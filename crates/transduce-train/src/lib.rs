//! Training transduce models with burn-train's learner, and the artifact directory that a run
//! leaves behind for `translate` and `eval`.

#![warn(missing_docs)]

mod best;
pub mod checkpoint;
mod epoch;
pub mod error;
pub mod fit;
pub mod heatmap;
pub mod history;
pub mod metrics;
pub mod optim;
pub mod plot;
mod policies;
mod pretrained;
pub mod renderer;
pub mod step;
pub mod train;

// Reading artifacts, translating and scoring live in `transduce-infer`; these paths stay.
pub use error::TrainError;
pub use fit::{Fitted, fit};
pub use step::Seq2SeqTrainee;
pub use train::{Dashboard, TrainReport, resume, train, train_on_devices};
pub use transduce_infer::{
    Artifact, EvalReport, LengthLimit, TrainingConfig, Translator, artifact, config, evaluate,
    inspect, score,
};
