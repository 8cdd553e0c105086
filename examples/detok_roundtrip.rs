//! How much text the word tokenizer loses: each line of a file is tokenised and detokenised
//! again, with the Moses detokeniser (`moses.txt`) and by joining tokens with spaces
//! (`joined.txt`, what the word tokenizer did before), so that `transduce score` can compare
//! both against the original.
//!
//! ```sh
//! cargo run --release --example detok_roundtrip -- ../shared/corpora/multi30k/val.en en /tmp/rt
//! transduce score --hyp /tmp/rt/moses.txt --ref ../shared/corpora/multi30k/val.en
//! ```

use transduce::data::{Lang, Tokenizer};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, input, lang, out] = args.as_slice() else {
        return Err("usage: detok_roundtrip FILE en|de|fr OUT_DIR".into());
    };
    let lang: Lang = lang.parse()?;
    let tokenizer = Tokenizer::Word(lang);
    let text = std::fs::read_to_string(input)?;
    let (mut moses, mut joined) = (String::new(), String::new());
    for line in text.lines() {
        let tokens = tokenizer.tokenize(line);
        moses.push_str(&tokenizer.detokenize(&tokens));
        moses.push('\n');
        joined.push_str(&tokens.join(" "));
        joined.push('\n');
    }
    std::fs::create_dir_all(out)?;
    std::fs::write(format!("{out}/moses.txt"), moses)?;
    std::fs::write(format!("{out}/joined.txt"), joined)?;
    Ok(())
}
