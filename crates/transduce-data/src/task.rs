//! Built-in tasks: synthetic, deterministic sequence transductions that need no files.

use std::collections::HashSet;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::{DataError, Pair, Splits};

/// A built-in task over digit strings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Task {
    /// `4721 -> 4721`.
    Copy,
    /// `4721 -> 1274`.
    Reverse,
    /// `4721 -> 1247`.
    Sort,
}

impl Task {
    /// The name given to `--task`.
    pub fn name(&self) -> &'static str {
        match self {
            Task::Copy => "copy",
            Task::Reverse => "reverse",
            Task::Sort => "sort",
        }
    }

    /// The target for `src`.
    pub fn apply(&self, src: &str) -> String {
        match self {
            Task::Copy => src.to_string(),
            Task::Reverse => src.chars().rev().collect(),
            Task::Sort => {
                let mut c: Vec<char> = src.chars().collect();
                c.sort_unstable();
                c.into_iter().collect()
            }
        }
    }
}

/// How a task's data is generated.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TaskConfig {
    /// Which task.
    pub task: Task,
    /// Number of training pairs.
    pub n_train: usize,
    /// Number of validation pairs.
    pub n_valid: usize,
    /// Number of test pairs.
    pub n_test: usize,
    /// Shortest source, in digits.
    pub min_len: usize,
    /// Longest source, in digits.
    pub max_len: usize,
    /// Seed of the generator.
    pub seed: u64,
}

impl TaskConfig {
    /// Defaults: 20,000 / 500 / 1,000 pairs of 3 to 12 digits.
    pub fn new(task: Task, seed: u64) -> Self {
        TaskConfig {
            task,
            n_train: 20_000,
            n_valid: 500,
            n_test: 1_000,
            min_len: 3,
            max_len: 12,
            seed,
        }
    }

    /// Generates the three splits. Every source is distinct, so validation and test sources are
    /// never seen in training.
    pub fn generate(&self) -> Result<Splits, DataError> {
        if self.min_len == 0 || self.min_len > self.max_len {
            return Err(DataError::Invalid(format!(
                "task lengths must satisfy 1 <= min_len <= max_len, got {}..={}",
                self.min_len, self.max_len
            )));
        }
        let total = self.n_train + self.n_valid + self.n_test;
        let distinct: f64 = (self.min_len..=self.max_len)
            .map(|l| 10f64.powi(l as i32))
            .sum();
        if (total as f64) > distinct / 2.0 {
            return Err(DataError::Invalid(format!(
                "{total} distinct sources of {}..={} digits are too many (at most {} exist); widen the lengths",
                self.min_len, self.max_len, distinct
            )));
        }
        let mut rng = StdRng::seed_from_u64(self.seed);
        let mut seen = HashSet::with_capacity(total);
        let mut pairs = Vec::with_capacity(total);
        while pairs.len() < total {
            let len = rng.random_range(self.min_len..=self.max_len);
            let src: String = (0..len)
                .map(|_| char::from(b'0' + rng.random_range(0..10u8)))
                .collect();
            if seen.insert(src.clone()) {
                let tgt = self.task.apply(&src);
                pairs.push(Pair { src, tgt });
            }
        }
        let test = pairs.split_off(self.n_train + self.n_valid);
        let valid = pairs.split_off(self.n_train);
        Ok(Splits {
            train: pairs,
            valid,
            test,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tasks_transform_as_named() {
        assert_eq!(Task::Copy.apply("4721"), "4721");
        assert_eq!(Task::Reverse.apply("4721"), "1274");
        assert_eq!(Task::Sort.apply("4721"), "1247");
    }

    #[test]
    fn generation_is_deterministic_disjoint_and_within_lengths() {
        let mut config = TaskConfig::new(Task::Reverse, 3);
        config.n_train = 500;
        config.n_valid = 50;
        config.n_test = 50;
        let a = config.generate().unwrap();
        assert_eq!(a, config.generate().unwrap());
        assert_eq!((a.train.len(), a.valid.len(), a.test.len()), (500, 50, 50));
        let train: HashSet<_> = a.train.iter().map(|p| &p.src).collect();
        assert!(
            a.test
                .iter()
                .chain(&a.valid)
                .all(|p| !train.contains(&p.src))
        );
        for p in a.train.iter().chain(&a.test) {
            assert!((3..=12).contains(&p.src.len()));
            assert_eq!(p.tgt, p.src.chars().rev().collect::<String>());
        }
        config.seed = 4;
        assert_ne!(a, config.generate().unwrap());
    }

    #[test]
    fn impossible_requests_are_errors() {
        let mut config = TaskConfig::new(Task::Copy, 0);
        config.max_len = 2;
        config.min_len = 1;
        assert!(
            config
                .generate()
                .unwrap_err()
                .to_string()
                .contains("too many")
        );
        config.min_len = 3;
        assert!(
            config
                .generate()
                .unwrap_err()
                .to_string()
                .contains("min_len")
        );
    }
}
