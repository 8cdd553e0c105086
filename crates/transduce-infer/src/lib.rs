//! Using a trained transduce model without training: open the artifact directory a run wrote,
//! translate with greedy or beam search ([`Translator`]), read attention maps ([`inspect`]), and
//! score translations with BLEU and chrF exactly as sacreBLEU does ([`score`]).
//!
//! Its dependency graph holds no burn-train and no plotting library, so a server or a browser
//! build can link it alone; `transduce-train` depends on it for validation.

#![warn(missing_docs)]

pub mod artifact;
pub mod bundle;
pub mod config;
pub mod error;
pub mod evaluate;
pub mod import;
pub mod inspect;
pub mod score;

pub use artifact::{Artifact, RunConfig};
pub use bundle::Bundle;
pub use config::TrainingConfig;
pub use error::InferError;
pub use evaluate::{EvalReport, LengthLimit, Translator};
pub use import::{import_pytorch, read_import_config};
