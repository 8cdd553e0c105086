//! Built-in tasks: synthetic, deterministic sequence transductions that need no files.

use std::collections::HashSet;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::{DataError, Pair, Splits, words};

/// Dates are drawn from 1900-01-01 ..
const DATE_FIRST: i64 = -25_567;
/// .. to 2099-12-31 (days since 1970-01-01).
const DATE_LAST: i64 = 47_482;

/// A built-in task.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum Task {
    /// `4721 -> 4721`.
    Copy,
    /// `4721 -> 1274`.
    Reverse,
    /// `4721 -> 1247`.
    Sort,
    /// `Monday, 23 November 2026`, `lundi 23 novembre 2026`, `2026년 11월 23일 월요일` ... -> `2026-11-23`.
    Dates,
    /// A number in English or French words -> its digits (`forty-two` -> `42`).
    Numbers,
    /// English words -> digits (`--direction reverse` for digits -> words).
    NumbersEn,
    /// French words -> digits (`--direction reverse` for digits -> words).
    NumbersFr,
}

impl Task {
    /// The name given to `--task`.
    pub fn name(&self) -> &'static str {
        match self {
            Task::Copy => "copy",
            Task::Reverse => "reverse",
            Task::Sort => "sort",
            Task::Dates => "dates",
            Task::Numbers => "numbers",
            Task::NumbersEn => "numbers_en",
            Task::NumbersFr => "numbers_fr",
        }
    }

    /// Whether `min_len..=max_len` means anything for this task: the length of the digit string
    /// or of the number; dates are drawn from 1900-2099 whatever the lengths say.
    pub fn uses_lengths(&self) -> bool {
        !matches!(self, Task::Dates)
    }

    /// How many distinct sources the task has with lengths `min_len..=max_len` (capped at 1e12).
    fn capacity(&self, min_len: usize, max_len: usize) -> f64 {
        let numbers: f64 = (min_len..=max_len.min(9))
            .map(|l| 9.0 * 10f64.powi(l as i32 - 1) + f64::from(l == 1))
            .sum();
        match self {
            Task::Copy | Task::Reverse | Task::Sort => (min_len..=max_len.min(12))
                .map(|l| 10f64.powi(l as i32))
                .sum(),
            Task::Dates => (DATE_LAST - DATE_FIRST) as f64 * words::STYLES as f64,
            Task::Numbers => 2.0 * numbers,
            Task::NumbersEn | Task::NumbersFr => numbers,
        }
    }

    /// Up to `n` distinct pairs whose sources have exactly `len` digits (for the number tasks,
    /// of the number; dates ignore it), drawn from `seed`, leaving out the sources in `exclude`
    /// (such as the training set's). Fewer when fewer exist: a length study asks for 40 sources
    /// of one digit and gets the 10 there are, minus those training saw.
    pub fn pairs_of_length(
        &self,
        len: usize,
        n: usize,
        seed: u64,
        exclude: &HashSet<String>,
    ) -> Vec<Pair> {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut seen = HashSet::new();
        let mut pairs = Vec::with_capacity(n);
        // Enough draws to find every source of a short length; long ones never repeat.
        for _ in 0..n.saturating_mul(50).max(1000) {
            if pairs.len() == n {
                break;
            }
            let pair = self.sample(&mut rng, len, len);
            if !exclude.contains(&pair.src) && seen.insert(pair.src.clone()) {
                pairs.push(pair);
            }
        }
        pairs
    }

    /// Draws one pair; sources have `min_len..=max_len` digits (for numbers, of the number).
    fn sample(&self, rng: &mut StdRng, min_len: usize, max_len: usize) -> Pair {
        let digits = |rng: &mut StdRng| -> String {
            let len = rng.random_range(min_len..=max_len);
            (0..len)
                .map(|_| char::from(b'0' + rng.random_range(0..10u8)))
                .collect()
        };
        let number = |rng: &mut StdRng| -> u64 {
            let len = rng.random_range(min_len..=max_len.min(9).max(min_len)) as u32;
            let low = if len == 1 { 0 } else { 10u64.pow(len - 1) };
            rng.random_range(low..10u64.pow(len))
        };
        match self {
            Task::Copy | Task::Reverse | Task::Sort => {
                let src = digits(rng);
                let tgt = self.apply(&src);
                Pair { src, tgt }
            }
            Task::Dates => {
                let date = words::Date::from_days(rng.random_range(DATE_FIRST..DATE_LAST));
                Pair::new(date.written(rng.random_range(0..words::STYLES)), date.iso())
            }
            Task::Numbers | Task::NumbersEn | Task::NumbersFr => {
                let n = number(rng);
                let french = match self {
                    Task::Numbers => rng.random_bool(0.5),
                    _ => *self == Task::NumbersFr,
                };
                let src = if french {
                    words::french_number(n)
                } else {
                    words::english_number(n)
                };
                Pair::new(src, n.to_string())
            }
        }
    }

    /// The target of a digit task for `src` (the other tasks generate their targets).
    pub fn apply(&self, src: &str) -> String {
        match self {
            Task::Copy | Task::Dates | Task::Numbers | Task::NumbersEn | Task::NumbersFr => {
                src.to_string()
            }
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
        let distinct = self.task.capacity(self.min_len, self.max_len);
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
            let pair = self.task.sample(&mut rng, self.min_len, self.max_len);
            if seen.insert(pair.src.clone()) {
                pairs.push(pair);
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
    fn pairs_of_one_length_are_distinct_and_leave_out_the_excluded() {
        let exclude: HashSet<String> = ["3", "7"].map(String::from).into();
        let ones = Task::Reverse.pairs_of_length(1, 40, 5, &exclude);
        assert_eq!(ones.len(), 8, "{ones:?}");
        assert!(ones.iter().all(|p| !exclude.contains(&p.src)));
        let long = Task::Reverse.pairs_of_length(30, 25, 5, &HashSet::new());
        assert_eq!(long.len(), 25);
        assert!(
            long.iter()
                .all(|p| p.src.len() == 30 && p.tgt == Task::Reverse.apply(&p.src))
        );
    }

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
    fn dates_and_numbers_have_correct_targets() {
        let mut config = TaskConfig::new(Task::Dates, 5);
        (config.n_train, config.n_valid, config.n_test) = (300, 10, 10);
        let splits = config.generate().unwrap();
        for p in &splits.train {
            let (y, m, d) = (&p.tgt[..4], &p.tgt[5..7], &p.tgt[8..]);
            assert!(p.src.contains(y), "{p:?}");
            let day: u32 = d.parse().unwrap();
            assert!(
                p.src.contains(&day.to_string()) || p.src.contains("1er"),
                "{p:?}"
            );
            assert!((1..=12).contains(&m.parse::<u32>().unwrap()));
        }
        let langs = |needle: &str| splits.train.iter().any(|p| p.src.contains(needle));
        assert!(langs("년") && langs("janvier") | langs("mars") | langs("mai") && langs(", "));

        let mut config = TaskConfig::new(Task::Numbers, 6);
        (
            config.n_train,
            config.n_valid,
            config.n_test,
            config.min_len,
            config.max_len,
        ) = (300, 10, 10, 1, 6);
        for p in config.generate().unwrap().train {
            let n: u64 = p.tgt.parse().unwrap();
            assert!(
                p.src == words::english_number(n) || p.src == words::french_number(n),
                "{p:?}"
            );
            assert!((1..=6).contains(&p.tgt.len()));
        }
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
