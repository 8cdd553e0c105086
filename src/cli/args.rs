//! The command line's arguments, and the one place where `train`'s and `data`'s flags are mapped
//! onto a [`RunConfig`] (typed, so a flag cannot be parsed and then lost).
//!
//! Choices such as `--arch`, `--cell` or `--task` parse straight into the library's own enums
//! (their `clap` feature derives `ValueEnum`), so the command line cannot drift from them.

use std::path::PathBuf;

use anyhow::bail;
use clap::{Parser, Subcommand, ValueEnum};
use transduce_data::{DataConfig, Direction, Lang, Task, TokenizerKind};
use transduce_decode::LengthPenalty;
use transduce_infer::LengthLimit;
use transduce_infer::artifact::RunConfig;
use transduce_infer::config::Schedule;
use transduce_infer::score::BleuTokenize;
use transduce_nn::{Arch, CellKind, ModelConfig, Positions, Preset, Score};

use crate::device::{DeviceList, DeviceSpec};

/// Sequence-to-sequence models (RNN, Seq2Seq, attention, Transformer) on burn.
#[derive(Parser, Debug)]
#[command(name = "transduce", version, about)]
pub struct Cli {
    /// The subcommand.
    #[command(subcommand)]
    pub command: Command,
}

impl Cli {
    /// The device the command runs on (the first one for data-parallel training), if it takes one.
    pub fn device(&self) -> Option<DeviceSpec> {
        match &self.command {
            Command::Train(a) => a.device.0.first().copied(),
            Command::Translate(a) => Some(a.device),
            Command::Eval(a) => Some(a.device),
            Command::Bench(a) => Some(a.device),
            Command::Attention(a) => Some(a.device),
            Command::Experiment(ExperimentCommand::Length(a) | ExperimentCommand::Speed(a)) => {
                Some(a.device)
            }
            Command::Data(_) | Command::Score(_) | Command::Export(_) | Command::Import(_) => None,
        }
    }
}

/// The subcommands.
#[derive(Subcommand, Debug)]
#[allow(clippy::large_enum_variant)] // parsed once
pub enum Command {
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
    /// Training and decoding speed on fixed workloads (compare with bench/pytorch_bench.py).
    Bench(BenchArgs),
    /// Draws the attention map of a translation (source tokens across, output tokens down) to a PNG or SVG.
    Attention(AttentionArgs),
    /// Writes a trained model's weights as safetensors, which PyTorch and other frameworks read.
    Export(ExportArgs),
    /// Runs one of the lecture's experiments and writes its table (markdown and CSV) and plots.
    #[command(subcommand)]
    Experiment(ExperimentCommand),
    /// Builds an artifact directory from a PyTorch state dict of a matching model, its config
    /// and its vocabularies; translate, eval and attention then use it.
    Import(ImportArgs),
}

/// `transduce experiment`.
#[derive(Subcommand, Debug)]
pub enum ExperimentCommand {
    /// Models with and without attention, and a Transformer, of about the same size, trained on
    /// one range of source lengths and scored on every length of a wider one.
    Length(ExperimentArgs),
    /// Every family trained on the same data and device: seconds per epoch, tokens per second,
    /// time to a validation score; training steps by sequence length; decoding by output length.
    Speed(ExperimentArgs),
}

/// `transduce experiment length` and `transduce experiment speed`.
#[derive(clap::Args, Debug)]
pub struct ExperimentArgs {
    /// The recipe: data, parameter budget, training options, lengths, models (and for `speed` the
    /// target score) [default: assets/configs/experiment-<study>.json]
    #[arg(long, value_name = "FILE.json")]
    pub recipe: Option<PathBuf>,
    /// Where the runs, the tables (markdown and CSV) and the plots are written.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Backend: flex, ndarray, wgpu, cuda or auto.
    #[arg(long, default_value = "auto")]
    pub device: DeviceSpec,
}

impl ExperimentArgs {
    /// The recipe file: the flag's, or the study's default.
    pub fn recipe(&self, study: &str) -> PathBuf {
        self.recipe
            .clone()
            .unwrap_or_else(|| PathBuf::from(format!("assets/configs/experiment-{study}.json")))
    }
}

/// `transduce import`.
#[derive(clap::Args, Debug)]
pub struct ImportArgs {
    /// The PyTorch weights: a `torch.save(model.state_dict(), ...)` file (.pt/.pth, read
    /// without PyTorch) or a safetensors file (.safetensors).
    #[arg(long, value_name = "FILE")]
    pub state_dict: PathBuf,
    /// The run config: a JSON object with the whole `model` config (as a training run's
    /// config.json holds it); `data` (how text becomes tokens) and `training` may be left out.
    #[arg(long, value_name = "FILE.json")]
    pub config: PathBuf,
    /// The source vocabulary in id order, starting `<pad> <unk> <sos> <eos>`: a `.json` file
    /// (`{"tokens": [...]}`) or one token per line.
    #[arg(long, value_name = "FILE")]
    pub src_vocab: PathBuf,
    /// The target vocabulary, as --src-vocab.
    #[arg(long, value_name = "FILE")]
    pub tgt_vocab: PathBuf,
    /// The artifact directory to create (it must not already hold an artifact).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
}

/// `transduce export`.
#[derive(clap::Args, Debug)]
pub struct ExportArgs {
    /// A directory written by `transduce train`.
    #[arg(long, default_value = DEFAULT_ARTIFACT_DIR)]
    pub artifact_dir: PathBuf,
    /// The safetensors file to write (tensor names are the parameters' module paths). An
    /// artifact directory holding `model.safetensors` instead of `model.bpk` loads from it.
    #[arg(long, value_name = "FILE.safetensors", required_unless_present = "web")]
    pub out: Option<PathBuf>,
    /// The web page's directory (e.g. `web`): writes the model's inference files to
    /// DIR/models/NAME/ and lists it in DIR/models/index.json, for the page to fetch.
    #[arg(long, value_name = "DIR")]
    pub web: Option<PathBuf>,
    /// With --web: the model's name in the page [default: the artifact directory's name].
    #[arg(long, requires = "web")]
    pub name: Option<String>,
}

/// `transduce attention`.
#[derive(clap::Args, Debug)]
pub struct AttentionArgs {
    /// A directory written by `transduce train`.
    #[arg(long, default_value = DEFAULT_ARTIFACT_DIR)]
    pub artifact_dir: PathBuf,
    /// The source sentence to translate.
    #[arg(long)]
    pub text: String,
    /// The picture to write: SVG if the name ends in .svg, else PNG.
    #[arg(long, value_name = "FILE.png|FILE.svg")]
    pub out: PathBuf,
    /// Transformer: the layer, counted from 1 [default: the last].
    #[arg(long, value_name = "L")]
    pub layer: Option<usize>,
    /// Transformer: one head of the layer's cross-attention, counted from 1.
    #[arg(long, value_name = "H", conflicts_with_all = ["average", "grid"])]
    pub head: Option<usize>,
    /// Transformer: the mean of the layer's heads (the default without --head or --grid).
    #[arg(long, conflicts_with = "grid")]
    pub average: bool,
    /// Transformer: every head of the layer's encoder self-, decoder self- and cross-attention, as a grid.
    #[arg(long)]
    pub grid: bool,
    /// Beam width (1 = greedy).
    #[arg(long, default_value_t = 1)]
    pub beam: usize,
    /// Search flags.
    #[command(flatten)]
    pub search: SearchArgs,
    /// Backend: flex, ndarray, wgpu, cuda or auto.
    #[arg(long, default_value = "auto")]
    pub device: DeviceSpec,
}

/// `transduce score`.
#[derive(clap::Args, Debug)]
pub struct ScoreArgs {
    /// Hypotheses, one per line.
    #[arg(long, value_name = "FILE")]
    pub hyp: PathBuf,
    /// References, one per line, aligned with the hypotheses; give several files (`--ref a b`
    /// or `--ref a --ref b`) for multi-reference BLEU and chrF, as sacreBLEU's `-r`.
    #[arg(long = "ref", value_name = "FILE", required = true, num_args = 1..)]
    pub reference: Vec<PathBuf>,
    /// BLEU's tokenisation: 13a (sacreBLEU's default), char or none.
    #[arg(long, value_name = "13a|char|none", default_value = "13a")]
    pub bleu_tokenize: BleuTokenize,
    /// chrF's word n-gram order: 0 for chrF, 2 for chrF++ (sacreBLEU's `--chrf-word-order`).
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u8).range(0..=6))]
    pub chrf_word_order: u8,
    /// Lowercase hypotheses and references before scoring both metrics (sacreBLEU's `-lc` for
    /// BLEU and `--chrf-lowercase` for chrF; the signatures say `case:lc`).
    #[arg(long)]
    pub lowercase: bool,
    /// Print a JSON object (`bleu`, `chrf`, `n`, the signatures, and BLEU's parts) instead of text.
    #[arg(long)]
    pub json: bool,
}

/// `transduce bench`.
#[derive(clap::Args, Debug)]
pub struct BenchArgs {
    /// Workloads, comma-separated: w1 (Transformer 3+3, d_model 256), w2 (LSTM 512 with Luong
    /// dot attention and input feeding), gru, bahdanau, big (Transformer base, batch 64), peak
    /// (a 2048x2048x2048 matmul: the machine's practical peak, as matmul_gflops), decode (W1's
    /// Transformer decoding 8 sentences to 16, 64 and 256 tokens: cached against uncached
    /// greedy search, and beam 4 and 8; one object per length), decode-families (the w1, w2, gru
    /// and bahdanau models decoding 8 sentences to 16, 64 and 256 tokens, greedy and beam 4).
    #[arg(long, value_delimiter = ',', default_value = "w1,w2")]
    pub workload: Vec<String>,
    /// Backend: flex, ndarray, wgpu, cuda or auto.
    #[arg(long, default_value = "auto")]
    pub device: DeviceSpec,
    /// Training steps measured (the median is reported), after the warm-up steps.
    #[arg(long, default_value_t = 10)]
    pub steps: usize,
    /// Training steps run first and not measured.
    #[arg(long, default_value_t = 2)]
    pub warmup: usize,
    /// Print one JSON object per workload.
    #[arg(long)]
    pub json: bool,
}

/// `transduce data`.
#[derive(clap::Args, Debug)]
pub struct DataCmdArgs {
    /// Number of samples to print.
    #[arg(long, default_value_t = 10)]
    pub n: usize,
    /// Which split to sample.
    #[arg(long, value_enum, default_value = "train")]
    pub split: SplitArg,
    /// Print counts, length histograms, vocabulary sizes and padding instead of samples.
    #[arg(long)]
    pub stats: bool,
    /// Seed of data generation and splits (as `train --seed`). [default: 42]
    #[arg(long)]
    pub seed: Option<u64>,
    /// A JSON config whose `data` section (and `training.seed`) is used; flags override it.
    #[arg(long, value_name = "FILE.json")]
    pub config: Option<PathBuf>,
    /// Data flags.
    #[command(flatten)]
    pub data: DataArgs,
}

/// `--split`.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum SplitArg {
    /// Training pairs.
    Train,
    /// Validation pairs.
    Valid,
    /// Test pairs.
    Test,
}

/// Default artifact directory of `train`, `translate` and `eval`.
pub const DEFAULT_ARTIFACT_DIR: &str = "runs/default";

/// `transduce train`.
#[derive(clap::Args, Debug)]
pub struct TrainArgs {
    /// Architecture.
    #[arg(long, value_enum)]
    pub arch: Option<Arch>,
    /// Recurrent cell (seq2seq, luong, bahdanau). [default: lstm; gru for bahdanau]
    #[arg(long, value_enum)]
    pub cell: Option<CellKind>,
    /// Luong score function. [default: general]
    #[arg(long, value_enum)]
    pub score: Option<Score>,
    /// seq2seq: read each source sentence backwards (Sutskever et al.'s trick).
    #[arg(long)]
    pub reverse_source: bool,
    /// seq2seq: feed the context to every decoder step and to the output layer (Cho et al. 2014).
    #[arg(long)]
    pub context_every_step: bool,
    /// Recurrent models: bidirectional encoder (true/false). [default: false for seq2seq, true otherwise]
    #[arg(long)]
    pub bidirectional: Option<bool>,
    /// Luong: feed the attentional state into the next step (true/false). [default: true]
    #[arg(long)]
    pub input_feeding: Option<bool>,
    /// Layers (encoder and decoder each).
    #[arg(long)]
    pub layers: Option<usize>,
    /// Transformer preset: tiny (the defaults), small (N=3, d_model 256) or base (the paper's N=6, d_model 512).
    #[arg(long, value_enum)]
    pub preset: Option<Preset>,
    /// Transformer: sinusoidal or learned positions. [default: sinusoidal]
    #[arg(long, value_enum)]
    pub positions: Option<Positions>,
    /// Transformer: size of the learned position table (longest sequence). [default: 256]
    #[arg(long)]
    pub max_positions: Option<usize>,
    /// Transformer: one embedding table for source and target (implies --joint-vocab).
    #[arg(long)]
    pub share_embeddings: bool,
    /// Transformer: tie the output projection to the target embeddings.
    #[arg(long)]
    pub tie_output: bool,
    /// Transformer: pre-norm instead of the paper's post-norm.
    #[arg(long)]
    pub norm_first: bool,
    /// Transformer: model width. [default: 64]
    #[arg(long)]
    pub d_model: Option<usize>,
    /// Transformer: attention heads. [default: 4]
    #[arg(long)]
    pub n_heads: Option<usize>,
    /// Transformer: feed-forward width. [default: 256]
    #[arg(long)]
    pub d_ff: Option<usize>,
    /// Recurrent models: hidden width. [default: 128]
    #[arg(long)]
    pub d_hidden: Option<usize>,
    /// Recurrent models: embedding width. [default: 64]
    #[arg(long)]
    pub d_embedding: Option<usize>,
    /// Dropout. [default: 0.1]
    #[arg(long)]
    pub dropout: Option<f64>,
    /// Warmup steps of the learning-rate schedule. [default: 400]
    #[arg(long)]
    pub warmup_steps: Option<usize>,
    /// Passes over the training data. [default: 10]
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Sentence pairs per batch. [default: 64]
    #[arg(long)]
    pub batch_size: Option<usize>,
    /// Peak learning rate (after warmup). [default: 0.002]
    #[arg(long)]
    pub lr: Option<f64>,
    /// Seed of weights, data generation and splits, and batch order. [default: 42]
    #[arg(long)]
    pub seed: Option<u64>,
    /// Backend: flex, ndarray, wgpu, cuda or auto (optionally `wgpu:1`); several separated by
    /// commas (`wgpu:0,wgpu:1`) train data-parallel.
    #[arg(long, default_value = "auto")]
    pub device: DeviceList,
    /// Where the config, vocabularies, weights and metrics are written.
    #[arg(long, default_value = DEFAULT_ARTIFACT_DIR)]
    pub artifact_dir: PathBuf,
    /// A JSON config (any subset of a saved config.json); flags override it.
    #[arg(long, value_name = "FILE.json")]
    pub config: Option<PathBuf>,
    /// Continue the interrupted run in DIR from its latest checkpoint (its saved config is used;
    /// only --epochs and --device apply).
    #[arg(long, value_name = "DIR")]
    pub resume: Option<PathBuf>,
    /// Learning-rate schedule: noam (the Transformer's default) or plateau (constant, halved
    /// when validation stalls; the recurrent models' default).
    #[arg(long, value_enum)]
    pub schedule: Option<Schedule>,
    /// Recurrent models: probability of feeding the reference token (scheduled sampling below 1). [default: 1]
    #[arg(long)]
    pub teacher_forcing: Option<f64>,
    /// Stop training after this many seconds, then evaluate the best model so far.
    #[arg(long, value_name = "SECONDS")]
    pub time_budget: Option<f64>,
    /// Stop when validation BLEU has not improved for this many epochs.
    #[arg(long)]
    pub patience: Option<usize>,
    /// Pretrained source word vectors (GloVe/word2vec/fastText text; needs --tokenizer word).
    #[arg(long, value_name = "FILE")]
    pub src_embeddings: Option<PathBuf>,
    /// Pretrained target word vectors.
    #[arg(long, value_name = "FILE")]
    pub tgt_embeddings: Option<PathBuf>,
    /// Keep the pretrained embedding tables fixed during training.
    #[arg(long)]
    pub freeze_embeddings: bool,
    /// Most tokens per batch (rows × longest side); no budget by default.
    #[arg(long)]
    pub max_tokens: Option<usize>,
    /// Batch sentences of similar length together (true/false). [default: true]
    #[arg(long)]
    pub bucket: Option<bool>,
    /// Sort by length only within pools of this many batches, so that each epoch forms new
    /// batches [default: the whole training set]
    #[arg(long, value_name = "BATCHES")]
    pub bucket_pool: Option<usize>,
    /// BLEU's tokenisation in validation and the report: 13a, char or none [default: char for
    /// character-level targets, 13a otherwise]
    #[arg(long, value_name = "13a|char|none")]
    pub bleu_tokenize: Option<BleuTokenize>,
    /// Print one line of metrics per epoch instead of the dashboard, even at a terminal (off a
    /// terminal the lines are always used).
    #[arg(long)]
    pub no_tui: bool,
    /// Data flags.
    #[command(flatten)]
    pub data: DataArgs,
}

/// Where the sentence pairs come from and how they are tokenised (shared by `train` and `data`).
#[derive(clap::Args, Debug)]
pub struct DataArgs {
    /// Built-in task (used when no corpus is given). [default: reverse]
    #[arg(long, value_enum)]
    pub task: Option<Task>,
    /// Training corpus: one `source<TAB>target` pair per line (extra columns ignored).
    #[arg(long, value_name = "FILE.tsv")]
    pub train: Option<PathBuf>,
    /// Line-aligned training sources (with --tgt).
    #[arg(long, value_name = "FILE")]
    pub src: Option<PathBuf>,
    /// Line-aligned training targets (with --src).
    #[arg(long, value_name = "FILE")]
    pub tgt: Option<PathBuf>,
    /// Line-aligned validation sources (with --valid-tgt); otherwise split off the training data by source.
    #[arg(long, value_name = "FILE")]
    pub valid_src: Option<PathBuf>,
    /// Line-aligned validation targets.
    #[arg(long, value_name = "FILE")]
    pub valid_tgt: Option<PathBuf>,
    /// Line-aligned test sources (with --test-tgt); otherwise split off the training data by source.
    #[arg(long, value_name = "FILE")]
    pub test_src: Option<PathBuf>,
    /// Line-aligned test targets.
    #[arg(long, value_name = "FILE")]
    pub test_tgt: Option<PathBuf>,
    /// Tokenizer of both sides. [default: char for tasks, word for corpora]
    #[arg(long, value_enum)]
    pub tokenizer: Option<TokenizerKind>,
    /// Vocabulary size (BPE merges up to it; char/word vocabularies are capped). [default: 8000 for bpe]
    #[arg(long)]
    pub vocab_size: Option<usize>,
    /// Minimum count of a token to enter the vocabulary. [default: 1]
    #[arg(long)]
    pub min_freq: Option<usize>,
    /// One vocabulary (and BPE model) for source and target.
    #[arg(long)]
    pub joint_vocab: bool,
    /// Lowercase both sides.
    #[arg(long)]
    pub lowercase: bool,
    /// Source language (en, de or fr) for the word tokenizer's apostrophes and its Moses
    /// detokenisation. [default: the source file's extension, else en]
    #[arg(long, value_name = "en|de|fr")]
    pub src_lang: Option<Lang>,
    /// Target language (en, de or fr). [default: the target file's extension, else en]
    #[arg(long, value_name = "en|de|fr")]
    pub tgt_lang: Option<Lang>,
    /// Drop training pairs with a side longer than this many tokens (the count is reported).
    #[arg(long)]
    pub max_sentence_len: Option<usize>,
    /// Which side is the source: forward (as in the files) or reverse.
    #[arg(long, value_enum)]
    pub direction: Option<Direction>,
    /// Skip malformed lines (counted) instead of failing.
    #[arg(long)]
    pub skip_bad_lines: bool,
    /// Task: training pairs. [default: 20000]
    #[arg(long)]
    pub n_train: Option<usize>,
    /// Task: validation pairs. [default: 500]
    #[arg(long)]
    pub n_valid: Option<usize>,
    /// Task: test pairs. [default: 1000]
    #[arg(long)]
    pub n_test: Option<usize>,
    /// Task: shortest source. [default: 3]
    #[arg(long)]
    pub min_len: Option<usize>,
    /// Task: longest source. [default: 12]
    #[arg(long)]
    pub max_len: Option<usize>,
}

/// `transduce translate`.
#[derive(clap::Args, Debug)]
pub struct TranslateArgs {
    /// A directory written by `transduce train`.
    #[arg(long, default_value = DEFAULT_ARTIFACT_DIR)]
    pub artifact_dir: PathBuf,
    /// Read source lines from this file instead of stdin.
    #[arg(long)]
    pub input: Option<PathBuf>,
    /// Beam width (1 = greedy).
    #[arg(long, default_value_t = 1)]
    pub beam: usize,
    /// Print the N best hypotheses of each input line, best first, as `index<TAB>score<TAB>text`:
    /// index is the input's line number counted from 0, score the log-probability divided by
    /// the length penalty (the value that ranks them). N is at most --beam. An empty input line
    /// has no hypotheses, so no lines.
    #[arg(long, value_name = "N")]
    pub nbest: Option<usize>,
    /// After each translation, a TAB and, for each output token, `output→source`: the source
    /// token it attended to most (spaces shown as ▁). Not for seq2seq, which has no attention.
    #[arg(long)]
    pub show_alignment: bool,
    /// Search flags.
    #[command(flatten)]
    pub search: SearchArgs,
    /// Backend: flex, ndarray, wgpu, cuda or auto.
    #[arg(long, default_value = "auto")]
    pub device: DeviceSpec,
    /// Sentences decoded together.
    #[arg(long, default_value_t = 64)]
    pub batch_size: usize,
}

/// How the search ranks and limits its outputs (translate and eval).
#[derive(clap::Args, Debug)]
pub struct SearchArgs {
    /// Beam search ranks hypotheses by score / ((5 + length) / 6)^A, GNMT's length penalty
    /// (Wu et al. 2016); 0 = no penalty. Length counts `<eos>`.
    #[arg(long, value_name = "A", conflicts_with = "length_norm")]
    pub alpha: Option<f32>,
    /// Beam search ranks hypotheses by score / length, the mean log-probability per token
    /// (the default).
    #[arg(long)]
    pub length_norm: bool,
    /// Output limit a·|x| + b tokens for a source of |x| tokens: a.
    #[arg(long, value_name = "A", default_value_t = 2.0)]
    pub max_len_a: f64,
    /// Output limit a·|x| + b tokens for a source of |x| tokens: b.
    #[arg(long, value_name = "B", default_value_t = 10)]
    pub max_len_b: usize,
}

impl SearchArgs {
    /// The length penalty the flags name.
    pub fn length_penalty(&self) -> Result<LengthPenalty, String> {
        match self.alpha {
            Some(alpha) if !(alpha.is_finite() && alpha >= 0.0) => Err(format!(
                "--alpha must be a number of at least 0, not {alpha}"
            )),
            Some(alpha) => Ok(LengthPenalty::Gnmt(alpha)),
            None => Ok(LengthPenalty::Average),
        }
    }

    /// The output limit the flags name.
    pub fn length_limit(&self) -> Result<LengthLimit, String> {
        if !(self.max_len_a.is_finite() && self.max_len_a >= 0.0) {
            return Err(format!(
                "--max-len-a must be a number of at least 0, not {}",
                self.max_len_a
            ));
        }
        Ok(LengthLimit {
            a: self.max_len_a,
            b: self.max_len_b,
        })
    }
}

/// `transduce eval`.
#[derive(clap::Args, Debug)]
pub struct EvalArgs {
    /// A directory written by `transduce train`.
    #[arg(long, default_value = DEFAULT_ARTIFACT_DIR)]
    pub artifact_dir: PathBuf,
    /// A `source<TAB>target` test set [default: the held-out test split of the training data].
    #[arg(long, value_name = "FILE.tsv")]
    pub test: Option<PathBuf>,
    /// Print a JSON object (`bleu`, `bleu_signature`, `chrf`, `exact_match`, `n`) instead of text.
    #[arg(long)]
    pub json: bool,
    /// BLEU's tokenisation (13a, char or none) [default: the one training validated with]
    #[arg(long, value_name = "13a|char|none")]
    pub bleu_tokenize: Option<BleuTokenize>,
    /// Beam width (1 = greedy).
    #[arg(long, default_value_t = 1)]
    pub beam: usize,
    /// Search flags.
    #[command(flatten)]
    pub search: SearchArgs,
    /// Backend: flex, ndarray, wgpu, cuda or auto.
    #[arg(long, default_value = "auto")]
    pub device: DeviceSpec,
    /// Sentences decoded together.
    #[arg(long, default_value_t = 64)]
    pub batch_size: usize,
}

/// Sets `target` to the flag's value when the flag was given.
fn set<T>(target: &mut T, value: Option<T>) {
    if let Some(value) = value {
        *target = value;
    }
}

/// Sets a boolean switch when the flag was given (switches cannot be turned off by a flag).
fn switch(target: &mut bool, given: bool) {
    if given {
        *target = true;
    }
}

impl DataArgs {
    /// Applies the data flags to `data`; `joint_vocab` is forced on by `--share-embeddings`.
    pub fn apply(&self, data: &mut DataConfig, joint_vocab: bool) {
        set(&mut data.task, self.task);
        set(&mut data.train, self.train.clone().map(Some));
        set(&mut data.src, self.src.clone().map(Some));
        set(&mut data.tgt, self.tgt.clone().map(Some));
        set(&mut data.valid_src, self.valid_src.clone().map(Some));
        set(&mut data.valid_tgt, self.valid_tgt.clone().map(Some));
        set(&mut data.test_src, self.test_src.clone().map(Some));
        set(&mut data.test_tgt, self.test_tgt.clone().map(Some));
        set(&mut data.tokenizer, self.tokenizer.map(Some));
        set(&mut data.vocab_size, self.vocab_size.map(Some));
        set(&mut data.min_freq, self.min_freq);
        switch(&mut data.joint_vocab, self.joint_vocab || joint_vocab);
        switch(&mut data.lowercase, self.lowercase);
        set(&mut data.src_lang, self.src_lang.map(Some));
        set(&mut data.tgt_lang, self.tgt_lang.map(Some));
        set(&mut data.max_sentence_len, self.max_sentence_len.map(Some));
        set(&mut data.direction, self.direction);
        switch(&mut data.skip_bad_lines, self.skip_bad_lines);
        set(&mut data.n_train, self.n_train);
        set(&mut data.n_valid, self.n_valid);
        set(&mut data.n_test, self.n_test);
        set(&mut data.min_len, self.min_len);
        set(&mut data.max_len, self.max_len);
    }
}

/// The flags given on the command line that `arch` has no field for, by name.
fn inapplicable(arch: &str, given: &[(&'static str, bool)]) -> anyhow::Result<()> {
    let names: Vec<&str> = given
        .iter()
        .filter(|(_, given)| *given)
        .map(|(name, _)| *name)
        .collect();
    if !names.is_empty() {
        bail!(
            "{} {} not apply to --arch {arch}",
            names.join(", "),
            if names.len() == 1 { "does" } else { "do" }
        );
    }
    Ok(())
}

impl TrainArgs {
    /// The architecture the flags ask for, if they do.
    pub fn arch(&self) -> Option<&'static str> {
        self.arch.map(Arch::name)
    }

    /// Applies every `train` flag to `config`: the one place where flags meet the run config.
    ///
    /// A model flag that the architecture has no use for (`--d-model` for an LSTM) is an error
    /// rather than silently ignored.
    pub fn apply(&self, config: &mut RunConfig) -> anyhow::Result<()> {
        self.data.apply(&mut config.data, self.share_embeddings);
        let t = &mut config.training;
        set(&mut t.epochs, self.epochs);
        set(&mut t.batch_size, self.batch_size);
        set(&mut t.max_tokens, self.max_tokens.map(Some));
        set(&mut t.bucket, self.bucket);
        set(&mut t.bucket_pool, self.bucket_pool.map(Some));
        set(&mut t.lr, self.lr);
        set(&mut t.schedule, self.schedule.map(Some));
        set(&mut t.warmup_steps, self.warmup_steps);
        set(&mut t.teacher_forcing, self.teacher_forcing);
        set(&mut t.time_budget, self.time_budget.map(Some));
        set(&mut t.patience, self.patience.map(Some));
        set(&mut t.src_embeddings, self.src_embeddings.clone().map(Some));
        set(&mut t.tgt_embeddings, self.tgt_embeddings.clone().map(Some));
        switch(&mut t.freeze_embeddings, self.freeze_embeddings);
        set(&mut t.seed, self.seed);
        set(&mut t.bleu_tokenize, self.bleu_tokenize.map(Some));

        let arch = config.model.arch();
        let transformer_only = [
            ("--preset", self.preset.is_some()),
            ("--positions", self.positions.is_some()),
            ("--max-positions", self.max_positions.is_some()),
            ("--share-embeddings", self.share_embeddings),
            ("--tie-output", self.tie_output),
            ("--norm-first", self.norm_first),
            ("--d-model", self.d_model.is_some()),
            ("--n-heads", self.n_heads.is_some()),
            ("--d-ff", self.d_ff.is_some()),
        ];
        let recurrent_only = [
            ("--cell", self.cell.is_some()),
            ("--bidirectional", self.bidirectional.is_some()),
            ("--d-hidden", self.d_hidden.is_some()),
            ("--d-embedding", self.d_embedding.is_some()),
        ];
        let seq2seq_only = [
            ("--reverse-source", self.reverse_source),
            ("--context-every-step", self.context_every_step),
        ];
        let luong_only = [
            ("--score", self.score.is_some()),
            ("--input-feeding", self.input_feeding.is_some()),
        ];
        // The flags every recurrent config (seq2seq, Luong, Bahdanau) shares.
        macro_rules! recurrent {
            ($m:expr) => {{
                set(&mut $m.cell, self.cell);
                set(&mut $m.n_layers, self.layers);
                set(&mut $m.bidirectional, self.bidirectional);
                set(&mut $m.d_hidden, self.d_hidden);
                set(&mut $m.d_embedding, self.d_embedding);
                set(&mut $m.dropout, self.dropout);
            }};
        }
        match &mut config.model {
            ModelConfig::Transformer(m) => {
                inapplicable(arch, &recurrent_only)?;
                inapplicable(arch, &seq2seq_only)?;
                inapplicable(arch, &luong_only)?;
                set(&mut m.n_encoder_layers, self.layers);
                set(&mut m.n_decoder_layers, self.layers);
                set(&mut m.d_model, self.d_model);
                set(&mut m.n_heads, self.n_heads);
                set(&mut m.d_ff, self.d_ff);
                set(&mut m.dropout, self.dropout);
                set(&mut m.positions, self.positions);
                set(&mut m.max_len, self.max_positions);
                switch(&mut m.share_embeddings, self.share_embeddings);
                switch(&mut m.tie_output, self.tie_output);
                switch(&mut m.norm_first, self.norm_first);
            }
            ModelConfig::Seq2seq(m) => {
                inapplicable(arch, &transformer_only)?;
                inapplicable(arch, &luong_only)?;
                recurrent!(m);
                switch(&mut m.reverse_source, self.reverse_source);
                switch(&mut m.context_every_step, self.context_every_step);
            }
            ModelConfig::Luong(m) => {
                inapplicable(arch, &transformer_only)?;
                inapplicable(arch, &seq2seq_only)?;
                recurrent!(m);
                set(&mut m.score, self.score);
                set(&mut m.input_feeding, self.input_feeding);
            }
            ModelConfig::Bahdanau(m) => {
                inapplicable(arch, &transformer_only)?;
                inapplicable(arch, &seq2seq_only)?;
                inapplicable(arch, &luong_only)?;
                recurrent!(m);
            }
        }
        Ok(())
    }
}
