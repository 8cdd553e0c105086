//! **Length** (Bahdanau et al. 2015, Fig. 2; Sutskever et al. 2014 on reversing the source):
//! models without attention (Elman, GRU, LSTM; the LSTM also reading its source backwards),
//! with Luong's and Bahdanau's attention, and a Transformer, each sized to about the same
//! number of parameters, learn a digit task on sources of the training lengths, then translate
//! fresh sources of every length of the evaluation range (beyond the training lengths too).
//! Exact match and chrF are reported per length bucket, and plotted against length with the
//! training range shaded.
//!
//! A recipe is a JSON file (`assets/configs/experiment-length.json`): the task and lengths,
//! how many pairs, the parameter budget, the training options every model shares, and the
//! models as partial model configs (`{"arch": "seq2seq", "cell": "gru"}`) merged over each
//! architecture's defaults, as `--config` files are.

use std::collections::HashSet;
use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context, bail};
use burn::prelude::Device;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use transduce_data::{DataConfig, Pair, Task};
use transduce_infer::artifact::{Artifact, write_atomic};
use transduce_train::plot::{Series, Shade, line_plot_with};

use super::{RecipeModel, Study, cpu_name, sized_model};

/// A length study's recipe.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LengthRecipe {
    /// A digit task: `reverse`, `copy` or `sort`.
    pub task: Task,
    /// Shortest and longest training source, in digits.
    pub train_lengths: [usize; 2],
    /// Shortest and longest evaluated source.
    pub eval_lengths: [usize; 2],
    /// Sources of one length in each bucket of the table and plots.
    pub bucket: usize,
    /// Fresh sources evaluated per length (fewer where fewer exist outside the training set).
    pub eval_per_length: usize,
    /// Training pairs.
    pub n_train: usize,
    /// Validation pairs (the best epoch is chosen on them).
    pub n_valid: usize,
    /// Parameters each model is sized to (its width is searched for the nearest count).
    pub target_params: usize,
    /// Seed of the data, the weights and the batch order.
    pub seed: u64,
    /// Training options every model shares, over [`TrainingConfig`]'s defaults (a model's own
    /// `training` overrides them).
    #[serde(default)]
    pub training: Value,
    /// The models.
    pub models: Vec<RecipeModel>,
}

/// One model's score on one bucket of lengths.
#[derive(Clone, Debug, Serialize)]
pub struct BucketScore {
    /// Model name.
    pub model: String,
    /// Shortest source length in the bucket.
    pub from: usize,
    /// Longest source length in the bucket.
    pub to: usize,
    /// Pairs evaluated.
    pub n: usize,
    /// Fraction translated exactly, in [0, 1].
    pub exact_match: f64,
    /// Corpus chrF, in [0, 100].
    pub chrf: f64,
}

/// One trained model.
#[derive(Clone, Debug, Serialize)]
pub struct Trained {
    /// Model name.
    pub model: String,
    /// Architecture.
    pub arch: String,
    /// Parameters.
    pub params: usize,
    /// Epochs run, and the one kept.
    pub epochs: usize,
    /// The epoch whose weights were kept.
    pub best_epoch: Option<usize>,
    /// Wall time of training, in seconds.
    pub train_seconds: f64,
    /// Training target tokens (with `<eos>`) per second of the training loop, validation
    /// included.
    pub tokens_per_second: f64,
}

/// Reads a recipe file.
pub fn read_length_recipe(path: &Path) -> anyhow::Result<LengthRecipe> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("{}: cannot read the recipe", path.display()))?;
    let recipe: LengthRecipe = serde_json::from_str(&text)
        .map_err(|e| anyhow::anyhow!("{}:{}: {e}", path.display(), e.line()))?;
    let [lo, hi] = recipe.train_lengths;
    let [elo, ehi] = recipe.eval_lengths;
    if lo == 0 || lo > hi || elo == 0 || elo > ehi || recipe.bucket == 0 {
        bail!(
            "{}: lengths must be 1 <= from <= to and bucket at least 1",
            path.display()
        );
    }
    if !matches!(recipe.task, Task::Reverse | Task::Copy | Task::Sort) {
        bail!(
            "{}: the length study needs a digit task (reverse, copy or sort)",
            path.display()
        );
    }
    if recipe.models.is_empty() {
        bail!("{}: no models", path.display());
    }
    Ok(recipe)
}

/// Runs the length study of `recipe` on `device` into `out`: `runs/<model>/` (each model's
/// artifact), `length.csv`, `length.md`, `length_exact_match.png` and `length_chrf.png`.
pub fn length_study(
    recipe: &LengthRecipe,
    recipe_path: &Path,
    device: &Device,
    device_name: &str,
    out: &Path,
) -> anyhow::Result<(Vec<Trained>, Vec<BucketScore>)> {
    let [lo, hi] = recipe.train_lengths;
    let data = DataConfig {
        task: recipe.task,
        n_train: recipe.n_train,
        n_valid: recipe.n_valid,
        n_test: recipe.n_valid.min(200),
        min_len: lo,
        max_len: hi,
        ..DataConfig::default()
    };
    let study = Study::prepare(
        data,
        &recipe.training,
        recipe.seed,
        recipe_path,
        device,
        device_name,
        out,
    )?;
    let (prepared, vocab) = (&study.prepared, study.vocab());
    // Fresh sources of every evaluated length: none seen in training or validation.
    let seen: HashSet<String> = prepared
        .splits
        .train
        .iter()
        .chain(&prepared.splits.valid)
        .map(|p| p.src.clone())
        .collect();
    let [elo, ehi] = recipe.eval_lengths;
    let by_length: Vec<(usize, Vec<Pair>)> = (elo..=ehi)
        .map(|len| {
            let seed = recipe.seed.wrapping_mul(1000).wrapping_add(len as u64);
            (
                len,
                recipe
                    .task
                    .pairs_of_length(len, recipe.eval_per_length, seed, &seen),
            )
        })
        .collect();

    // Target tokens (with `<eos>`) per epoch, for the training rate.
    let target_tokens = study.target_tokens();

    let mut trained = Vec::new();
    let mut scores = Vec::new();
    for model in &recipe.models {
        let (config, n_params) = sized_model(model, vocab, recipe.target_params)?;
        let (report, dir) = study.train(model, config, n_params)?;
        trained.push(Trained {
            model: model.name.clone(),
            arch: report.arch.clone(),
            params: report.n_params,
            epochs: report.epochs,
            best_epoch: report.best_epoch,
            train_seconds: report.train_seconds,
            tokens_per_second: (target_tokens * report.epochs) as f64 / report.train_seconds,
        });
        let translator = Artifact::open(&dir)?
            .translator(device)?
            .with_batch_size(64);
        for bucket in by_length.chunks(recipe.bucket) {
            let pairs: Vec<Pair> = bucket.iter().flat_map(|(_, p)| p.iter().cloned()).collect();
            let (from, to) = (bucket[0].0, bucket[bucket.len() - 1].0);
            if pairs.is_empty() {
                continue;
            }
            let (report, _) = translator.evaluate(&pairs)?;
            scores.push(BucketScore {
                model: model.name.clone(),
                from,
                to,
                n: report.n,
                exact_match: report.exact_match,
                chrf: report.chrf,
            });
        }
        write_results(recipe, recipe_path, device_name, out, &trained, &scores)?;
    }
    Ok((trained, scores))
}

/// Writes `length.csv`, `length.md` and the two plots (after each model, so that an
/// interrupted study keeps what it finished).
fn write_results(
    recipe: &LengthRecipe,
    recipe_path: &Path,
    device_name: &str,
    out: &Path,
    trained: &[Trained],
    scores: &[BucketScore],
) -> anyhow::Result<()> {
    let mut csv = String::from("model,from,to,n,exact_match,chrf\n");
    for s in scores {
        writeln!(
            csv,
            "{},{},{},{},{:.4},{:.2}",
            s.model, s.from, s.to, s.n, s.exact_match, s.chrf
        )?;
    }
    write_atomic(&out.join("length.csv"), csv)?;

    let buckets: Vec<(usize, usize)> = {
        let mut b: Vec<(usize, usize)> = scores.iter().map(|s| (s.from, s.to)).collect();
        b.sort_unstable();
        b.dedup();
        b
    };
    let [lo, hi] = recipe.train_lengths;
    let mut md = String::new();
    writeln!(
        md,
        "Length study: `{}` (task {}, trained on {lo}-{hi} digits, {} training pairs, about {} parameters per model), on {device_name}, {}.\n",
        recipe_path.display(),
        recipe.task.name(),
        recipe.n_train,
        recipe.target_params,
        cpu_name()
    )?;
    writeln!(
        md,
        "| model | arch | parameters | epochs (kept) | train s | target tokens/s |"
    )?;
    writeln!(md, "|---|---|---:|---:|---:|---:|")?;
    for t in trained {
        writeln!(
            md,
            "| {} | {} | {} | {} ({}) | {:.1} | {:.0} |",
            t.model,
            t.arch,
            t.params,
            t.epochs,
            t.best_epoch.map_or("last".into(), |e| e.to_string()),
            t.train_seconds,
            t.tokens_per_second
        )?;
    }
    for (title, value) in [
        (
            "Exact match (%) by source length",
            &(|s: &BucketScore| 100.0 * s.exact_match) as &dyn Fn(&BucketScore) -> f64,
        ),
        ("chrF by source length", &|s: &BucketScore| s.chrf),
    ] {
        writeln!(md, "\n{title} (lengths {lo}-{hi} were trained on):\n")?;
        let header: Vec<String> = buckets
            .iter()
            .map(|(f, t)| {
                let mark = if *t <= hi && *f >= lo { "" } else { "*" };
                format!("{f}-{t}{mark}")
            })
            .collect();
        writeln!(md, "| model | {} |", header.join(" | "))?;
        writeln!(md, "|---|{}", "---:|".repeat(buckets.len()))?;
        for t in trained {
            let cells: Vec<String> = buckets
                .iter()
                .map(|b| {
                    scores
                        .iter()
                        .find(|s| s.model == t.model && (s.from, s.to) == *b)
                        .map_or("".into(), |s| format!("{:.1}", value(s)))
                })
                .collect();
            writeln!(md, "| {} | {} |", t.model, cells.join(" | "))?;
        }
        writeln!(md, "\n\\* partly or wholly outside the training lengths.")?;
    }
    write_atomic(&out.join("length.md"), md)?;

    let shade = || Shade {
        from: lo as f64,
        to: hi as f64,
        label: "training lengths",
    };
    for (file, title, y_label, value) in [
        (
            "length_exact_match.png",
            "Exact match by source length",
            "exact match (%)",
            &(|s: &BucketScore| 100.0 * s.exact_match) as &dyn Fn(&BucketScore) -> f64,
        ),
        (
            "length_chrf.png",
            "chrF by source length",
            "chrF",
            &|s: &BucketScore| s.chrf,
        ),
    ] {
        let series: Vec<Series> = trained
            .iter()
            .map(|t| Series {
                name: &t.model,
                points: scores
                    .iter()
                    .filter(|s| s.model == t.model)
                    .map(|s| ((s.from + s.to) as f64 / 2.0, value(s)))
                    .collect(),
            })
            .collect();
        line_plot_with(
            &out.join(file),
            title,
            "source length (digits, bucket middle)",
            y_label,
            &series,
            Some(shade()),
        )?;
    }
    Ok(())
}
