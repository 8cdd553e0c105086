//! The `transduce` command: train, translate, evaluate.

use std::io::{BufRead, BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::{Parser, Subcommand, ValueEnum};
use serde_json::Value;
use serde_json::json;
use transduce::config::{flags, read_config_file, resolve, resolve_arch};
use transduce::device::{DeviceList, DeviceSpec};
use transduce_data::{BatchPlan, Direction, Task, TokenizerKind, padding_fraction};
use transduce_nn::{CellKind, Positions, Score};
use transduce_train::artifact::Artifact;
use transduce_train::score::{corpus_bleu, corpus_chrf};
use transduce_train::{TrainReport, Translator, resume, train_on_devices};

/// Sequence-to-sequence models (RNN, Seq2Seq, attention, Transformer) on burn.
#[derive(Parser, Debug)]
#[command(name = "transduce", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
#[allow(clippy::large_enum_variant)] // parsed once
enum Command {
    /// Train a model; with no arguments, a small Transformer on the built-in reverse task.
    Train(TrainArgs),
    /// Translate source lines from stdin (or --input) with a trained model, one line out per line in.
    Translate(TranslateArgs),
    /// Decode a held-out test set and report exact match.
    Eval(EvalArgs),
    /// Print samples (`source<TAB>target`) or statistics of the data `train` would use.
    Data(DataCmdArgs),
    /// Corpus BLEU and chrF of a hypothesis file against a reference file, as sacreBLEU computes them.
    Score(ScoreArgs),
}

#[derive(clap::Args, Debug)]
struct ScoreArgs {
    /// Hypotheses, one per line.
    #[arg(long, value_name = "FILE")]
    hyp: PathBuf,
    /// References, one per line, aligned with the hypotheses.
    #[arg(long = "ref", value_name = "FILE")]
    reference: PathBuf,
    /// Print a JSON object (`bleu`, `chrf`, `n`, and BLEU's parts) instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args, Debug)]
struct DataCmdArgs {
    /// Number of samples to print.
    #[arg(long, default_value_t = 10)]
    n: usize,
    /// Which split to sample.
    #[arg(long, value_enum, default_value = "train")]
    split: SplitArg,
    /// Print counts, length histograms, vocabulary sizes and padding instead of samples.
    #[arg(long)]
    stats: bool,
    /// Seed of data generation and splits (as `train --seed`). [default: 42]
    #[arg(long)]
    seed: Option<u64>,
    /// A JSON config whose `data` section (and `training.seed`) is used; flags override it.
    #[arg(long, value_name = "FILE.json")]
    config: Option<PathBuf>,
    #[command(flatten)]
    data: DataArgs,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum SplitArg {
    /// Training pairs.
    Train,
    /// Validation pairs.
    Valid,
    /// Test pairs.
    Test,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum ArchArg {
    /// Sutskever et al. 2014: encoder-decoder with one fixed context vector.
    Seq2seq,
    /// Luong et al. 2015: global attention (dot, general, concat).
    Luong,
    /// Bahdanau et al. 2015: additive attention.
    Bahdanau,
    /// Vaswani et al. 2017.
    Transformer,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum PresetArg {
    /// N=2, d_model 64, 4 heads, d_ff 256.
    Tiny,
    /// N=3, d_model 256, 4 heads, d_ff 512.
    Small,
    /// The paper's base: N=6, d_model 512, 8 heads, d_ff 2048.
    Base,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum ScheduleArg {
    /// Warmup then inverse square root decay.
    Noam,
    /// Constant, halved after epochs without validation improvement.
    Plateau,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum PositionsArg {
    /// The paper's sinusoids (no length limit).
    Sinusoidal,
    /// A learned table of --max-len positions.
    Learned,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum CellArg {
    /// Elman's simple recurrent network.
    Rnn,
    /// Gated recurrent unit.
    Gru,
    /// Long short-term memory.
    Lstm,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum ScoreArg {
    /// `s · h`.
    Dot,
    /// `s · W_a h`.
    General,
    /// `v · tanh(W_a [s; h])`.
    Concat,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum TaskArg {
    /// Copy a digit string.
    Copy,
    /// Reverse a digit string.
    Reverse,
    /// Sort the digits of a string.
    Sort,
    /// Dates in English, French and Korean formats -> ISO 8601.
    Dates,
    /// Numbers in English or French words -> digits.
    Numbers,
    /// Numbers in English words -> digits.
    NumbersEn,
    /// Numbers in French words -> digits.
    NumbersFr,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum TokenizerArg {
    /// Characters (exact round trip).
    Char,
    /// Words and punctuation marks.
    Word,
    /// Byte-level BPE trained on the corpus (exact round trip).
    Bpe,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum DirectionArg {
    /// As in the files.
    Forward,
    /// Swapped.
    Reverse,
}

/// Default artifact directory of `train`, `translate` and `eval`.
const DEFAULT_ARTIFACT_DIR: &str = "runs/default";

#[derive(clap::Args, Debug)]
struct TrainArgs {
    /// Architecture.
    #[arg(long, value_enum)]
    arch: Option<ArchArg>,
    /// Recurrent cell (seq2seq, luong, bahdanau). [default: lstm; gru for bahdanau]
    #[arg(long, value_enum)]
    cell: Option<CellArg>,
    /// Luong score function. [default: general]
    #[arg(long, value_enum)]
    score: Option<ScoreArg>,
    /// seq2seq: read each source sentence backwards (Sutskever et al.'s trick).
    #[arg(long)]
    reverse_source: bool,
    /// Recurrent models: bidirectional encoder (true/false). [default: false for seq2seq, true otherwise]
    #[arg(long)]
    bidirectional: Option<bool>,
    /// Luong: feed the attentional state into the next step (true/false). [default: true]
    #[arg(long)]
    input_feeding: Option<bool>,
    /// Layers (encoder and decoder each).
    #[arg(long)]
    layers: Option<usize>,
    /// Transformer preset: tiny (the defaults), small (N=3, d_model 256) or base (the paper's N=6, d_model 512).
    #[arg(long, value_enum)]
    preset: Option<PresetArg>,
    /// Transformer: sinusoidal or learned positions. [default: sinusoidal]
    #[arg(long, value_enum)]
    positions: Option<PositionsArg>,
    /// Transformer: size of the learned position table (longest sequence). [default: 256]
    #[arg(long)]
    max_positions: Option<usize>,
    /// Transformer: one embedding table for source and target (implies --joint-vocab).
    #[arg(long)]
    share_embeddings: bool,
    /// Transformer: tie the output projection to the target embeddings.
    #[arg(long)]
    tie_output: bool,
    /// Transformer: pre-norm instead of the paper's post-norm.
    #[arg(long)]
    norm_first: bool,
    /// Transformer: model width. [default: 64]
    #[arg(long)]
    d_model: Option<usize>,
    /// Transformer: attention heads. [default: 4]
    #[arg(long)]
    n_heads: Option<usize>,
    /// Transformer: feed-forward width. [default: 256]
    #[arg(long)]
    d_ff: Option<usize>,
    /// Recurrent models: hidden width. [default: 128]
    #[arg(long)]
    d_hidden: Option<usize>,
    /// Recurrent models: embedding width. [default: 64]
    #[arg(long)]
    d_embedding: Option<usize>,
    /// Dropout. [default: 0.1]
    #[arg(long)]
    dropout: Option<f64>,
    /// Warmup steps of the learning-rate schedule. [default: 400]
    #[arg(long)]
    warmup_steps: Option<usize>,
    /// Passes over the training data. [default: 10]
    #[arg(long)]
    epochs: Option<usize>,
    /// Sentence pairs per batch. [default: 64]
    #[arg(long)]
    batch_size: Option<usize>,
    /// Peak learning rate (after warmup). [default: 0.002]
    #[arg(long)]
    lr: Option<f64>,
    /// Seed of weights, data generation and splits, and batch order. [default: 42]
    #[arg(long)]
    seed: Option<u64>,
    /// Backend: flex, ndarray, wgpu, cuda or auto (optionally `wgpu:1`); several separated by
    /// commas (`wgpu:0,wgpu:1`) train data-parallel.
    #[arg(long, default_value = "auto")]
    device: DeviceList,
    /// Where the config, vocabularies, weights and metrics are written.
    #[arg(long, default_value = DEFAULT_ARTIFACT_DIR)]
    artifact_dir: PathBuf,
    /// A JSON config (any subset of a saved config.json); flags override it.
    #[arg(long, value_name = "FILE.json")]
    config: Option<PathBuf>,
    /// Continue the interrupted run in DIR from its latest checkpoint (its saved config is used;
    /// only --epochs and --device apply).
    #[arg(long, value_name = "DIR")]
    resume: Option<PathBuf>,
    /// Learning-rate schedule: noam (the Transformer's default) or plateau (constant, halved
    /// when validation stalls; the recurrent models' default).
    #[arg(long, value_enum)]
    schedule: Option<ScheduleArg>,
    /// Recurrent models: probability of feeding the reference token (scheduled sampling below 1). [default: 1]
    #[arg(long)]
    teacher_forcing: Option<f64>,
    /// Stop training after this many seconds, then evaluate the best model so far.
    #[arg(long, value_name = "SECONDS")]
    time_budget: Option<f64>,
    /// Stop when validation BLEU has not improved for this many epochs.
    #[arg(long)]
    patience: Option<usize>,
    /// Pretrained source word vectors (GloVe/word2vec/fastText text; needs --tokenizer word).
    #[arg(long, value_name = "FILE")]
    src_embeddings: Option<PathBuf>,
    /// Pretrained target word vectors.
    #[arg(long, value_name = "FILE")]
    tgt_embeddings: Option<PathBuf>,
    /// Keep the pretrained embedding tables fixed during training.
    #[arg(long)]
    freeze_embeddings: bool,
    /// Most tokens per batch (rows × longest side); no budget by default.
    #[arg(long)]
    max_tokens: Option<usize>,
    /// Batch sentences of similar length together (true/false). [default: true]
    #[arg(long)]
    bucket: Option<bool>,
    #[command(flatten)]
    data: DataArgs,
}

/// Where the sentence pairs come from and how they are tokenised (shared by `train` and `data`).
#[derive(clap::Args, Debug)]
struct DataArgs {
    /// Built-in task (used when no corpus is given). [default: reverse]
    #[arg(long, value_enum)]
    task: Option<TaskArg>,
    /// Training corpus: one `source<TAB>target` pair per line (extra columns ignored).
    #[arg(long, value_name = "FILE.tsv")]
    train: Option<PathBuf>,
    /// Line-aligned training sources (with --tgt).
    #[arg(long, value_name = "FILE")]
    src: Option<PathBuf>,
    /// Line-aligned training targets (with --src).
    #[arg(long, value_name = "FILE")]
    tgt: Option<PathBuf>,
    /// Line-aligned validation sources (with --valid-tgt); otherwise split off the training data by source.
    #[arg(long, value_name = "FILE")]
    valid_src: Option<PathBuf>,
    /// Line-aligned validation targets.
    #[arg(long, value_name = "FILE")]
    valid_tgt: Option<PathBuf>,
    /// Line-aligned test sources (with --test-tgt); otherwise split off the training data by source.
    #[arg(long, value_name = "FILE")]
    test_src: Option<PathBuf>,
    /// Line-aligned test targets.
    #[arg(long, value_name = "FILE")]
    test_tgt: Option<PathBuf>,
    /// Tokenizer of both sides. [default: char for tasks, word for corpora]
    #[arg(long, value_enum)]
    tokenizer: Option<TokenizerArg>,
    /// Vocabulary size (BPE merges up to it; char/word vocabularies are capped). [default: 8000 for bpe]
    #[arg(long)]
    vocab_size: Option<usize>,
    /// Minimum count of a token to enter the vocabulary. [default: 1]
    #[arg(long)]
    min_freq: Option<usize>,
    /// One vocabulary (and BPE model) for source and target.
    #[arg(long)]
    joint_vocab: bool,
    /// Lowercase both sides.
    #[arg(long)]
    lowercase: bool,
    /// Drop training pairs with a side longer than this many tokens (the count is reported).
    #[arg(long)]
    max_sentence_len: Option<usize>,
    /// Which side is the source: forward (as in the files) or reverse.
    #[arg(long, value_enum)]
    direction: Option<DirectionArg>,
    /// Skip malformed lines (counted) instead of failing.
    #[arg(long)]
    skip_bad_lines: bool,
    /// Task: training pairs. [default: 20000]
    #[arg(long)]
    n_train: Option<usize>,
    /// Task: validation pairs. [default: 500]
    #[arg(long)]
    n_valid: Option<usize>,
    /// Task: test pairs. [default: 1000]
    #[arg(long)]
    n_test: Option<usize>,
    /// Task: shortest source. [default: 3]
    #[arg(long)]
    min_len: Option<usize>,
    /// Task: longest source. [default: 12]
    #[arg(long)]
    max_len: Option<usize>,
}

impl DataArgs {
    /// The `data` section of the flags layer.
    fn overrides(&self, joint_vocab: bool) -> Vec<(&'static str, &'static str, Option<Value>)> {
        let path = |p: &Option<PathBuf>| p.as_ref().map(|p| json!(p));
        let num = |n: Option<usize>| n.map(|v| json!(v));
        vec![
            ("data", "task", self.task.map(|t| json!(task(t)))),
            ("data", "train", path(&self.train)),
            ("data", "src", path(&self.src)),
            ("data", "tgt", path(&self.tgt)),
            ("data", "valid_src", path(&self.valid_src)),
            ("data", "valid_tgt", path(&self.valid_tgt)),
            ("data", "test_src", path(&self.test_src)),
            ("data", "test_tgt", path(&self.test_tgt)),
            (
                "data",
                "tokenizer",
                self.tokenizer.map(|t| json!(tokenizer(t))),
            ),
            ("data", "vocab_size", num(self.vocab_size)),
            ("data", "min_freq", num(self.min_freq)),
            ("data", "joint_vocab", flag(self.joint_vocab || joint_vocab)),
            ("data", "lowercase", flag(self.lowercase)),
            ("data", "max_sentence_len", num(self.max_sentence_len)),
            (
                "data",
                "direction",
                self.direction.map(|d| json!(direction(d))),
            ),
            ("data", "skip_bad_lines", flag(self.skip_bad_lines)),
            ("data", "n_train", num(self.n_train)),
            ("data", "n_valid", num(self.n_valid)),
            ("data", "n_test", num(self.n_test)),
            ("data", "min_len", num(self.min_len)),
            ("data", "max_len", num(self.max_len)),
        ]
    }
}

#[derive(clap::Args, Debug)]
struct TranslateArgs {
    /// A directory written by `transduce train`.
    #[arg(long, default_value = DEFAULT_ARTIFACT_DIR)]
    artifact_dir: PathBuf,
    /// Read source lines from this file instead of stdin.
    #[arg(long)]
    input: Option<PathBuf>,
    /// Beam width (1 = greedy).
    #[arg(long, default_value_t = 1)]
    beam: usize,
    /// Backend: flex, ndarray, wgpu, cuda or auto.
    #[arg(long, default_value = "auto")]
    device: DeviceSpec,
    /// Sentences decoded together.
    #[arg(long, default_value_t = 64)]
    batch_size: usize,
}

#[derive(clap::Args, Debug)]
struct EvalArgs {
    /// A directory written by `transduce train`.
    #[arg(long, default_value = DEFAULT_ARTIFACT_DIR)]
    artifact_dir: PathBuf,
    /// A `source<TAB>target` test set [default: the held-out test split of the training data].
    #[arg(long, value_name = "FILE.tsv")]
    test: Option<PathBuf>,
    /// Print a JSON object (`bleu`, `chrf`, `exact_match`, `n`) instead of text.
    #[arg(long)]
    json: bool,
    /// Beam width (1 = greedy).
    #[arg(long, default_value_t = 1)]
    beam: usize,
    /// Backend: flex, ndarray, wgpu, cuda or auto.
    #[arg(long, default_value = "auto")]
    device: DeviceSpec,
    /// Sentences decoded together.
    #[arg(long, default_value_t = 64)]
    batch_size: usize,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Train(args) => run_train(args),
        Command::Translate(args) => run_translate(args),
        Command::Eval(args) => run_eval(args),
        Command::Data(args) => run_data(args),
        Command::Score(args) => run_score(args),
    }
}

/// The lines of a text file, without line endings; invalid UTF-8 is an error naming the line.
fn read_lines(path: &Path) -> anyhow::Result<Vec<String>> {
    let bytes = std::fs::read(path).with_context(|| format!("{}: cannot read", path.display()))?;
    let mut lines: Vec<&[u8]> = bytes.split(|&b| b == b'\n').collect();
    if lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    lines
        .into_iter()
        .enumerate()
        .map(|(i, line)| {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            String::from_utf8(line.to_vec()).map_err(|e| {
                anyhow::anyhow!(
                    "{}:{}: invalid UTF-8 at byte {}",
                    path.display(),
                    i + 1,
                    e.utf8_error().valid_up_to()
                )
            })
        })
        .collect()
}

fn run_score(args: ScoreArgs) -> anyhow::Result<()> {
    let hyps = read_lines(&args.hyp)?;
    let refs = read_lines(&args.reference)?;
    if hyps.len() != refs.len() {
        bail!(
            "{} has {} lines but {} has {}: one hypothesis per reference",
            args.hyp.display(),
            hyps.len(),
            args.reference.display(),
            refs.len()
        );
    }
    let bleu = corpus_bleu(&hyps, &refs);
    let chrf = corpus_chrf(&hyps, &refs);
    if args.json {
        let json = json!({
            "bleu": bleu.score,
            "chrf": chrf,
            "n": hyps.len(),
            "bleu_precisions": bleu.precisions,
            "bleu_bp": bleu.bp,
            "sys_len": bleu.sys_len,
            "ref_len": bleu.ref_len,
        });
        println!("{json}");
    } else {
        let p = bleu.precisions;
        println!(
            "BLEU = {:.2} {:.1}/{:.1}/{:.1}/{:.1} (BP = {:.3} ratio = {:.3} hyp_len = {} ref_len = {})",
            bleu.score,
            p[0],
            p[1],
            p[2],
            p[3],
            bleu.bp,
            bleu.sys_len as f64 / bleu.ref_len.max(1) as f64,
            bleu.sys_len,
            bleu.ref_len
        );
        println!("chrF2 = {chrf:.2}");
    }
    Ok(())
}

fn run_data(args: DataCmdArgs) -> anyhow::Result<()> {
    let file = match &args.config {
        Some(path) => Some((path.as_path(), read_config_file(path)?)),
        None => None,
    };
    let mut entries = args.data.overrides(false);
    entries.push(("training", "seed", args.seed.map(|v| json!(v))));
    let config = resolve(file, flags(entries), None)?;
    let (prepared, load) = config.data.prepare(config.training.seed)?;
    let splits = &prepared.splits;
    let mut out = BufWriter::new(std::io::stdout().lock());
    if !args.stats {
        let pairs = match args.split {
            SplitArg::Train => &splits.train,
            SplitArg::Valid => &splits.valid,
            SplitArg::Test => &splits.test,
        };
        for pair in pairs.iter().take(args.n) {
            writeln!(out, "{}\t{}", pair.src, pair.tgt)?;
        }
        return Ok(out.flush()?);
    }
    let codec = &prepared.codec;
    writeln!(
        out,
        "data: {} ({} tokenizer)",
        config.data.describe(),
        config.data.tokenizer().name()
    )?;
    writeln!(
        out,
        "pairs: {} train, {} valid, {} test",
        splits.train.len(),
        splits.valid.len(),
        splits.test.len()
    )?;
    if load.skipped_lines > 0 || load.dropped_long > 0 {
        writeln!(
            out,
            "skipped {} malformed lines; dropped {} long training pairs",
            load.skipped_lines, load.dropped_long
        )?;
    }
    writeln!(
        out,
        "vocabulary: {} source, {} target entries (with 4 special tokens)",
        codec.src_vocab.len(),
        codec.tgt_vocab.len()
    )?;
    let examples = codec.examples(&splits.train);
    for (side, lens) in [
        (
            "source",
            examples.iter().map(|e| e.src.len()).collect::<Vec<_>>(),
        ),
        (
            "target",
            examples.iter().map(|e| e.tgt.len()).collect::<Vec<_>>(),
        ),
    ] {
        writeln!(
            out,
            "{side} tokens per training sentence: {}",
            length_summary(&lens)
        )?;
        for line in histogram(&lens) {
            writeln!(out, "  {line}")?;
        }
    }
    let batch_size = config.training.batch_size;
    let seed = config.training.seed;
    let random = BatchPlan {
        batch_size,
        max_tokens: None,
        bucket: false,
    };
    let bucketed = BatchPlan {
        batch_size,
        max_tokens: None,
        bucket: true,
    };
    writeln!(
        out,
        "padding in batches of {batch_size}: random order {:.1}%, length-bucketed {:.1}%",
        100.0 * padding_fraction(&examples, &random.batches(&examples, seed)),
        100.0 * padding_fraction(&examples, &bucketed.batches(&examples, seed))
    )?;
    Ok(out.flush()?)
}

/// `min / mean / median / max`.
fn length_summary(lens: &[usize]) -> String {
    let mut sorted = lens.to_vec();
    sorted.sort_unstable();
    let mean = sorted.iter().sum::<usize>() as f64 / sorted.len().max(1) as f64;
    format!(
        "min {} / mean {mean:.1} / median {} / max {}",
        sorted.first().unwrap_or(&0),
        sorted.get(sorted.len() / 2).unwrap_or(&0),
        sorted.last().unwrap_or(&0)
    )
}

/// A text histogram in up to 10 equal-width bins.
fn histogram(lens: &[usize]) -> Vec<String> {
    let (Some(&min), Some(&max)) = (lens.iter().min(), lens.iter().max()) else {
        return Vec::new();
    };
    let width = (max - min) / 10 + 1;
    let mut counts = vec![0usize; (max - min) / width + 1];
    for &l in lens {
        counts[(l - min) / width] += 1;
    }
    let peak = *counts.iter().max().unwrap_or(&1);
    counts
        .iter()
        .enumerate()
        .map(|(i, &c)| {
            let lo = min + i * width;
            let bar = "#".repeat((40 * c).div_ceil(peak));
            format!("{:>4}-{:<4} {:>7} {bar}", lo, lo + width - 1, c)
        })
        .collect()
}

fn run_train(args: TrainArgs) -> anyhow::Result<()> {
    let devices = args.device.devices().map_err(anyhow::Error::msg)?;
    let device = devices[0].clone();
    if let Some(dir) = &args.resume {
        println!(
            "transduce train: resuming {} on device {}",
            dir.display(),
            args.device
        );
        let report = resume(dir, &device, args.epochs)?;
        print_report(&report, dir);
        return Ok(());
    }
    let file = match &args.config {
        Some(path) => Some((path.as_path(), read_config_file(path)?)),
        None => None,
    };
    let arch = match args.arch {
        Some(a) => arch_name(a).to_string(),
        None => resolve_arch(file.as_ref().map(|(_, v)| v), &json!({})),
    };
    let layers = args.layers.map(|v| json!(v));
    let layer_keys = if arch == "transformer" {
        ["n_encoder_layers", "n_decoder_layers"]
    } else {
        ["n_layers", "n_layers"]
    };
    let mut entries = args.data.overrides(args.share_embeddings);
    entries.extend(vec![
        ("training", "max_tokens", args.max_tokens.map(|v| json!(v))),
        ("training", "patience", args.patience.map(|v| json!(v))),
        (
            "training",
            "teacher_forcing",
            args.teacher_forcing.map(|v| json!(v)),
        ),
        (
            "training",
            "time_budget",
            args.time_budget.map(|v| json!(v)),
        ),
        (
            "training",
            "src_embeddings",
            args.src_embeddings.as_ref().map(|p| json!(p)),
        ),
        (
            "training",
            "tgt_embeddings",
            args.tgt_embeddings.as_ref().map(|p| json!(p)),
        ),
        (
            "training",
            "freeze_embeddings",
            flag(args.freeze_embeddings),
        ),
        ("training", "bucket", args.bucket.map(|v| json!(v))),
        ("model", "arch", args.arch.map(|a| json!(arch_name(a)))),
        ("model", "cell", args.cell.map(|c| json!(cell(c)))),
        ("model", "score", args.score.map(|c| json!(score(c)))),
        ("model", "reverse_source", flag(args.reverse_source)),
        (
            "model",
            "bidirectional",
            args.bidirectional.map(|v| json!(v)),
        ),
        (
            "model",
            "input_feeding",
            args.input_feeding.map(|v| json!(v)),
        ),
        ("model", layer_keys[0], layers.clone()),
        ("model", layer_keys[1], layers),
        ("model", "d_model", args.d_model.map(|v| json!(v))),
        (
            "model",
            "positions",
            args.positions.map(|p| json!(positions(p))),
        ),
        ("model", "max_len", args.max_positions.map(|v| json!(v))),
        ("model", "share_embeddings", flag(args.share_embeddings)),
        ("model", "tie_output", flag(args.tie_output)),
        ("model", "norm_first", flag(args.norm_first)),
        ("model", "n_heads", args.n_heads.map(|v| json!(v))),
        ("model", "d_ff", args.d_ff.map(|v| json!(v))),
        ("model", "d_hidden", args.d_hidden.map(|v| json!(v))),
        ("model", "d_embedding", args.d_embedding.map(|v| json!(v))),
        ("model", "dropout", args.dropout.map(|v| json!(v))),
        (
            "training",
            "warmup_steps",
            args.warmup_steps.map(|v| json!(v)),
        ),
        ("training", "epochs", args.epochs.map(|v| json!(v))),
        ("training", "batch_size", args.batch_size.map(|v| json!(v))),
        ("training", "lr", args.lr.map(|v| json!(v))),
        ("training", "seed", args.seed.map(|v| json!(v))),
    ]);
    let overrides = flags(entries);
    let preset = args.preset.map(preset_name);
    let mut config = resolve(file, overrides, preset)?;
    config.training.validate()?;
    config.data.validate()?;

    let (prepared, load) = config.data.prepare(config.training.seed)?;
    let (src_vocab_size, tgt_vocab_size) = (
        prepared.codec.src_vocab.len(),
        prepared.codec.tgt_vocab.len(),
    );
    config.model.set_vocab_sizes(src_vocab_size, tgt_vocab_size);
    config.model.validate()?;

    let s = &prepared.splits;
    println!(
        "transduce train: {} on {} ({} tokenizer) | {} train / {} valid / {} test pairs | vocab {} / {} | device {}",
        config.model.arch(),
        config.data.describe(),
        config.data.tokenizer().name(),
        s.train.len(),
        s.valid.len(),
        s.test.len(),
        src_vocab_size,
        tgt_vocab_size,
        args.device,
    );
    if load.skipped_lines > 0 {
        println!("skipped {} malformed lines", load.skipped_lines);
    }
    if load.dropped_long > 0 {
        println!(
            "dropped {} training pairs longer than {} tokens",
            load.dropped_long,
            config.data.max_sentence_len.unwrap_or(0)
        );
    }
    let report = train_on_devices(&config, &prepared, &devices, &args.artifact_dir)?;
    print_report(&report, &args.artifact_dir);
    Ok(())
}

/// A boolean flag's layer entry: `true` when given, nothing otherwise.
fn flag(given: bool) -> Option<Value> {
    given.then_some(Value::Bool(true))
}

fn print_report(report: &TrainReport, artifact_dir: &Path) {
    if let Some(reason) = &report.stopped {
        println!("stopped early: {reason}");
    }
    for p in &report.pretrained {
        println!(
            "{} embeddings: {} words initialised from {}, {} missing (random init){}",
            p.side,
            p.found,
            p.path.display(),
            p.missing,
            if p.frozen { ", frozen" } else { "" }
        );
    }
    println!(
        "done: {} epochs in {:.1}s, best epoch {} | {} parameters | held-out BLEU {:.2}, chrF {:.2}, exact match {:.2}% (n = {}) | artifacts in {}",
        report.epochs,
        report.train_seconds,
        report.best_epoch,
        report.n_params,
        report.test.bleu,
        report.test.chrf,
        100.0 * report.test.exact_match,
        report.test.n,
        artifact_dir.display()
    );
}

fn open(
    artifact_dir: &Path,
    device: &DeviceSpec,
    batch_size: usize,
    beam_width: usize,
) -> anyhow::Result<(Artifact, Translator)> {
    if beam_width == 0 {
        bail!("--beam must be at least 1");
    }
    let device = device.device().map_err(anyhow::Error::msg)?;
    let artifact = Artifact::open(artifact_dir)?;
    let model = artifact.load_model(&device)?;
    let translator = Translator {
        model,
        codec: artifact.codec.clone(),
        device,
        batch_size,
        beam_width,
    };
    Ok((artifact, translator))
}

fn run_translate(args: TranslateArgs) -> anyhow::Result<()> {
    let (_, translator) = open(&args.artifact_dir, &args.device, args.batch_size, args.beam)?;
    let (name, reader): (String, Box<dyn BufRead>) = match &args.input {
        Some(path) => {
            let file = std::fs::File::open(path)
                .with_context(|| format!("{}: cannot open", path.display()))?;
            (
                path.display().to_string(),
                Box::new(std::io::BufReader::new(file)),
            )
        }
        None => ("<stdin>".to_string(), Box::new(std::io::stdin().lock())),
    };
    let mut lines = Vec::new();
    for (i, line) in reader.split(b'\n').enumerate() {
        let bytes = line.with_context(|| format!("{name}: read error"))?;
        let bytes = bytes.strip_suffix(b"\r").unwrap_or(&bytes);
        match std::str::from_utf8(bytes) {
            Ok(text) => lines.push(text.to_string()),
            Err(e) => bail!(
                "{name}:{}: invalid UTF-8 at byte {}",
                i + 1,
                e.valid_up_to()
            ),
        }
    }
    let mut out = BufWriter::new(std::io::stdout().lock());
    let translations = translator.translate(&lines).with_context(|| name.clone())?;
    for translation in translations {
        writeln!(out, "{translation}")?;
    }
    out.flush()?;
    Ok(())
}

fn run_eval(args: EvalArgs) -> anyhow::Result<()> {
    let (artifact, translator) =
        open(&args.artifact_dir, &args.device, args.batch_size, args.beam)?;
    let pairs = match &args.test {
        Some(path) => transduce_data::read_tsv(path, false)?.0,
        None => artifact.test_pairs()?,
    };
    let (report, _) = translator.evaluate(&pairs)?;
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        println!(
            "BLEU {:.2} | chrF {:.2} | exact match {:.2}% (n = {})",
            report.bleu,
            report.chrf,
            100.0 * report.exact_match,
            report.n
        );
    }
    Ok(())
}

fn arch_name(a: ArchArg) -> &'static str {
    match a {
        ArchArg::Seq2seq => "seq2seq",
        ArchArg::Luong => "luong",
        ArchArg::Bahdanau => "bahdanau",
        ArchArg::Transformer => "transformer",
    }
}

fn preset_name(p: PresetArg) -> &'static str {
    match p {
        PresetArg::Tiny => "tiny",
        PresetArg::Small => "small",
        PresetArg::Base => "base",
    }
}

fn positions(p: PositionsArg) -> Positions {
    match p {
        PositionsArg::Sinusoidal => Positions::Sinusoidal,
        PositionsArg::Learned => Positions::Learned,
    }
}

fn cell(c: CellArg) -> CellKind {
    match c {
        CellArg::Rnn => CellKind::Rnn,
        CellArg::Gru => CellKind::Gru,
        CellArg::Lstm => CellKind::Lstm,
    }
}

fn score(s: ScoreArg) -> Score {
    match s {
        ScoreArg::Dot => Score::Dot,
        ScoreArg::General => Score::General,
        ScoreArg::Concat => Score::Concat,
    }
}

fn task(t: TaskArg) -> Task {
    match t {
        TaskArg::Copy => Task::Copy,
        TaskArg::Reverse => Task::Reverse,
        TaskArg::Sort => Task::Sort,
        TaskArg::Dates => Task::Dates,
        TaskArg::Numbers => Task::Numbers,
        TaskArg::NumbersEn => Task::NumbersEn,
        TaskArg::NumbersFr => Task::NumbersFr,
    }
}

fn direction(d: DirectionArg) -> Direction {
    match d {
        DirectionArg::Forward => Direction::Forward,
        DirectionArg::Reverse => Direction::Reverse,
    }
}

fn tokenizer(t: TokenizerArg) -> TokenizerKind {
    match t {
        TokenizerArg::Char => TokenizerKind::Char,
        TokenizerArg::Word => TokenizerKind::Word,
        TokenizerArg::Bpe => TokenizerKind::Bpe,
    }
}
