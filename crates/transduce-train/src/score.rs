//! Corpus BLEU and chrF exactly as sacreBLEU 2.x computes them by default, with one reference
//! per hypothesis.
//!
//! - BLEU (Papineni et al. 2002): the `13a` tokenisation of mteval-v13a, n-grams up to 4,
//!   clipped counts summed over the corpus, brevity penalty `exp(1 - r/c)`, and the `exp`
//!   smoothing (NIST: each n-gram order without a match gets precision `1 / (2^k · total)`).
//!   Sentence-level BLEU uses sacreBLEU's effective order, as `sacrebleu.sentence_bleu` does.
//! - chrF (Popović 2015): character n-grams up to 6 with whitespace removed, `β = 2`,
//!   precision and recall averaged over the orders that occur in both hypothesis and reference.
//!
//! `assets/sacrebleu/fixtures.json`, written by sacreBLEU itself through
//! `assets/sacrebleu/make_fixtures.py`, is the specification: the tests reproduce every score.

use std::collections::HashMap;
use std::sync::LazyLock;

use regex::Regex;
use serde::Serialize;

/// Highest BLEU n-gram order.
const MAX_NGRAM: usize = 4;
/// chrF character n-gram order.
const CHRF_ORDER: usize = 6;
/// chrF recall weight.
const CHRF_BETA: f64 = 2.0;

/// A BLEU score and its parts.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Bleu {
    /// BLEU in [0, 100].
    pub score: f64,
    /// n-gram precisions in [0, 100] (smoothed), n = 1..4.
    pub precisions: [f64; MAX_NGRAM],
    /// Brevity penalty.
    pub bp: f64,
    /// Hypothesis tokens.
    pub sys_len: usize,
    /// Reference tokens.
    pub ref_len: usize,
}

/// The `13a` tokeniser of sacreBLEU (mteval-v13a's): splits punctuation and symbols from words,
/// periods and commas unless between digits, and dashes after digits.
pub fn tokenize_13a(line: &str) -> String {
    static RULES: LazyLock<[(Regex, &str); 4]> = LazyLock::new(|| {
        let re = |r: &str| Regex::new(r).expect("a valid pattern");
        [
            (re(r"([\{-\~\[-\` -\&\(-\+\:-\@\/])"), " ${1} "),
            (re(r"([^0-9])([\.,])"), "${1} ${2} "),
            (re(r"([\.,])([^0-9])"), " ${1} ${2}"),
            (re(r"([0-9])(-)"), "${1} ${2} "),
        ]
    });
    let mut line = line
        .replace("<skipped>", "")
        .replace("-\n", "")
        .replace('\n', " ");
    if line.contains('&') {
        line = line
            .replace("&quot;", "\"")
            .replace("&amp;", "&")
            .replace("&lt;", "<")
            .replace("&gt;", ">");
    }
    let mut line = format!(" {line} ");
    for (re, replacement) in RULES.iter() {
        line = re.replace_all(&line, *replacement).into_owned();
    }
    line.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Sufficient statistics of BLEU for one sentence or a corpus.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct BleuStats {
    sys_len: usize,
    ref_len: usize,
    correct: [usize; MAX_NGRAM],
    total: [usize; MAX_NGRAM],
}

fn ngram_counts(tokens: &[&str]) -> HashMap<Vec<String>, usize> {
    let mut counts = HashMap::new();
    for n in 1..=MAX_NGRAM {
        for window in tokens.windows(n) {
            *counts
                .entry(window.iter().map(|t| t.to_string()).collect())
                .or_insert(0) += 1;
        }
    }
    counts
}

pub(crate) fn bleu_stats(hyp: &str, reference: &str) -> BleuStats {
    // sacreBLEU strips trailing whitespace before tokenising.
    let hyp = tokenize_13a(hyp.trim_end());
    let reference = tokenize_13a(reference.trim_end());
    let hyp_tokens: Vec<&str> = hyp.split_whitespace().collect();
    let ref_tokens: Vec<&str> = reference.split_whitespace().collect();
    let ref_counts = ngram_counts(&ref_tokens);
    let mut stats = BleuStats {
        sys_len: hyp_tokens.len(),
        ref_len: ref_tokens.len(),
        ..BleuStats::default()
    };
    for (ngram, count) in ngram_counts(&hyp_tokens) {
        let n = ngram.len() - 1;
        stats.total[n] += count;
        stats.correct[n] += count.min(ref_counts.get(&ngram).copied().unwrap_or(0));
    }
    stats
}

impl BleuStats {
    pub(crate) fn add(mut self, other: BleuStats) -> Self {
        self.sys_len += other.sys_len;
        self.ref_len += other.ref_len;
        for n in 0..MAX_NGRAM {
            self.correct[n] += other.correct[n];
            self.total[n] += other.total[n];
        }
        self
    }

    /// sacreBLEU's `compute_bleu` with `smooth_method='exp'`.
    pub(crate) fn score(&self, effective_order: bool) -> Bleu {
        let bp = if self.sys_len < self.ref_len {
            if self.sys_len > 0 {
                (1.0 - self.ref_len as f64 / self.sys_len as f64).exp()
            } else {
                0.0
            }
        } else {
            1.0
        };
        let mut precisions = [0.0; MAX_NGRAM];
        let mut bleu = Bleu {
            score: 0.0,
            precisions,
            bp,
            sys_len: self.sys_len,
            ref_len: self.ref_len,
        };
        if self.correct.iter().all(|&c| c == 0) {
            return bleu;
        }
        let mut smooth = 1.0;
        let mut order = MAX_NGRAM;
        for (n, precision) in precisions.iter_mut().enumerate() {
            if self.total[n] == 0 {
                break;
            }
            if effective_order {
                order = n + 1;
            }
            *precision = if self.correct[n] == 0 {
                smooth *= 2.0;
                100.0 / (smooth * self.total[n] as f64)
            } else {
                100.0 * self.correct[n] as f64 / self.total[n] as f64
            };
        }
        let log = |p: f64| if p == 0.0 { -9_999_999_999.0 } else { p.ln() };
        let mean_log = precisions[..order].iter().map(|&p| log(p)).sum::<f64>() / order as f64;
        bleu.score = bp * mean_log.exp();
        bleu.precisions = precisions;
        bleu
    }
}

/// Corpus BLEU of hypotheses against one reference each.
///
/// # Panics
/// If the two slices differ in length.
pub fn corpus_bleu<H: AsRef<str>, R: AsRef<str>>(hyps: &[H], refs: &[R]) -> Bleu {
    assert_eq!(hyps.len(), refs.len(), "one reference per hypothesis");
    hyps.iter()
        .zip(refs)
        .map(|(h, r)| bleu_stats(h.as_ref(), r.as_ref()))
        .fold(BleuStats::default(), BleuStats::add)
        .score(false)
}

/// Sentence BLEU with effective order (as `sacrebleu.sentence_bleu`).
pub fn sentence_bleu(hyp: &str, reference: &str) -> f64 {
    bleu_stats(hyp, reference).score(true).score
}

/// chrF statistics: per order, `[hyp n-grams, ref n-grams, matches]`.
pub(crate) type ChrfStats = [[usize; 3]; CHRF_ORDER];

fn char_ngram_counts(chars: &[char], n: usize) -> HashMap<&[char], usize> {
    let mut counts: HashMap<&[char], usize> = HashMap::new();
    for window in chars.windows(n) {
        *counts.entry(window).or_insert(0) += 1;
    }
    counts
}

pub(crate) fn chrf_stats(hyp: &str, reference: &str) -> ChrfStats {
    let strip = |s: &str| -> Vec<char> { s.split_whitespace().flat_map(str::chars).collect() };
    let (hyp, reference) = (strip(hyp), strip(reference));
    let mut stats = [[0; 3]; CHRF_ORDER];
    for (n, slot) in stats.iter_mut().enumerate() {
        let (h, r) = (
            char_ngram_counts(&hyp, n + 1),
            char_ngram_counts(&reference, n + 1),
        );
        let hyp_count: usize = h.values().sum();
        let matches: usize = h
            .iter()
            .map(|(g, &c)| c.min(r.get(g).copied().unwrap_or(0)))
            .sum();
        // sacreBLEU counts no hypothesis n-grams when the reference has none of that order.
        *slot = [
            if r.is_empty() { 0 } else { hyp_count },
            r.values().sum(),
            matches,
        ];
    }
    stats
}

pub(crate) fn chrf_score(stats: &ChrfStats) -> f64 {
    let factor = CHRF_BETA * CHRF_BETA;
    let (mut precision, mut recall, mut orders) = (0.0, 0.0, 0);
    for &[n_hyp, n_ref, n_match] in stats {
        if n_hyp > 0 && n_ref > 0 {
            precision += n_match as f64 / n_hyp as f64;
            recall += n_match as f64 / n_ref as f64;
            orders += 1;
        }
    }
    if orders == 0 {
        return 0.0;
    }
    let (precision, recall) = (precision / orders as f64, recall / orders as f64);
    if precision + recall == 0.0 {
        return 0.0;
    }
    100.0 * (1.0 + factor) * precision * recall / (factor * precision + recall)
}

/// Corpus chrF (character 6-grams, β = 2) of hypotheses against one reference each.
///
/// # Panics
/// If the two slices differ in length.
pub fn corpus_chrf<H: AsRef<str>, R: AsRef<str>>(hyps: &[H], refs: &[R]) -> f64 {
    assert_eq!(hyps.len(), refs.len(), "one reference per hypothesis");
    let total = hyps
        .iter()
        .zip(refs)
        .map(|(h, r)| chrf_stats(h.as_ref(), r.as_ref()))
        .fold([[0; 3]; CHRF_ORDER], add_chrf);
    chrf_score(&total)
}

/// Sums two sets of chrF statistics.
pub(crate) fn add_chrf(mut a: ChrfStats, b: ChrfStats) -> ChrfStats {
    for (x, y) in a.iter_mut().zip(b) {
        for k in 0..3 {
            x[k] += y[k];
        }
    }
    a
}

/// Sentence chrF.
pub fn sentence_chrf(hyp: &str, reference: &str) -> f64 {
    chrf_score(&chrf_stats(hyp, reference))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixtures() -> serde_json::Value {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../assets/sacrebleu/fixtures.json"
        );
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    fn strings(v: &serde_json::Value) -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().to_string())
            .collect()
    }

    fn floats(v: &serde_json::Value) -> Vec<f64> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_f64().unwrap())
            .collect()
    }

    #[test]
    fn reproduces_sacrebleu_on_every_fixture() {
        let fixtures = fixtures();
        let cases = fixtures["cases"].as_object().unwrap();
        assert!(cases.len() >= 10);
        for (name, case) in cases {
            let (hyps, refs) = (strings(&case["hyps"]), strings(&case["refs"]));
            for (h, expected) in hyps.iter().zip(strings(&case["tokenized_13a"])) {
                assert_eq!(tokenize_13a(h), expected, "{name}: 13a of {h:?}");
            }
            let bleu = corpus_bleu(&hyps, &refs);
            let close = |a: f64, b: f64| (a - b).abs() < 0.01;
            assert!(
                close(bleu.score, case["bleu"].as_f64().unwrap()),
                "{name}: BLEU {} vs {}",
                bleu.score,
                case["bleu"]
            );
            assert_eq!(
                (bleu.sys_len as u64, bleu.ref_len as u64),
                (
                    case["sys_len"].as_u64().unwrap(),
                    case["ref_len"].as_u64().unwrap()
                ),
                "{name}"
            );
            for (p, q) in bleu.precisions.iter().zip(floats(&case["bleu_precisions"])) {
                assert!(close(*p, q), "{name}: precision {p} vs {q}");
            }
            let chrf = corpus_chrf(&hyps, &refs);
            assert!(
                close(chrf, case["chrf"].as_f64().unwrap()),
                "{name}: chrF {chrf} vs {}",
                case["chrf"]
            );
            for ((h, r), (b, c)) in hyps.iter().zip(&refs).zip(
                floats(&case["sentence_bleu"])
                    .into_iter()
                    .zip(floats(&case["sentence_chrf"])),
            ) {
                assert!(
                    close(sentence_bleu(h, r), b),
                    "{name}: sentence BLEU of {h:?}: {} vs {b}",
                    sentence_bleu(h, r)
                );
                assert!(
                    close(sentence_chrf(h, r), c),
                    "{name}: sentence chrF of {h:?}: {} vs {c}",
                    sentence_chrf(h, r)
                );
            }
        }
    }
}
