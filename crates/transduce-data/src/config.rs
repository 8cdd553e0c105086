//! What data a run uses: a built-in task or a corpus file, and how it is tokenised.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::{
    Codec, DataError, Prepared, Splits, Task, TaskConfig, Tokenizer, read_tsv, split_by_source,
};

/// The data options of a run, saved in the artifact directory's `config.json`.
///
/// The source is `train` (a TSV file) when given, the built-in `task` otherwise.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DataConfig {
    /// Built-in task used when no `train` file is given. Default: reverse
    pub task: Task,
    /// A `source<TAB>target` corpus; it is split into train/valid/test by source sentence.
    pub train: Option<PathBuf>,
    /// Task: training pairs. Default: 20000
    pub n_train: usize,
    /// Task: validation pairs. Default: 500
    pub n_valid: usize,
    /// Task: test pairs. Default: 1000
    pub n_test: usize,
    /// Task: shortest source. Default: 3
    pub min_len: usize,
    /// Task: longest source. Default: 12
    pub max_len: usize,
    /// Corpus: fraction of distinct sources held out for validation. Default: 0.05
    pub valid_fraction: f64,
    /// Corpus: fraction of distinct sources held out for testing. Default: 0.05
    pub test_fraction: f64,
    /// Corpus: skip malformed lines (and count them) instead of failing. Default: false
    pub skip_bad_lines: bool,
    /// Tokenizer of both sides; by default `char` for tasks and `word` for corpora.
    pub tokenizer: Option<Tokenizer>,
    /// Minimum count of a token to enter the vocabulary. Default: 1
    pub min_freq: usize,
    /// One vocabulary for both sides (needed for shared embeddings). Default: false
    pub joint_vocab: bool,
}

impl Default for DataConfig {
    fn default() -> Self {
        let task = TaskConfig::new(Task::Reverse, 0);
        DataConfig {
            task: task.task,
            train: None,
            n_train: task.n_train,
            n_valid: task.n_valid,
            n_test: task.n_test,
            min_len: task.min_len,
            max_len: task.max_len,
            valid_fraction: 0.05,
            test_fraction: 0.05,
            skip_bad_lines: false,
            tokenizer: None,
            min_freq: 1,
            joint_vocab: false,
        }
    }
}

/// What loading found besides the pairs.
#[derive(Clone, Debug, Default)]
pub struct LoadReport {
    /// Malformed lines skipped with `skip_bad_lines`.
    pub skipped_lines: usize,
}

impl DataConfig {
    /// The tokenizer in effect.
    pub fn tokenizer(&self) -> Tokenizer {
        self.tokenizer.unwrap_or(if self.train.is_some() {
            Tokenizer::Word
        } else {
            Tokenizer::Char
        })
    }

    /// A one-line description of the source, for logs.
    pub fn describe(&self) -> String {
        match &self.train {
            Some(path) => format!("corpus {}", path.display()),
            None => format!(
                "task {} ({}..={} digits)",
                self.task.name(),
                self.min_len,
                self.max_len
            ),
        }
    }

    /// Checks values that do not need the file system.
    pub fn validate(&self) -> Result<(), DataError> {
        for (name, f) in [
            ("valid_fraction", self.valid_fraction),
            ("test_fraction", self.test_fraction),
        ] {
            if !(0.0..1.0).contains(&f) {
                return Err(DataError::Invalid(format!(
                    "{name} must be in [0, 1), got {f}"
                )));
            }
        }
        if self.valid_fraction + self.test_fraction >= 1.0 {
            return Err(DataError::Invalid(
                "valid_fraction + test_fraction must be below 1".into(),
            ));
        }
        Ok(())
    }

    /// Generates or reads the pairs and splits them, deterministically from `seed`.
    pub fn load(&self, seed: u64) -> Result<(Splits, LoadReport), DataError> {
        self.validate()?;
        match &self.train {
            Some(path) => {
                let (pairs, skipped_lines) = read_tsv(path, self.skip_bad_lines)?;
                let splits = split_by_source(pairs, seed, self.valid_fraction, self.test_fraction);
                if splits.train.is_empty() || splits.valid.is_empty() {
                    return Err(DataError::File {
                        path: path.clone(),
                        message:
                            "too few distinct source sentences to split into train and validation"
                                .into(),
                    });
                }
                Ok((splits, LoadReport { skipped_lines }))
            }
            None => {
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
                Ok((task.generate()?, LoadReport::default()))
            }
        }
    }

    /// Loads the splits and builds the vocabularies from the training split.
    pub fn prepare(&self, seed: u64) -> Result<(Prepared, LoadReport), DataError> {
        let (splits, report) = self.load(seed)?;
        let tokenizer = self.tokenizer();
        let codec = Codec::build(
            &splits.train,
            tokenizer,
            tokenizer,
            self.min_freq,
            self.joint_vocab,
        );
        Ok((Prepared { splits, codec }, report))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_the_reverse_task_with_chars() {
        let c = DataConfig::default();
        assert_eq!((c.task, c.tokenizer()), (Task::Reverse, Tokenizer::Char));
        let c = DataConfig {
            train: Some("x.tsv".into()),
            ..DataConfig::default()
        };
        assert_eq!(c.tokenizer(), Tokenizer::Word);
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
        assert!(c.clone().with_fractions(1.0).validate().is_err());
    }

    impl DataConfig {
        fn with_fractions(mut self, f: f64) -> Self {
            self.valid_fraction = f;
            self
        }
    }
}
