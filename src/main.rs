//! The `transduce` command: train, translate, evaluate.

use std::io::{BufRead, BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::{Parser, Subcommand, ValueEnum};
use serde_json::json;
use transduce::config::{flags, read_config_file, resolve, resolve_arch};
use transduce::device::DeviceSpec;
use transduce_data::{Task, Tokenizer};
use transduce_nn::{CellKind, Positions, Score};
use transduce_train::artifact::Artifact;
use transduce_train::{Translator, train};

/// Sequence-to-sequence models (RNN, Seq2Seq, attention, Transformer) on burn.
#[derive(Parser, Debug)]
#[command(name = "transduce", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Train a model; with no arguments, a small Transformer on the built-in reverse task.
    Train(TrainArgs),
    /// Translate source lines from stdin (or --input) with a trained model, one line out per line in.
    Translate(TranslateArgs),
    /// Decode a held-out test set and report exact match.
    Eval(EvalArgs),
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
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum TokenizerArg {
    /// Characters (exact round trip).
    Char,
    /// Whitespace-separated words.
    Word,
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
    /// Transformer: longest sequence of the learned position table. [default: 256]
    #[arg(long)]
    max_len: Option<usize>,
    /// Transformer: one embedding table for source and target (implies --joint-vocab).
    #[arg(long)]
    share_embeddings: bool,
    /// Transformer: tie the output projection to the target embeddings.
    #[arg(long)]
    tie_output: bool,
    /// Transformer: pre-norm instead of the paper's post-norm.
    #[arg(long)]
    norm_first: bool,
    /// One vocabulary for source and target.
    #[arg(long)]
    joint_vocab: bool,
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
    /// Built-in task (used when no --train file is given). [default: reverse]
    #[arg(long, value_enum)]
    task: Option<TaskArg>,
    /// Training corpus: one `source<TAB>target` pair per line; split by source into train/valid/test.
    #[arg(long, value_name = "FILE.tsv")]
    train: Option<PathBuf>,
    /// Tokenizer of both sides. [default: char for tasks, word for corpora]
    #[arg(long, value_enum)]
    tokenizer: Option<TokenizerArg>,
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
    /// Backend: flex, ndarray, wgpu, cuda or auto (optionally `wgpu:1`).
    #[arg(long, default_value = "auto")]
    device: DeviceSpec,
    /// Where the config, vocabularies, weights and metrics are written.
    #[arg(long, default_value = DEFAULT_ARTIFACT_DIR)]
    artifact_dir: PathBuf,
    /// A JSON config (any subset of a saved config.json); flags override it.
    #[arg(long, value_name = "FILE.json")]
    config: Option<PathBuf>,
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
    /// Print a JSON object (`exact_match`, `n`) instead of text.
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
    }
}

fn run_train(args: TrainArgs) -> anyhow::Result<()> {
    let device = args.device.device().map_err(anyhow::Error::msg)?;
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
    let overrides = flags(vec![
        ("model", "arch", args.arch.map(|a| json!(arch_name(a)))),
        ("model", "cell", args.cell.map(|c| json!(cell(c)))),
        ("model", "score", args.score.map(|c| json!(score(c)))),
        (
            "model",
            "reverse_source",
            args.reverse_source.then(|| json!(true)),
        ),
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
        ("model", "max_len", args.max_len.map(|v| json!(v))),
        (
            "model",
            "share_embeddings",
            args.share_embeddings.then(|| json!(true)),
        ),
        ("model", "tie_output", args.tie_output.then(|| json!(true))),
        ("model", "norm_first", args.norm_first.then(|| json!(true))),
        (
            "data",
            "joint_vocab",
            (args.joint_vocab || args.share_embeddings).then(|| json!(true)),
        ),
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
        ("data", "task", args.task.map(|t| json!(task(t)))),
        ("data", "train", args.train.as_ref().map(|p| json!(p))),
        (
            "data",
            "tokenizer",
            args.tokenizer.map(|t| json!(tokenizer(t))),
        ),
        ("training", "epochs", args.epochs.map(|v| json!(v))),
        ("training", "batch_size", args.batch_size.map(|v| json!(v))),
        ("training", "lr", args.lr.map(|v| json!(v))),
        ("training", "seed", args.seed.map(|v| json!(v))),
    ]);
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
    let report = train(&config, &prepared, &device, &args.artifact_dir)?;
    println!(
        "done: {} epochs in {:.1}s, best epoch {} | {} parameters | held-out exact match {:.2}% (n = {}) | artifacts in {}",
        report.epochs,
        report.train_seconds,
        report.best_epoch,
        report.n_params,
        100.0 * report.test.exact_match,
        report.test.n,
        args.artifact_dir.display()
    );
    Ok(())
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
    let translations = translator
        .translate(&lines)
        .with_context(|| format!("{name}"))?;
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
            "exact match {:.2}% (n = {})",
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
    }
}

fn tokenizer(t: TokenizerArg) -> Tokenizer {
    match t {
        TokenizerArg::Char => Tokenizer::Char,
        TokenizerArg::Word => Tokenizer::Word,
    }
}
