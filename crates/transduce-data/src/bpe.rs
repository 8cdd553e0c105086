//! Applying a trained byte-level BPE model (Sennrich et al. 2016, over GPT-2's byte alphabet)
//! without the library that trained it.
//!
//! Training uses Hugging Face's `tokenizers` (the `train` feature); applying the result needs
//! only its saved JSON (`model.vocab` and `model.merges`), so that a program that only
//! translates (a server, a browser build) does not link a tokenizer trainer. The steps are
//! those of `tokenizers`' `ByteLevel` pre-tokenizer, `BPE` model and `ByteLevel` decoder, and
//! the tests check that both give the same tokens:
//!
//! 1. split the text with GPT-2's pattern (`'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+|
//!    ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`);
//! 2. write each piece's UTF-8 bytes as GPT-2's printable byte symbols (`Ġ` for a space);
//! 3. within each piece, start from single symbols and repeatedly join the adjacent pair whose
//!    merge was learned earliest (lowest rank), leftmost first, until no learned merge applies;
//! 4. decoding concatenates the tokens, maps the symbols back to bytes and reads them as UTF-8.

use std::collections::HashMap;
use std::sync::LazyLock;

use fancy_regex::Regex;
use serde_json::Value;

/// GPT-2's pre-tokenization pattern, as `tokenizers`' `ByteLevel` uses it.
static PATTERN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+")
        .expect("the pattern compiles")
});

/// Byte -> printable symbol: bytes that print as themselves keep their character, the others
/// (controls, space, ...) take the code points from 256 on, in byte order (GPT-2's table).
static BYTE_SYMBOLS: LazyLock<[char; 256]> = LazyLock::new(|| {
    let printable = |b: u8| matches!(b, b'!'..=b'~' | 0xA1..=0xAC | 0xAE..=0xFF);
    let mut table = ['\0'; 256];
    let mut next = 256u32;
    for b in 0..=255u8 {
        table[b as usize] = if printable(b) {
            char::from(b)
        } else {
            next += 1;
            char::from_u32(next - 1).expect("a valid code point")
        };
    }
    table
});

/// Printable symbol -> byte: the inverse of [`BYTE_SYMBOLS`].
static SYMBOL_BYTES: LazyLock<HashMap<char, u8>> =
    LazyLock::new(|| (0..=255u8).map(|b| (BYTE_SYMBOLS[b as usize], b)).collect());

/// The 256 byte symbols (GPT-2's alphabet), sorted.
pub fn alphabet() -> Vec<String> {
    let mut symbols: Vec<String> = BYTE_SYMBOLS.iter().map(|c| c.to_string()).collect();
    symbols.sort();
    symbols
}

/// A trained byte-level BPE model: its vocabulary and its merges by rank.
#[derive(Clone, Debug)]
pub struct BytePairs {
    /// Token -> id in the BPE model's own vocabulary (not the translation vocabulary).
    vocab: HashMap<String, u32>,
    /// Id -> token.
    tokens: HashMap<u32, String>,
    /// Each byte's symbol's id, if the vocabulary has it.
    byte_ids: [Option<u32>; 256],
    /// `(left id, right id)` -> (rank: the order in which the merge was learned, merged id).
    merges: HashMap<(u32, u32), (usize, u32)>,
    /// The JSON it was read from, written back unchanged by [`BytePairs::to_json`].
    json: String,
}

impl BytePairs {
    /// Reads a model saved by `tokenizers` (`tokenizer.json`): `model.type` must be `BPE`;
    /// merges may be written as `"a b"` strings or `["a", "b"]` pairs.
    ///
    /// # Errors
    /// A message saying what is missing or malformed.
    pub fn from_json(json: &str) -> Result<Self, String> {
        let value: Value = serde_json::from_str(json).map_err(|e| format!("not JSON: {e}"))?;
        let model = value.get("model").ok_or("no \"model\" object")?;
        match model.get("type").and_then(Value::as_str) {
            Some("BPE") => {}
            other => return Err(format!("model.type is {other:?}, not \"BPE\"")),
        }
        let vocab = model
            .get("vocab")
            .and_then(Value::as_object)
            .ok_or("no model.vocab object")?
            .iter()
            .map(|(token, id)| match id.as_u64() {
                Some(id) => Ok((token.clone(), id as u32)),
                None => Err(format!("model.vocab[{token:?}] is not an id")),
            })
            .collect::<Result<HashMap<_, _>, String>>()?;
        let merges = model
            .get("merges")
            .and_then(Value::as_array)
            .ok_or("no model.merges list")?;
        let mut ranks = HashMap::with_capacity(merges.len());
        let id = |token: &str| vocab.get(token).copied();
        for (rank, merge) in merges.iter().enumerate() {
            let pair = match merge {
                Value::String(s) => s
                    .split_once(' ')
                    .map(|(a, b)| (a.to_string(), b.to_string())),
                Value::Array(pair) => match pair.as_slice() {
                    [Value::String(a), Value::String(b)] => Some((a.clone(), b.clone())),
                    _ => None,
                },
                _ => None,
            }
            .ok_or_else(|| format!("model.merges[{rank}] is not a pair of tokens"))?;
            let joined = format!("{}{}", pair.0, pair.1);
            let (Some(left), Some(right), Some(merged)) = (id(&pair.0), id(&pair.1), id(&joined))
            else {
                return Err(format!(
                    "model.merges[{rank}] joins or makes a token that is not in model.vocab ({joined:?})"
                ));
            };
            ranks.entry((left, right)).or_insert((rank, merged));
        }
        let byte_ids = std::array::from_fn(|b| id(&BYTE_SYMBOLS[b].to_string()));
        let tokens = vocab.iter().map(|(t, &i)| (i, t.clone())).collect();
        Ok(BytePairs {
            vocab,
            tokens,
            byte_ids,
            merges: ranks,
            json: json.to_string(),
        })
    }

    /// The JSON this model was read from.
    pub fn to_json(&self) -> &str {
        &self.json
    }

    /// Whether `token` is in the BPE model's vocabulary.
    pub fn contains(&self, token: &str) -> bool {
        self.vocab.contains_key(token)
    }

    /// Splits `text` into BPE tokens (written in byte symbols).
    pub fn encode(&self, text: &str) -> Vec<String> {
        let mut tokens = Vec::new();
        let mut last = 0;
        for found in PATTERN.find_iter(text) {
            // The pattern matches every character; a failed match (backtracking limit) or a gap
            // would still be encoded, as the splitter keeps gaps as pieces of their own.
            let Ok(found) = found else { break };
            if found.start() > last {
                self.encode_piece(&text[last..found.start()], &mut tokens);
            }
            self.encode_piece(found.as_str(), &mut tokens);
            last = found.end();
        }
        if last < text.len() {
            self.encode_piece(&text[last..], &mut tokens);
        }
        tokens
    }

    /// Step 2 and 3 for one pre-tokenized piece.
    fn encode_piece(&self, piece: &str, tokens: &mut Vec<String>) {
        let mut symbols: Vec<u32> = piece
            .bytes()
            .filter_map(|b| self.byte_ids[b as usize])
            .collect();
        loop {
            let best = symbols
                .windows(2)
                .enumerate()
                .filter_map(|(i, w)| {
                    self.merges
                        .get(&(w[0], w[1]))
                        .map(|&(rank, merged)| (rank, i, merged))
                })
                .min();
            let Some((_, i, merged)) = best else { break };
            symbols[i] = merged;
            symbols.remove(i + 1);
        }
        tokens.extend(symbols.into_iter().map(|id| self.tokens[&id].clone()));
    }

    /// Joins BPE tokens back into text; tokens outside the model's vocabulary (such as `<unk>`)
    /// are left out, and byte sequences that are not UTF-8 become `U+FFFD`.
    pub fn decode<S: AsRef<str>>(&self, tokens: &[S]) -> String {
        let mut bytes = Vec::new();
        for token in tokens.iter().map(AsRef::as_ref) {
            if !self.vocab.contains_key(token) {
                continue;
            }
            let mapped: Option<Vec<u8>> = token
                .chars()
                .map(|c| SYMBOL_BYTES.get(&c).copied())
                .collect();
            match mapped {
                Some(b) => bytes.extend(b),
                None => bytes.extend(token.as_bytes()),
            }
        }
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A hand-written model: merges `a b` then `ab c`, then `Ġ a`.
    fn toy() -> BytePairs {
        let mut vocab = serde_json::Map::new();
        for (i, t) in alphabet()
            .into_iter()
            .chain(["ab", "abc", "Ġa"].map(String::from))
            .enumerate()
        {
            vocab.insert(t, Value::from(i));
        }
        let json = serde_json::json!({
            "model": {"type": "BPE", "vocab": vocab, "merges": ["a b", ["ab", "c"], "Ġ a"]}
        });
        BytePairs::from_json(&json.to_string()).unwrap()
    }

    #[test]
    fn merges_apply_by_rank_within_pieces() {
        let bpe = toy();
        assert_eq!(bpe.encode("abc"), ["abc"]);
        // `a b` (rank 0) twice, leftmost first, then `ab c`.
        assert_eq!(bpe.encode("abcab"), ["abc", "ab"]);
        // " a" is one piece (` ?\p{L}+` takes the space), so `Ġ a` merges; "b a" is two.
        assert_eq!(bpe.encode("ab a"), ["ab", "Ġa"]);
        assert_eq!(bpe.encode("é"), ["Ã", "©"]);
        for text in ["abc ab  a\n", "é ✓ 2026년", ""] {
            assert_eq!(bpe.decode(&bpe.encode(text)), text);
        }
        assert_eq!(bpe.decode(&["ab", "<unk>", "c"]), "abc");
    }

    #[test]
    fn the_alphabet_is_gpt2s() {
        let symbols = alphabet();
        assert_eq!(symbols.len(), 256);
        assert_eq!(BYTE_SYMBOLS[b' ' as usize], 'Ġ');
        assert_eq!(BYTE_SYMBOLS[b'\n' as usize], 'Ċ');
        assert_eq!(BYTE_SYMBOLS[b'a' as usize], 'a');
    }

    #[test]
    fn malformed_models_are_errors() {
        for (json, expected) in [
            ("{", "not JSON"),
            ("{}", "no \"model\""),
            (r#"{"model": {"type": "WordPiece"}}"#, "not \"BPE\""),
            (
                r#"{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": [7]}}"#,
                "merges[0]",
            ),
            (
                r#"{"model": {"type": "BPE", "vocab": {"a": 0, "b": 1}, "merges": ["a b"]}}"#,
                "not in model.vocab (\"ab\")",
            ),
        ] {
            let err = BytePairs::from_json(json).unwrap_err();
            assert!(err.contains(expected), "{json}: {err}");
        }
    }
}
