//! **Speed** (Vaswani et al. 2017, §4: self-attention needs O(1) sequential operations per
//! layer where a recurrent layer needs O(n)): every family learns the same data on the same
//! device, and three things are measured for each model.
//!
//! 1. Training on the recipe's data: seconds per epoch, training target tokens per second
//!    (validation included, as a user waits for it), and the wall time until the validation
//!    score first reaches the recipe's target (read from the run's `metrics.csv`, whose
//!    `elapsed_s` is each epoch's end).
//! 2. Training steps against sequence length: the model's training step (forward, backward,
//!    Adam) on random batches whose sources and targets are all exactly `L` tokens, for each `L`
//!    of `step_lengths`: target tokens per second. A recurrent layer walks the `L` positions one
//!    after another; the Transformer computes them in one matrix product per layer.
//! 3. Decoding against output length: the trained model decodes random sources to exactly each
//!    of `decode_lengths` tokens, greedily (with its cache) and with beam 4.
//!
//! The recipe (`assets/configs/experiment-speed.json`) names the data as a partial data config
//! (a built-in task or corpus files), an optional parameter budget each model is sized to (as
//! the length study does), the training options and the models.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context, bail};
use burn::module::Module;
use burn::prelude::Device;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use transduce_infer::artifact::{Artifact, write_atomic};
use transduce_nn::Model;
use transduce_train::history::{self, EpochMetrics};
use transduce_train::plot::{Series, line_plot_with};

use super::{RecipeModel, Study, cpu_name, data_config, model_config, sized_model};
use crate::bench::{decode_seconds, random_pairs, train_step_seconds};

/// A speed study's recipe.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpeedRecipe {
    /// The data every model learns: a partial data config over the defaults (`{"task":
    /// "reverse", "max_len": 25}`, or corpus files as `train --config` takes them).
    pub data: Value,
    /// Parameters each model is sized to (its width is searched); without it, each model's
    /// config is used as given.
    #[serde(default)]
    pub target_params: Option<usize>,
    /// Seed of the data, the weights and the batch order.
    pub seed: u64,
    /// Training options every model shares, over the defaults (a model's own `training`
    /// overrides them).
    #[serde(default)]
    pub training: Value,
    /// The validation score whose first crossing is timed.
    pub target: TargetScore,
    /// Sequence lengths of the timed training steps.
    pub step_lengths: Vec<usize>,
    /// Sentence pairs per timed training step.
    pub step_batch: usize,
    /// Timed training steps per length (the median is reported), after one warm-up step.
    pub step_repeats: usize,
    /// Output lengths of the timed decoding.
    pub decode_lengths: Vec<usize>,
    /// Sentences decoded together (random sources of 12–24 tokens).
    pub decode_batch: usize,
    /// The models.
    pub models: Vec<RecipeModel>,
}

/// A validation score and the value to reach.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetScore {
    /// `exact_match` (percent), `bleu` or `chrf`.
    pub metric: ScoreMetric,
    /// The value to reach, in the metric's units (0–100).
    pub value: f64,
}

/// A validation score of `metrics.csv`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScoreMetric {
    /// `valid_exact_match`, in percent.
    ExactMatch,
    /// `valid_bleu`.
    Bleu,
    /// `valid_chrf`.
    Chrf,
}

impl ScoreMetric {
    /// Its name in tables.
    pub fn label(self) -> &'static str {
        match self {
            ScoreMetric::ExactMatch => "exact match",
            ScoreMetric::Bleu => "BLEU",
            ScoreMetric::Chrf => "chrF",
        }
    }

    /// Its value in one epoch's row.
    pub fn of(self, row: &EpochMetrics) -> f64 {
        match self {
            ScoreMetric::ExactMatch => row.valid_exact_match,
            ScoreMetric::Bleu => row.valid_bleu,
            ScoreMetric::Chrf => row.valid_chrf,
        }
    }
}

/// One model's training speed on the recipe's data.
#[derive(Clone, Debug, Serialize)]
pub struct TrainingSpeed {
    /// Model name.
    pub model: String,
    /// Architecture.
    pub arch: String,
    /// Parameters.
    pub params: usize,
    /// Epochs run.
    pub epochs: usize,
    /// Mean wall seconds per epoch (validation included).
    pub seconds_per_epoch: f64,
    /// Training target tokens (with `<eos>`) per second of wall time.
    pub tokens_per_second: f64,
    /// Wall seconds until the validation score first reached the target, and the epoch; `None`
    /// if it never did.
    pub time_to_target: Option<(f64, usize)>,
    /// The best validation score of any epoch.
    pub best_score: f64,
    /// Each epoch's end in wall seconds, and its validation score.
    pub curve: Vec<(f64, f64)>,
}

/// One model's training-step speed at one sequence length.
#[derive(Clone, Debug, Serialize)]
pub struct StepSpeed {
    /// Model name.
    pub model: String,
    /// Source and target tokens per sentence.
    pub length: usize,
    /// Median seconds per step.
    pub seconds: f64,
    /// Target tokens (with `<eos>`) per second.
    pub tokens_per_second: f64,
}

/// One model's decoding speed at one output length.
#[derive(Clone, Debug, Serialize)]
pub struct DecodeSpeed {
    /// Model name.
    pub model: String,
    /// Tokens decoded per sentence.
    pub length: usize,
    /// Greedy decoding: tokens per second.
    pub greedy_tokens_per_second: f64,
    /// Beam search of width 4: tokens per second (one per sentence and step).
    pub beam4_tokens_per_second: f64,
}

/// Everything a speed study measured.
#[derive(Clone, Debug, Default, Serialize)]
pub struct SpeedResults {
    /// Training on the recipe's data.
    pub training: Vec<TrainingSpeed>,
    /// Training steps against sequence length.
    pub steps: Vec<StepSpeed>,
    /// Decoding against output length.
    pub decoding: Vec<DecodeSpeed>,
}

/// Reads a recipe file.
pub fn read_speed_recipe(path: &Path) -> anyhow::Result<SpeedRecipe> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("{}: cannot read the recipe", path.display()))?;
    let recipe: SpeedRecipe = serde_json::from_str(&text)
        .map_err(|e| anyhow::anyhow!("{}:{}: {e}", path.display(), e.line()))?;
    if recipe.models.is_empty() {
        bail!("{}: no models", path.display());
    }
    if recipe.step_lengths.contains(&0) || recipe.decode_lengths.contains(&0) {
        bail!("{}: lengths must be at least 1", path.display());
    }
    if recipe.step_batch == 0 || recipe.step_repeats == 0 || recipe.decode_batch == 0 {
        bail!(
            "{}: step_batch, step_repeats and decode_batch must be at least 1",
            path.display()
        );
    }
    Ok(recipe)
}

/// Runs the speed study of `recipe` on `device` into `out`: `runs/<model>/` (each model's
/// artifact), `speed.md`, `speed.csv`, `speed_epochs.csv`, `speed_steps.csv`,
/// `speed_decode.csv` and three plots.
pub fn speed_study(
    recipe: &SpeedRecipe,
    recipe_path: &Path,
    device: &Device,
    device_name: &str,
    out: &Path,
) -> anyhow::Result<SpeedResults> {
    let study = Study::prepare(
        data_config(&recipe.data, recipe_path)?,
        &recipe.training,
        recipe.seed,
        recipe_path,
        device,
        device_name,
        out,
    )?;
    let (prepared, vocab) = (&study.prepared, study.vocab());
    let tokens_per_epoch = study.target_tokens();
    let mut results = SpeedResults::default();
    for model in &recipe.models {
        let (config, n_params) = match recipe.target_params {
            Some(target) => sized_model(model, vocab, target)?,
            None => {
                let config = model_config(model, vocab)?;
                let n_params = config.init(&Device::flex()).num_params();
                (config, n_params)
            }
        };
        let (report, dir) = study.train(model, config.clone(), n_params)?;

        let rows = history::read(&dir);
        let metric = recipe.target.metric;
        let elapsed = rows
            .last()
            .map(|r| r.elapsed_s)
            .filter(|s| s.is_finite())
            .unwrap_or(report.train_seconds);
        results.training.push(TrainingSpeed {
            model: model.name.clone(),
            arch: report.arch.clone(),
            params: report.n_params,
            epochs: report.epochs,
            seconds_per_epoch: elapsed / report.epochs.max(1) as f64,
            tokens_per_second: (tokens_per_epoch * report.epochs) as f64 / elapsed,
            time_to_target: rows
                .iter()
                .find(|r| metric.of(r) >= recipe.target.value)
                .map(|r| (r.elapsed_s, r.epoch)),
            best_score: rows.iter().map(|r| metric.of(r)).fold(f64::NAN, f64::max),
            curve: rows.iter().map(|r| (r.elapsed_s, metric.of(r))).collect(),
        });

        println!("   training steps by sequence length");
        for &length in &recipe.step_lengths {
            let (seconds, tokens) = train_step_seconds(
                &config,
                recipe.step_batch,
                length,
                recipe.step_repeats,
                device,
            );
            results.steps.push(StepSpeed {
                model: model.name.clone(),
                length,
                seconds,
                tokens_per_second: tokens as f64 / seconds,
            });
        }

        println!("   decoding by output length");
        let trained: Model = Artifact::open(&dir)?.load_model(device)?;
        let (batch, _) = random_pairs(vocab, recipe.decode_batch, (12, 24), 999, device);
        for (length, greedy_s, beam4_s) in decode_seconds(&trained, &batch, &recipe.decode_lengths)
        {
            let tokens = (recipe.decode_batch * length) as f64;
            results.decoding.push(DecodeSpeed {
                model: model.name.clone(),
                length,
                greedy_tokens_per_second: tokens / greedy_s,
                beam4_tokens_per_second: tokens / beam4_s,
            });
        }
        write_results(
            recipe,
            recipe_path,
            device_name,
            tokens_per_epoch,
            prepared.splits.train.len(),
            out,
            &results,
        )?;
    }
    Ok(results)
}

/// Writes the tables, CSV files and plots (after each model, so that an interrupted study keeps
/// what it finished).
fn write_results(
    recipe: &SpeedRecipe,
    recipe_path: &Path,
    device_name: &str,
    tokens_per_epoch: usize,
    n_train: usize,
    out: &Path,
    results: &SpeedResults,
) -> anyhow::Result<()> {
    let metric = recipe.target.metric;
    let target = recipe.target.value;
    let metric_key = match metric {
        ScoreMetric::ExactMatch => "exact_match",
        ScoreMetric::Bleu => "bleu",
        ScoreMetric::Chrf => "chrf",
    };

    let mut csv = format!(
        "model,arch,params,epochs,seconds_per_epoch,tokens_per_second,seconds_to_target,epoch_to_target,best_valid_{metric_key}\n"
    );
    for t in &results.training {
        let (s, e) = t
            .time_to_target
            .map_or((String::new(), String::new()), |(s, e)| {
                (format!("{s:.1}"), e.to_string())
            });
        writeln!(
            csv,
            "{},{},{},{},{:.2},{:.0},{s},{e},{:.2}",
            t.model,
            t.arch,
            t.params,
            t.epochs,
            t.seconds_per_epoch,
            t.tokens_per_second,
            t.best_score
        )?;
    }
    write_atomic(&out.join("speed.csv"), csv)?;

    let mut csv = format!("model,epoch,elapsed_s,valid_{metric_key}\n");
    for t in &results.training {
        for (epoch, (s, v)) in t.curve.iter().enumerate() {
            writeln!(csv, "{},{},{s:.2},{v:.2}", t.model, epoch + 1)?;
        }
    }
    write_atomic(&out.join("speed_epochs.csv"), csv)?;

    let mut csv = String::from("model,length,seconds,tokens_per_second\n");
    for s in &results.steps {
        writeln!(
            csv,
            "{},{},{:.4},{:.0}",
            s.model, s.length, s.seconds, s.tokens_per_second
        )?;
    }
    write_atomic(&out.join("speed_steps.csv"), csv)?;

    let mut csv = String::from("model,length,greedy_tokens_per_second,beam4_tokens_per_second\n");
    for d in &results.decoding {
        writeln!(
            csv,
            "{},{},{:.0},{:.0}",
            d.model, d.length, d.greedy_tokens_per_second, d.beam4_tokens_per_second
        )?;
    }
    write_atomic(&out.join("speed_decode.csv"), csv)?;

    let mut md = String::new();
    writeln!(
        md,
        "Speed study: `{}` ({n_train} training pairs, {tokens_per_epoch} target tokens per epoch{}), on {device_name}, {}.\n",
        recipe_path.display(),
        recipe.target_params.map_or(String::new(), |p| format!(
            ", about {p} parameters per model"
        )),
        cpu_name()
    )?;
    writeln!(
        md,
        "| model | arch | parameters | epochs | s per epoch | target tokens/s | time to validation {} ≥ {target} | best validation {} |",
        metric.label(),
        metric.label()
    )?;
    writeln!(md, "|---|---|---:|---:|---:|---:|---:|---:|")?;
    for t in &results.training {
        writeln!(
            md,
            "| {} | {} | {} | {} | {:.1} | {:.0} | {} | {:.1} |",
            t.model,
            t.arch,
            t.params,
            t.epochs,
            t.seconds_per_epoch,
            t.tokens_per_second,
            t.time_to_target
                .map_or("not reached".into(), |(s, e)| format!(
                    "{s:.0} s (epoch {e})"
                )),
            t.best_score
        )?;
    }
    writeln!(
        md,
        "\nTraining steps by sequence length (random batches of {} pairs, source and target exactly L tokens; median of {} steps after one warm-up): target tokens per second.\n",
        recipe.step_batch, recipe.step_repeats
    )?;
    table(
        &mut md,
        &recipe.step_lengths,
        &results.training,
        |model, length| {
            results
                .steps
                .iter()
                .find(|s| s.model == model && s.length == length)
                .map(|s| format!("{:.0}", s.tokens_per_second))
        },
    )?;
    writeln!(
        md,
        "\nDecoding by output length ({} random sources of 12-24 tokens, each decoded to exactly L tokens): tokens per second, greedy / beam 4.\n",
        recipe.decode_batch
    )?;
    table(
        &mut md,
        &recipe.decode_lengths,
        &results.training,
        |model, length| {
            results
                .decoding
                .iter()
                .find(|d| d.model == model && d.length == length)
                .map(|d| {
                    format!(
                        "{:.0} / {:.0}",
                        d.greedy_tokens_per_second, d.beam4_tokens_per_second
                    )
                })
        },
    )?;
    write_atomic(&out.join("speed.md"), md)?;

    let series = |points: &dyn Fn(&str) -> Vec<(f64, f64)>| -> Vec<(String, Vec<(f64, f64)>)> {
        results
            .training
            .iter()
            .map(|t| (t.model.clone(), points(&t.model)))
            .collect()
    };
    let curves = series(&|model| {
        results
            .training
            .iter()
            .find(|t| t.model == model)
            .map_or(Vec::new(), |t| t.curve.clone())
    });
    let steps = series(&|model| {
        results
            .steps
            .iter()
            .filter(|s| s.model == model)
            .map(|s| (s.length as f64, s.tokens_per_second))
            .collect()
    });
    let decoding = series(&|model| {
        results
            .decoding
            .iter()
            .filter(|d| d.model == model)
            .map(|d| (d.length as f64, d.greedy_tokens_per_second))
            .collect()
    });
    for (file, title, x_label, y_label, lines) in [
        (
            "speed_valid_vs_time.png",
            format!("Validation {} against training time", metric.label()),
            "wall time (s)",
            format!("validation {}", metric.label()),
            curves,
        ),
        (
            "speed_train_vs_length.png",
            "Training speed by sequence length".into(),
            "source and target length (tokens)",
            "target tokens per second".into(),
            steps,
        ),
        (
            "speed_decode_vs_length.png",
            "Greedy decoding speed by output length".into(),
            "output length (tokens)",
            "tokens per second".into(),
            decoding,
        ),
    ] {
        let series: Vec<Series> = lines
            .iter()
            .map(|(name, points)| Series {
                name,
                points: points.clone(),
            })
            .collect();
        line_plot_with(&out.join(file), &title, x_label, &y_label, &series, None)?;
    }
    Ok(())
}

/// A markdown table: one row per trained model, one column per length, `cell(model, length)`.
fn table(
    md: &mut String,
    lengths: &[usize],
    models: &[TrainingSpeed],
    cell: impl Fn(&str, usize) -> Option<String>,
) -> std::fmt::Result {
    let header: Vec<String> = lengths.iter().map(|l| format!("L = {l}")).collect();
    writeln!(md, "| model | {} |", header.join(" | "))?;
    writeln!(md, "|---|{}", "---:|".repeat(lengths.len()))?;
    for t in models {
        let cells: Vec<String> = lengths
            .iter()
            .map(|&l| cell(&t.model, l).unwrap_or_default())
            .collect();
        writeln!(md, "| {} | {} |", t.model, cells.join(" | "))?;
    }
    Ok(())
}
