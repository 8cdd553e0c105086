//! Parallel corpora: reading `source<TAB>target` files and splitting them by source sentence.

use std::collections::HashMap;
use std::path::Path;

use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};

use crate::DataError;

/// One sentence pair.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pair {
    /// Source sentence.
    pub src: String,
    /// Target sentence.
    pub tgt: String,
}

impl Pair {
    /// A pair from two strings.
    pub fn new(src: impl Into<String>, tgt: impl Into<String>) -> Self {
        Pair {
            src: src.into(),
            tgt: tgt.into(),
        }
    }
}

/// Train, validation and test pairs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Splits {
    /// Training pairs.
    pub train: Vec<Pair>,
    /// Validation pairs (model selection).
    pub valid: Vec<Pair>,
    /// Held-out test pairs.
    pub test: Vec<Pair>,
}

/// Reads a TSV corpus: `source<TAB>target` per line; further columns are ignored (the Tatoeba/Anki
/// format); `\r\n` endings are accepted and blank lines skipped.
///
/// A line without a TAB, with an empty side, or with invalid UTF-8 is an error naming the file and
/// line, unless `skip_bad_lines`, in which case it is counted and skipped. Returns the pairs and
/// the number of skipped lines; a file with no pairs is an error.
pub fn read_tsv(path: &Path, skip_bad_lines: bool) -> Result<(Vec<Pair>, usize), DataError> {
    let bytes = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
    let mut pairs = Vec::new();
    let mut skipped = 0;
    for (i, raw) in bytes.split(|&b| b == b'\n').enumerate() {
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        if raw.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match parse_tsv_line(raw) {
            Ok(pair) => pairs.push(pair),
            Err(_) if skip_bad_lines => skipped += 1,
            Err(message) => {
                return Err(DataError::Line {
                    path: path.into(),
                    line: i + 1,
                    message,
                });
            }
        }
    }
    if pairs.is_empty() {
        return Err(DataError::File {
            path: path.into(),
            message: "no sentence pairs in the file".into(),
        });
    }
    Ok((pairs, skipped))
}

fn parse_tsv_line(raw: &[u8]) -> Result<Pair, String> {
    let line = std::str::from_utf8(raw)
        .map_err(|e| format!("invalid UTF-8 at byte {}", e.valid_up_to()))?;
    let mut columns = line.split('\t');
    let src = columns.next().unwrap_or_default().trim();
    let tgt = columns
        .next()
        .ok_or_else(|| "no TAB: expected source<TAB>target".to_string())?
        .trim();
    if src.is_empty() {
        return Err("empty source side".into());
    }
    if tgt.is_empty() {
        return Err("empty target side".into());
    }
    Ok(Pair::new(src, tgt))
}

/// Reads two line-aligned files (line `i` of `src` translates line `i` of `tgt`).
///
/// Different line counts are an error naming both files; an empty side or invalid UTF-8 is an
/// error naming the file and line, unless `skip_bad_lines` (then counted and skipped). Lines
/// empty on both sides are skipped.
pub fn read_aligned(
    src: &Path,
    tgt: &Path,
    skip_bad_lines: bool,
) -> Result<(Vec<Pair>, usize), DataError> {
    let read_lines = |path: &Path| -> Result<Vec<Vec<u8>>, DataError> {
        let bytes = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
        let mut lines: Vec<Vec<u8>> = bytes
            .split(|&b| b == b'\n')
            .map(|l| l.strip_suffix(b"\r").unwrap_or(l).to_vec())
            .collect();
        if lines.last().is_some_and(Vec::is_empty) {
            lines.pop();
        }
        Ok(lines)
    };
    let (src_lines, tgt_lines) = (read_lines(src)?, read_lines(tgt)?);
    if src_lines.len() != tgt_lines.len() {
        return Err(DataError::Invalid(format!(
            "{} has {} lines but {} has {}: line-aligned files must have the same number of lines",
            src.display(),
            src_lines.len(),
            tgt.display(),
            tgt_lines.len()
        )));
    }
    let mut pairs = Vec::with_capacity(src_lines.len());
    let mut skipped = 0;
    for (i, (s, t)) in src_lines.iter().zip(&tgt_lines).enumerate() {
        let blank = |b: &[u8]| b.iter().all(u8::is_ascii_whitespace);
        if blank(s) && blank(t) {
            continue;
        }
        let side = |bytes: &[u8], path: &Path, name: &str| -> Result<String, DataError> {
            let line_error = |message: String| DataError::Line {
                path: path.into(),
                line: i + 1,
                message,
            };
            let text = std::str::from_utf8(bytes)
                .map_err(|e| line_error(format!("invalid UTF-8 at byte {}", e.valid_up_to())))?;
            let text = text.trim();
            if text.is_empty() {
                return Err(line_error(format!("empty {name} side")));
            }
            Ok(text.to_string())
        };
        match (side(s, src, "source"), side(t, tgt, "target")) {
            (Ok(s), Ok(t)) => pairs.push(Pair::new(s, t)),
            _ if skip_bad_lines => skipped += 1,
            (Err(e), _) | (_, Err(e)) => return Err(e),
        }
    }
    if pairs.is_empty() {
        return Err(DataError::File {
            path: src.into(),
            message: "no sentence pairs in the file".into(),
        });
    }
    Ok((pairs, skipped))
}

/// Splits pairs into train/valid/test by source sentence, deterministically from `seed`.
///
/// All pairs that share a source (alternative translations) land in the same split, so no source
/// is seen in training and tested on. `valid_fraction` and `test_fraction` are fractions of the
/// distinct sources; each split that is asked for gets at least one source when there are enough.
pub fn split_by_source(
    pairs: Vec<Pair>,
    seed: u64,
    valid_fraction: f64,
    test_fraction: f64,
) -> Splits {
    let mut groups: Vec<(String, Vec<Pair>)> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for pair in pairs {
        let slot = *index.entry(pair.src.clone()).or_insert_with(|| {
            groups.push((pair.src.clone(), Vec::new()));
            groups.len() - 1
        });
        groups[slot].1.push(pair);
    }
    groups.shuffle(&mut StdRng::seed_from_u64(seed));
    let n = groups.len();
    let count = |f: f64| {
        let k = (n as f64 * f).round() as usize;
        if f > 0.0 && n >= 3 { k.max(1) } else { k }
    };
    let n_test = count(test_fraction).min(n);
    let n_valid = count(valid_fraction).min(n - n_test);
    let mut splits = Splits::default();
    for (i, (_, group)) in groups.into_iter().enumerate() {
        let target = if i < n_test {
            &mut splits.test
        } else if i < n_test + n_valid {
            &mut splits.valid
        } else {
            &mut splits.train
        };
        target.extend(group);
    }
    splits
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn write(name: &str, bytes: &[u8]) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("transduce-corpus-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }

    #[test]
    fn reads_pairs_ignoring_extra_columns_and_crlf() {
        let path = write(
            "ok.tsv",
            b"Go.\tVa !\tCC-BY 2.0 (France)\r\nHi.\tSalut !\n\n",
        );
        let (pairs, skipped) = read_tsv(&path, false).unwrap();
        assert_eq!(
            pairs,
            vec![Pair::new("Go.", "Va !"), Pair::new("Hi.", "Salut !")]
        );
        assert_eq!(skipped, 0);
    }

    #[test]
    fn bad_lines_name_file_and_line() {
        let cases: [(&str, &[u8], &str); 4] = [
            ("notab.tsv", b"a\tb\nno tab here\n", ":2: no TAB"),
            ("emptysrc.tsv", b"a\tb\n\tx\n", ":2: empty source"),
            ("emptytgt.tsv", b"a\t \n", ":1: empty target"),
            ("utf8.tsv", b"a\tb\nc\t\xff\xfe\n", ":2: invalid UTF-8"),
        ];
        for (name, bytes, expected) in cases {
            let path = write(name, bytes);
            let err = read_tsv(&path, false).unwrap_err().to_string();
            assert!(err.contains(name) && err.contains(expected), "{err}");
            // Skipping keeps the good lines and counts the bad one.
            match read_tsv(&path, true) {
                Ok((pairs, skipped)) => assert_eq!((pairs.len(), skipped), (1, 1), "{name}"),
                Err(e) => assert!(e.to_string().contains("no sentence pairs"), "{e}"),
            }
        }
    }

    #[test]
    fn empty_and_missing_files_are_errors() {
        let path = write("empty.tsv", b"\n\n");
        assert!(
            read_tsv(&path, false)
                .unwrap_err()
                .to_string()
                .contains("no sentence pairs")
        );
        let err = read_tsv(Path::new("/nonexistent/x.tsv"), false)
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("/nonexistent/x.tsv"), "{err}");
    }

    #[test]
    fn aligned_files_pair_lines_and_report_problems() {
        let src = write("a.de", b"Hallo\nWelt\n");
        let tgt = write("a.en", b"Hello\r\nWorld\n");
        let (pairs, _) = read_aligned(&src, &tgt, false).unwrap();
        assert_eq!(
            pairs,
            vec![Pair::new("Hallo", "Hello"), Pair::new("Welt", "World")]
        );

        let short = write("short.en", b"Hello\n");
        let err = read_aligned(&src, &short, false).unwrap_err().to_string();
        assert!(
            err.contains("a.de has 2 lines but") && err.contains("short.en has 1"),
            "{err}"
        );

        let gap = write("gap.en", b"Hello\n \n");
        let err = read_aligned(&src, &gap, false).unwrap_err().to_string();
        assert!(err.contains("gap.en:2: empty target side"), "{err}");
        assert_eq!(read_aligned(&src, &gap, true).unwrap().1, 1);

        let bad = write("bad.de", b"Hallo\n\xc3\x28\n");
        let err = read_aligned(&bad, &tgt, false).unwrap_err().to_string();
        assert!(err.contains("bad.de:2: invalid UTF-8"), "{err}");
        let err = read_aligned(Path::new("/missing.de"), &tgt, false)
            .unwrap_err()
            .to_string();
        assert!(err.contains("/missing.de"), "{err}");
    }

    #[test]
    fn split_is_deterministic_and_disjoint_by_source() {
        let pairs: Vec<Pair> = (0..200)
            .flat_map(|i| {
                [
                    Pair::new(format!("s{i}"), "a"),
                    Pair::new(format!("s{i}"), "b"),
                ]
            })
            .collect();
        let a = split_by_source(pairs.clone(), 7, 0.1, 0.1);
        let b = split_by_source(pairs.clone(), 7, 0.1, 0.1);
        assert_eq!(a, b);
        assert_ne!(a, split_by_source(pairs, 8, 0.1, 0.1));
        assert_eq!((a.train.len(), a.valid.len(), a.test.len()), (320, 40, 40));
        let sources = |v: &[Pair]| v.iter().map(|p| p.src.clone()).collect::<HashSet<_>>();
        let (tr, va, te) = (sources(&a.train), sources(&a.valid), sources(&a.test));
        assert!(tr.is_disjoint(&va) && tr.is_disjoint(&te) && va.is_disjoint(&te));
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        #[test]
        fn the_tsv_reader_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..400), skip in any::<bool>()) {
            let dir = std::env::temp_dir().join(format!("transduce-prop-{}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            let path = dir.join("fuzz.tsv");
            std::fs::write(&path, &bytes).unwrap();
            match read_tsv(&path, skip) {
                Ok((pairs, _)) => prop_assert!(pairs.iter().all(|p| !p.src.is_empty() && !p.tgt.is_empty())),
                Err(e) => prop_assert!(e.to_string().contains("fuzz.tsv")),
            }
        }
    }
}
