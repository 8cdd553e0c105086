//! What data a run uses: a built-in task, a TSV corpus or two line-aligned files; how it is
//! split, filtered and tokenised.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::{
    Codec, DataError, Lang, Pair, Prepared, Splits, Task, TaskConfig, TokenizerKind, read_aligned,
    read_tsv, split_by_source,
};

/// Which side is the source.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum Direction {
    /// As in the files: first column (or `--src`) is the source.
    #[default]
    Forward,
    /// Swapped: translate the other way.
    Reverse,
}

/// How text is normalised before tokenisation: the one function that training, translation and
/// evaluation all apply, so that inference sees text exactly as training did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Normalization {
    /// Lowercase both sides.
    pub lowercase: bool,
    /// Which side of a pair is the source.
    pub direction: Direction,
}

impl Normalization {
    /// A sentence (either side) as training saw it.
    pub fn text(&self, text: &str) -> String {
        if self.lowercase {
            text.to_lowercase()
        } else {
            text.to_string()
        }
    }

    /// A pair as the files hold it, oriented and normalised as training saw it.
    pub fn pair(&self, pair: Pair) -> Pair {
        let (src, tgt) = match self.direction {
            Direction::Forward => (pair.src, pair.tgt),
            Direction::Reverse => (pair.tgt, pair.src),
        };
        Pair {
            src: self.text(&src),
            tgt: self.text(&tgt),
        }
    }
}

/// The data options of a run, saved in the artifact directory's `config.json`.
///
/// The source is `train` (a TSV file) or `src`/`tgt` (line-aligned files) when given, the
/// built-in `task` otherwise. A corpus without validation (and test) files is split by source
/// sentence, deterministically from the run's seed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DataConfig {
    /// Built-in task used when no corpus is given. Default: reverse
    pub task: Task,
    /// A `source<TAB>target` corpus.
    pub train: Option<PathBuf>,
    /// Line-aligned training sources (with `tgt`).
    pub src: Option<PathBuf>,
    /// Line-aligned training targets (with `src`).
    pub tgt: Option<PathBuf>,
    /// Line-aligned validation sources (with `valid_tgt`); otherwise split off the training data.
    pub valid_src: Option<PathBuf>,
    /// Line-aligned validation targets.
    pub valid_tgt: Option<PathBuf>,
    /// Line-aligned test sources (with `test_tgt`); otherwise split off the training data.
    pub test_src: Option<PathBuf>,
    /// Line-aligned test targets.
    pub test_tgt: Option<PathBuf>,
    /// Task: training pairs. Default: 20000
    pub n_train: usize,
    /// Task: validation pairs. Default: 500
    pub n_valid: usize,
    /// Task: test pairs. Default: 1000
    pub n_test: usize,
    /// Task: shortest source in digits (for `numbers`, of the number; unused by `dates`). Default: 3
    pub min_len: usize,
    /// Task: longest source in digits (`numbers` stop at 9 digits). Default: 12
    pub max_len: usize,
    /// Corpus: fraction of distinct sources held out for validation (when not given). Default: 0.05
    pub valid_fraction: f64,
    /// Corpus: fraction of distinct sources held out for testing (when not given). Default: 0.05
    pub test_fraction: f64,
    /// Corpus: skip malformed lines (and count them) instead of failing. Default: false
    pub skip_bad_lines: bool,
    /// Lowercase both sides. Default: false
    pub lowercase: bool,
    /// Drop training pairs with a side longer than this many tokens (counted and reported).
    pub max_sentence_len: Option<usize>,
    /// Which side is the source. Default: forward
    pub direction: Direction,
    /// Tokenizer of both sides; by default `char` for tasks and `word` for corpora.
    pub tokenizer: Option<TokenizerKind>,
    /// Vocabulary size: BPE merges up to it (default 8000); char and word vocabularies are capped at it.
    pub vocab_size: Option<usize>,
    /// Minimum count of a token to enter the vocabulary. Default: 1
    pub min_freq: usize,
    /// One vocabulary (and BPE model) for both sides (needed for shared embeddings). Default: false
    pub joint_vocab: bool,
    /// The source language (`en`, `de` or `fr`): how the word tokenizer splits and joins
    /// apostrophes and punctuation. By default the extension of the source file (`train.de`),
    /// else `en`.
    pub src_lang: Option<Lang>,
    /// The target language, as `src_lang`.
    pub tgt_lang: Option<Lang>,
}

impl Default for DataConfig {
    fn default() -> Self {
        let task = TaskConfig::new(Task::Reverse, 0);
        DataConfig {
            task: task.task,
            train: None,
            src: None,
            tgt: None,
            valid_src: None,
            valid_tgt: None,
            test_src: None,
            test_tgt: None,
            n_train: task.n_train,
            n_valid: task.n_valid,
            n_test: task.n_test,
            min_len: task.min_len,
            max_len: task.max_len,
            valid_fraction: 0.05,
            test_fraction: 0.05,
            skip_bad_lines: false,
            lowercase: false,
            max_sentence_len: None,
            direction: Direction::Forward,
            tokenizer: None,
            vocab_size: None,
            min_freq: 1,
            joint_vocab: false,
            src_lang: None,
            tgt_lang: None,
        }
    }
}

/// What loading found besides the pairs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LoadReport {
    /// Malformed lines skipped with `skip_bad_lines`.
    pub skipped_lines: usize,
    /// Training pairs dropped by `max_sentence_len`.
    pub dropped_long: usize,
}

impl DataConfig {
    /// Whether the data comes from files rather than a built-in task.
    pub fn is_corpus(&self) -> bool {
        self.train.is_some() || self.src.is_some() || self.tgt.is_some()
    }

    /// The tokenizer in effect.
    pub fn tokenizer(&self) -> TokenizerKind {
        self.tokenizer.unwrap_or(if self.is_corpus() {
            TokenizerKind::Word
        } else {
            TokenizerKind::Char
        })
    }

    /// The source and target languages in effect: the configured ones, else the extensions of
    /// the line-aligned files (`train.de`, `train.en`; swapped with `direction: reverse`), else
    /// English.
    pub fn langs(&self) -> (Lang, Lang) {
        let ext = |p: &Option<PathBuf>| {
            p.as_ref()
                .and_then(|p| p.extension()?.to_str()?.parse::<Lang>().ok())
        };
        let (a, b) = (ext(&self.src), ext(&self.tgt));
        let (src, tgt) = match self.direction {
            Direction::Forward => (a, b),
            Direction::Reverse => (b, a),
        };
        (
            self.src_lang.or(src).unwrap_or(Lang::En),
            self.tgt_lang.or(tgt).unwrap_or(Lang::En),
        )
    }

    /// The normalisation of this data: what translation and evaluation must apply too.
    pub fn normalization(&self) -> Normalization {
        Normalization {
            lowercase: self.lowercase,
            direction: self.direction,
        }
    }

    /// A one-line description of the source, for logs.
    pub fn describe(&self) -> String {
        match (&self.train, &self.src, &self.tgt) {
            (Some(path), _, _) => format!("corpus {}", path.display()),
            (None, Some(src), Some(tgt)) => format!("corpus {} / {}", src.display(), tgt.display()),
            _ if !self.task.uses_lengths() => format!("task {}", self.task.name()),
            _ => format!(
                "task {} ({}..={})",
                self.task.name(),
                self.min_len,
                self.max_len
            ),
        }
    }

    /// Checks values that do not need the file system.
    pub fn validate(&self) -> Result<(), DataError> {
        let invalid = |m: String| Err(DataError::Invalid(m));
        for (name, f) in [
            ("valid_fraction", self.valid_fraction),
            ("test_fraction", self.test_fraction),
        ] {
            if !(0.0..1.0).contains(&f) {
                return invalid(format!("{name} must be in [0, 1), got {f}"));
            }
        }
        if self.valid_fraction + self.test_fraction >= 1.0 {
            return invalid("valid_fraction + test_fraction must be below 1".into());
        }
        if self.train.is_some() && (self.src.is_some() || self.tgt.is_some()) {
            return invalid(
                "give either a TSV corpus (train) or line-aligned files (src and tgt), not both"
                    .into(),
            );
        }
        for (a, b, name) in [
            (&self.src, &self.tgt, "src and tgt"),
            (&self.valid_src, &self.valid_tgt, "valid_src and valid_tgt"),
            (&self.test_src, &self.test_tgt, "test_src and test_tgt"),
        ] {
            if a.is_some() != b.is_some() {
                return invalid(format!("{name} go together"));
            }
        }
        if !self.is_corpus() && (self.valid_src.is_some() || self.test_src.is_some()) {
            return invalid(
                "validation and test files need a training corpus (train, or src and tgt)".into(),
            );
        }
        if self.max_sentence_len == Some(0) || self.vocab_size.is_some_and(|v| v < 5) {
            return invalid("max_sentence_len must be positive and vocab_size at least 5".into());
        }
        Ok(())
    }

    /// Generates or reads the pairs, normalises them and splits them, deterministically from `seed`.
    pub fn load(&self, seed: u64) -> Result<(Splits, LoadReport), DataError> {
        self.validate()?;
        let mut report = LoadReport::default();
        let mut splits = if self.is_corpus() {
            let mut read = |pair: Option<(&PathBuf, &PathBuf)>,
                            tsv: Option<&PathBuf>|
             -> Result<Option<Vec<Pair>>, DataError> {
                let (pairs, skipped) = match (pair, tsv) {
                    (Some((src, tgt)), _) => read_aligned(src, tgt, self.skip_bad_lines)?,
                    (None, Some(tsv)) => read_tsv(tsv, self.skip_bad_lines)?,
                    (None, None) => return Ok(None),
                };
                report.skipped_lines += skipped;
                Ok(Some(pairs))
            };
            let train = read(
                self.src.as_ref().zip(self.tgt.as_ref()),
                self.train.as_ref(),
            )?
            .expect("a corpus is given");
            let valid = read(self.valid_src.as_ref().zip(self.valid_tgt.as_ref()), None)?;
            let test = read(self.test_src.as_ref().zip(self.test_tgt.as_ref()), None)?;
            let valid_fraction = if valid.is_some() {
                0.0
            } else {
                self.valid_fraction
            };
            let test_fraction = if test.is_some() {
                0.0
            } else {
                self.test_fraction
            };
            let mut splits = split_by_source(train, seed, valid_fraction, test_fraction);
            if let Some(valid) = valid {
                splits.valid = valid;
            }
            if let Some(test) = test {
                splits.test = test;
            }
            if splits.train.is_empty() || splits.valid.is_empty() {
                return Err(DataError::Invalid(format!(
                    "{}: too few distinct source sentences to split into train and validation",
                    self.describe()
                )));
            }
            splits
        } else {
            let task = TaskConfig {
                task: self.task,
                n_train: self.n_train,
                n_valid: self.n_valid,
                n_test: self.n_test,
                min_len: self.min_len,
                max_len: self.max_len,
                seed,
            };
            if task.n_train == 0 || task.n_valid == 0 {
                return Err(DataError::Invalid(
                    "n_train and n_valid must be at least 1".into(),
                ));
            }
            task.generate()?
        };
        let normalization = self.normalization();
        for pairs in [&mut splits.train, &mut splits.valid, &mut splits.test] {
            *pairs = std::mem::take(pairs)
                .into_iter()
                .map(|p| normalization.pair(p))
                .collect();
        }
        Ok((splits, report))
    }

    /// Loads the splits, trains the tokenizers and builds the vocabularies from the training
    /// split, and drops training pairs longer than `max_sentence_len` tokens.
    pub fn prepare(&self, seed: u64) -> Result<(Prepared, LoadReport), DataError> {
        self.prepare_with(seed, &mut |_| {})
    }

    /// [`DataConfig::prepare`], naming each stage to `stage` as it starts (for a progress display).
    pub fn prepare_with(
        &self,
        seed: u64,
        stage: &mut dyn FnMut(&str),
    ) -> Result<(Prepared, LoadReport), DataError> {
        stage(&if self.is_corpus() {
            format!("reading {}", self.describe())
        } else {
            format!("generating {}", self.describe())
        });
        let (mut splits, mut report) = self.load(seed)?;
        stage(&format!(
            "building the {} tokenizer and vocabularies on {} training pairs",
            self.tokenizer().name(),
            splits.train.len()
        ));
        let default_size = if self.tokenizer() == TokenizerKind::Bpe {
            8000
        } else {
            usize::MAX
        };
        let codec = Codec::build(
            &splits.train,
            self.tokenizer(),
            self.langs(),
            self.vocab_size.unwrap_or(default_size),
            self.min_freq,
            self.joint_vocab,
        )?;
        report.dropped_long = self.drop_long(&mut splits, &codec, stage)?;
        Ok((Prepared { splits, codec }, report))
    }

    /// Loads the splits and filters them exactly as [`DataConfig::prepare`] did, with a saved
    /// codec (a resumed run): the same pairs, the same drops.
    pub fn prepare_with_codec(
        &self,
        seed: u64,
        codec: Codec,
    ) -> Result<(Prepared, LoadReport), DataError> {
        let (mut splits, mut report) = self.load(seed)?;
        report.dropped_long = self.drop_long(&mut splits, &codec, &mut |_| {})?;
        Ok((Prepared { splits, codec }, report))
    }

    /// Drops training pairs with a side longer than `max_sentence_len` tokens; how many.
    fn drop_long(
        &self,
        splits: &mut Splits,
        codec: &Codec,
        stage: &mut dyn FnMut(&str),
    ) -> Result<usize, DataError> {
        let Some(max) = self.max_sentence_len else {
            return Ok(0);
        };
        stage(&format!("dropping training pairs longer than {max} tokens"));
        let before = splits.train.len();
        splits.train.retain(|p| {
            codec.src_tokenizer.tokenize(&p.src).len() <= max
                && codec.tgt_tokenizer.tokenize(&p.tgt).len() <= max
        });
        if splits.train.is_empty() {
            return Err(DataError::Invalid(format!(
                "every training pair is longer than max_sentence_len = {max}"
            )));
        }
        Ok(before - splits.train.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_the_reverse_task_with_chars() {
        let c = DataConfig::default();
        assert_eq!(
            (c.task, c.tokenizer()),
            (Task::Reverse, TokenizerKind::Char)
        );
        let c = DataConfig {
            train: Some("x.tsv".into()),
            ..DataConfig::default()
        };
        assert_eq!(c.tokenizer(), TokenizerKind::Word);
    }

    #[test]
    fn describe_names_the_lengths_only_where_they_mean_something() {
        assert_eq!(DataConfig::default().describe(), "task reverse (3..=12)");
        let dates = DataConfig {
            task: Task::Dates,
            ..DataConfig::default()
        };
        assert_eq!(dates.describe(), "task dates");
    }

    #[test]
    fn partial_json_fills_defaults() {
        let c: DataConfig = serde_json::from_str(r#"{"task": "sort", "n_train": 10}"#).unwrap();
        assert_eq!((c.task, c.n_train, c.n_test), (Task::Sort, 10, 1000));
    }

    #[test]
    fn prepare_builds_vocabularies_from_train() {
        let c = DataConfig {
            n_train: 200,
            n_valid: 20,
            n_test: 20,
            ..DataConfig::default()
        };
        let (p, _) = c.prepare(1).unwrap();
        assert_eq!(p.codec.src_vocab.len(), 14); // 4 specials + 10 digits
        assert_eq!(p.splits.test.len(), 20);
        let bad = DataConfig {
            valid_fraction: 1.0,
            ..c.clone()
        };
        assert!(bad.validate().is_err());
        let bad = DataConfig {
            src: Some("a".into()),
            ..c
        };
        assert!(
            bad.validate()
                .unwrap_err()
                .to_string()
                .contains("go together")
        );
    }

    #[test]
    fn aligned_files_direction_lowercase_and_length_filter() {
        let dir = std::env::temp_dir().join(format!("transduce-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (src, tgt) = (dir.join("train.de"), dir.join("train.en"));
        let de: String = (0..40)
            .map(|i| format!("Ein Satz {i}\n"))
            .collect::<String>()
            + "Ein sehr langer Satz mit vielen vielen Wörtern\n";
        let en: String = (0..40)
            .map(|i| format!("A sentence {i}\n"))
            .collect::<String>()
            + "A very long sentence with many many words\n";
        std::fs::write(&src, de).unwrap();
        std::fs::write(&tgt, en).unwrap();
        let c = DataConfig {
            src: Some(src),
            tgt: Some(tgt),
            lowercase: true,
            direction: Direction::Reverse,
            max_sentence_len: Some(4),
            valid_fraction: 0.1,
            test_fraction: 0.1,
            ..DataConfig::default()
        };
        let (p, report) = c.prepare(3).unwrap();
        let all: Vec<&Pair> = p
            .splits
            .train
            .iter()
            .chain(&p.splits.valid)
            .chain(&p.splits.test)
            .collect();
        assert!(
            all.iter()
                .all(|p| p.src.starts_with("a ") && p.tgt.starts_with("ein ")),
            "{all:?}"
        );
        let total = p.splits.train.len() + p.splits.valid.len() + p.splits.test.len();
        // The long pair is dropped when it lands in train, and counted.
        assert_eq!(total + report.dropped_long, 41);
        assert!(p.splits.train.iter().all(|p| p.src.split(' ').count() <= 4));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
