//! The lecture's claims as experiments: each trains the models a recipe names on the same data
//! and device, measures them, and writes a markdown table, CSV files and PNG plots.
//!
//! - [`length`]: a fixed context vector loses information on long inputs; attention fixes it.
//! - [`speed`]: training and decoding speed of every family on the same data.
//!
//! A recipe is a JSON file in `assets/configs/` (`experiment-*.json`): the data, the training
//! options every model shares, and the models as partial model configs
//! (`{"arch": "seq2seq", "cell": "gru"}`) merged over each architecture's defaults, as
//! `--config` files are.

pub mod length;
pub mod speed;

use std::path::{Path, PathBuf};

use anyhow::Context;
use burn::module::Module;
use burn::prelude::Device;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use transduce_data::{DataConfig, Prepared};
use transduce_infer::TrainingConfig;
use transduce_infer::artifact::{RunConfig, merge_json};
use transduce_nn::ModelConfig;
use transduce_train::{Dashboard, TrainReport, train_on_devices};

use crate::config::default_model;

pub use length::{LengthRecipe, length_study, read_length_recipe};
pub use speed::{SpeedRecipe, read_speed_recipe, speed_study};

/// One model of a recipe.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecipeModel {
    /// Its name in the table and the legend.
    pub name: String,
    /// A partial model config, merged over the architecture's defaults.
    pub model: Value,
    /// Training options for this model only.
    #[serde(default)]
    pub training: Value,
}

/// The model config of `model`, merged over its architecture's defaults, with vocabulary sizes
/// set.
fn model_config(model: &RecipeModel, vocab: (usize, usize)) -> anyhow::Result<ModelConfig> {
    let arch = model
        .model
        .get("arch")
        .and_then(Value::as_str)
        .with_context(|| format!("model {:?}: no \"arch\"", model.name))?;
    let mut value = serde_json::to_value(default_model(arch)?)?;
    merge_json(&mut value, model.model.clone());
    let mut config: ModelConfig = serde_json::from_value(value)
        .with_context(|| format!("model {:?}: not a valid model config", model.name))?;
    config.set_vocab_sizes(vocab.0, vocab.1);
    config
        .validate()
        .with_context(|| format!("model {:?}", model.name))?;
    Ok(config)
}

/// The model config of `model` (as [`model_config`]) with its width chosen so that its
/// parameter count is nearest `target`; and that count.
fn sized_model(
    model: &RecipeModel,
    vocab: (usize, usize),
    target: usize,
) -> anyhow::Result<(ModelConfig, usize)> {
    let base = model_config(model, vocab)?;
    let with_width = |width: usize| -> ModelConfig {
        let mut config = base.clone();
        match &mut config {
            ModelConfig::Transformer(c) => {
                c.d_model = width;
                c.d_ff = 4 * width;
            }
            ModelConfig::Seq2seq(c) => c.d_hidden = width,
            ModelConfig::Luong(c) => c.d_hidden = width,
            ModelConfig::Bahdanau(c) => c.d_hidden = width,
        }
        config
    };
    // Widths in steps of 8 (heads divide them); parameters grow with the width.
    let params = |width: usize| with_width(width).init(&Device::flex()).num_params();
    let (mut lo, mut hi) = (1usize, 256usize); // in steps of 8
    while lo < hi {
        let mid = (lo + hi) / 2;
        if params(8 * mid) < target {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    let (best, count) = [lo.saturating_sub(1).max(1), lo]
        .into_iter()
        .map(|w| (w, params(8 * w)))
        .min_by_key(|&(_, count)| count.abs_diff(target))
        .expect("two candidates");
    let config = with_width(8 * best);
    config
        .validate()
        .with_context(|| format!("model {:?}", model.name))?;
    Ok((config, count))
}

/// `recipe`'s training options, then `model`'s own, merged over [`TrainingConfig`]'s defaults
/// with `seed`.
fn training_config(
    recipe: &Value,
    model: &RecipeModel,
    seed: u64,
    recipe_path: &Path,
) -> anyhow::Result<TrainingConfig> {
    let mut training = serde_json::to_value(TrainingConfig::new().with_seed(seed))?;
    for options in [recipe, &model.training] {
        if options.is_object() {
            merge_json(&mut training, options.clone());
        }
    }
    let training: TrainingConfig = serde_json::from_value(training).with_context(|| {
        format!(
            "{}: model {:?}: training options",
            recipe_path.display(),
            model.name
        )
    })?;
    training.validate()?;
    Ok(training)
}

/// What every model of a study shares: the data, the recipe's training options and seed, the
/// device, and the directory the runs go to.
struct Study<'a> {
    data: DataConfig,
    prepared: Prepared,
    training: &'a Value,
    seed: u64,
    recipe_path: &'a Path,
    device: &'a Device,
    device_name: &'a str,
    out: &'a Path,
}

impl<'a> Study<'a> {
    /// Creates `out` and prepares `data` with the recipe's seed.
    fn prepare(
        data: DataConfig,
        training: &'a Value,
        seed: u64,
        recipe_path: &'a Path,
        device: &'a Device,
        device_name: &'a str,
        out: &'a Path,
    ) -> anyhow::Result<Self> {
        std::fs::create_dir_all(out)
            .with_context(|| format!("{}: cannot create", out.display()))?;
        let (prepared, _) = data.prepare(seed)?;
        Ok(Study {
            data,
            prepared,
            training,
            seed,
            recipe_path,
            device,
            device_name,
            out,
        })
    }

    /// Source and target vocabulary sizes.
    fn vocab(&self) -> (usize, usize) {
        let codec = &self.prepared.codec;
        (codec.src_vocab.len(), codec.tgt_vocab.len())
    }

    /// Training target tokens (with `<eos>`) in one epoch.
    fn target_tokens(&self) -> usize {
        let prepared = &self.prepared;
        prepared
            .splits
            .train
            .iter()
            .map(|p| prepared.codec.encode_tgt(&p.tgt).len() + 1)
            .sum()
    }
}

impl Study<'_> {
    /// Trains `model` as `config` (of `n_params` parameters) into `out/runs/<name>`, printing the
    /// epoch lines; returns the report and the run directory.
    fn train(
        &self,
        model: &RecipeModel,
        config: ModelConfig,
        n_params: usize,
    ) -> anyhow::Result<(TrainReport, PathBuf)> {
        let run = RunConfig {
            model: config,
            training: training_config(self.training, model, self.seed, self.recipe_path)?,
            data: self.data.clone(),
        };
        let dir = self.out.join("runs").join(slug(&model.name));
        println!(
            "== {} ({}, {n_params} parameters) on {}",
            model.name,
            run.model.arch(),
            self.device_name
        );
        let report = train_on_devices(
            &run,
            &self.prepared,
            std::slice::from_ref(self.device),
            &dir,
            Dashboard::Lines,
        )?;
        Ok((report, dir))
    }
}

/// `data`'s partial data config over [`DataConfig`]'s defaults.
fn data_config(data: &Value, recipe_path: &Path) -> anyhow::Result<DataConfig> {
    let mut value = serde_json::to_value(DataConfig::default())?;
    merge_json(&mut value, data.clone());
    serde_json::from_value(value)
        .with_context(|| format!("{}: \"data\" is not a data config", recipe_path.display()))
}

/// The CPU this runs on, from `/proc/cpuinfo` (for the report).
pub fn cpu_name() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into())
}

/// A file-name-safe form of a model name.
fn slug(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect::<String>()
        .split('-')
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("-")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn models_are_sized_to_the_target() {
        for model in [
            serde_json::json!({"arch": "seq2seq", "cell": "gru"}),
            serde_json::json!({"arch": "luong"}),
            serde_json::json!({"arch": "transformer", "n_encoder_layers": 2, "n_decoder_layers": 2}),
        ] {
            let recipe_model = RecipeModel {
                name: "m".into(),
                model,
                training: Value::Null,
            };
            let (config, counted) = sized_model(&recipe_model, (14, 14), 100_000).unwrap();
            let params = config.init(&Device::flex()).num_params();
            assert_eq!(counted, params);
            assert!(
                (70_000..130_000).contains(&params),
                "{}: {params}",
                config.arch()
            );
        }
        let bad = RecipeModel {
            name: "m".into(),
            model: serde_json::json!({"cell": "gru"}),
            training: Value::Null,
        };
        assert!(
            sized_model(&bad, (14, 14), 1000)
                .unwrap_err()
                .to_string()
                .contains("no \"arch\"")
        );
    }

    #[test]
    fn slugs_are_file_names() {
        assert_eq!(slug("LSTM, reversed source"), "lstm-reversed-source");
    }
}
