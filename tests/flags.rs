//! Every `train` flag reaches the run's `config.json`: each row of the tables below passes a flag
//! with a value other than its default and finds that value in the written config, and every
//! flag that `train --help` lists is in a table (or named as not part of the config), so a flag
//! can never again be parsed and then silently dropped.

use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};

/// Flags that are not part of the run config.
const NOT_CONFIG: &[&str] = &[
    "--help",
    "--device",
    "--artifact-dir",
    "--config",
    "--resume",
    "--no-tui",
];

/// `(flag, value or "" for a switch, JSON pointer into config.json, expected value)`.
type Row = (&'static str, &'static str, &'static str, Value);

fn train(dir: &Path, rows: &[Row], extra: &[&str]) -> Value {
    let mut args: Vec<String> = vec!["train".into(), "--device".into(), "flex".into()];
    args.extend(extra.iter().map(|s| s.to_string()));
    let mut given: Vec<&str> = Vec::new();
    for (flag, value, _, _) in rows {
        // A flag that sets several keys appears in several rows but is passed once.
        if given.contains(flag) {
            continue;
        }
        given.push(flag);
        args.push(flag.to_string());
        if !value.is_empty() {
            args.push(value.to_string());
        }
    }
    args.extend(["--artifact-dir".into(), dir.to_str().unwrap().into()]);
    let out = Command::new(env!("CARGO_BIN_EXE_transduce"))
        .args(&args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(&std::fs::read_to_string(dir.join("config.json")).unwrap()).unwrap()
}

fn check(config: &Value, rows: &[Row]) {
    for (flag, value, pointer, expected) in rows {
        let got = config.pointer(pointer);
        assert_eq!(
            got,
            Some(expected),
            "{flag} {value} should set {pointer} to {expected} in config.json; got {got:?}"
        );
    }
}

/// The long flags `transduce train --help` lists.
fn train_flags() -> Vec<String> {
    let out = Command::new(env!("CARGO_BIN_EXE_transduce"))
        .args(["train", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut flags: Vec<String> = help
        .split_whitespace()
        .filter(|w| w.starts_with("--") && w.len() > 2)
        .map(|w| {
            w.trim_end_matches(|c: char| !c.is_ascii_alphanumeric())
                .to_string()
        })
        .collect();
    flags.sort();
    flags.dedup();
    flags
}

#[test]
fn every_train_flag_reaches_config_json() {
    let tmp = tempfile::tempdir().unwrap();
    let tiny_task: Vec<Row> = vec![
        ("--n-train", "60", "/data/n_train", json!(60)),
        ("--n-valid", "8", "/data/n_valid", json!(8)),
        ("--n-test", "6", "/data/n_test", json!(6)),
        ("--min-len", "2", "/data/min_len", json!(2)),
        ("--max-len", "4", "/data/max_len", json!(4)),
        ("--epochs", "1", "/training/epochs", json!(1)),
    ];

    // 1. A Transformer on a task, with every training flag.
    let transformer: Vec<Row> = vec![
        ("--arch", "transformer", "/model/arch", json!("transformer")),
        ("--layers", "1", "/model/n_encoder_layers", json!(1)),
        ("--layers", "1", "/model/n_decoder_layers", json!(1)),
        ("--d-model", "16", "/model/d_model", json!(16)),
        ("--n-heads", "2", "/model/n_heads", json!(2)),
        ("--d-ff", "24", "/model/d_ff", json!(24)),
        ("--dropout", "0.2", "/model/dropout", json!(0.2)),
        ("--norm-first", "", "/model/norm_first", json!(true)),
        (
            "--positions",
            "learned",
            "/model/positions",
            json!("learned"),
        ),
        ("--max-positions", "40", "/model/max_len", json!(40)),
        (
            "--share-embeddings",
            "",
            "/model/share_embeddings",
            json!(true),
        ),
        ("--share-embeddings", "", "/data/joint_vocab", json!(true)),
        ("--tie-output", "", "/model/tie_output", json!(true)),
        ("--task", "sort", "/data/task", json!("sort")),
        ("--tokenizer", "char", "/data/tokenizer", json!("char")),
        ("--vocab-size", "50", "/data/vocab_size", json!(50)),
        ("--min-freq", "2", "/data/min_freq", json!(2)),
        ("--joint-vocab", "", "/data/joint_vocab", json!(true)),
        ("--lowercase", "", "/data/lowercase", json!(true)),
        (
            "--direction",
            "reverse",
            "/data/direction",
            json!("reverse"),
        ),
        (
            "--max-sentence-len",
            "30",
            "/data/max_sentence_len",
            json!(30),
        ),
        ("--batch-size", "16", "/training/batch_size", json!(16)),
        ("--max-tokens", "400", "/training/max_tokens", json!(400)),
        ("--bucket", "false", "/training/bucket", json!(false)),
        ("--bucket-pool", "3", "/training/bucket_pool", json!(3)),
        ("--lr", "0.003", "/training/lr", json!(0.003)),
        (
            "--schedule",
            "plateau",
            "/training/schedule",
            json!("plateau"),
        ),
        ("--warmup-steps", "7", "/training/warmup_steps", json!(7)),
        (
            "--teacher-forcing",
            "0.9",
            "/training/teacher_forcing",
            json!(0.9),
        ),
        (
            "--time-budget",
            "1000",
            "/training/time_budget",
            json!(1000.0),
        ),
        ("--patience", "3", "/training/patience", json!(3)),
        (
            "--bleu-tokenize",
            "none",
            "/training/bleu_tokenize",
            json!("none"),
        ),
        ("--seed", "5", "/training/seed", json!(5)),
    ];
    let rows: Vec<Row> = transformer.iter().chain(&tiny_task).cloned().collect();
    let config = train(&tmp.path().join("transformer"), &rows, &[]);
    check(&config, &rows);

    // 2. Luong attention on aligned files with validation and test files and word vectors.
    let dir = tmp.path();
    let (mut en, mut fr) = (String::new(), String::new());
    for i in 0..40 {
        en.push_str(&format!("the cat {i} sleeps\n"));
        fr.push_str(&format!("le chat {i} dort\n"));
    }
    for (name, text) in [("c.en", &en), ("c.fr", &fr)] {
        std::fs::write(dir.join(name), text).unwrap();
    }
    let vectors: String = ["the", "cat", "sleeps"]
        .iter()
        .map(|w| format!("{w} 0.1 0.2 0.3 0.4 0.5 0.6 0.7 0.8\n"))
        .collect();
    std::fs::write(dir.join("vec.txt"), vectors).unwrap();
    let path = |name: &str| dir.join(name).to_str().unwrap().to_string();
    let (en, fr, vec) = (path("c.en"), path("c.fr"), path("vec.txt"));
    let leak = |s: String| -> &'static str { Box::leak(s.into_boxed_str()) };
    let (en, fr, vec) = (leak(en), leak(fr), leak(vec));
    let luong: Vec<Row> = vec![
        ("--arch", "luong", "/model/arch", json!("luong")),
        ("--cell", "gru", "/model/cell", json!("gru")),
        ("--score", "concat", "/model/score", json!("concat")),
        (
            "--bidirectional",
            "false",
            "/model/bidirectional",
            json!(false),
        ),
        (
            "--input-feeding",
            "false",
            "/model/input_feeding",
            json!(false),
        ),
        ("--layers", "2", "/model/n_layers", json!(2)),
        ("--d-hidden", "16", "/model/d_hidden", json!(16)),
        ("--d-embedding", "8", "/model/d_embedding", json!(8)),
        ("--src", en, "/data/src", json!(en)),
        ("--tgt", fr, "/data/tgt", json!(fr)),
        ("--valid-src", en, "/data/valid_src", json!(en)),
        ("--valid-tgt", fr, "/data/valid_tgt", json!(fr)),
        ("--test-src", en, "/data/test_src", json!(en)),
        ("--test-tgt", fr, "/data/test_tgt", json!(fr)),
        ("--tokenizer", "word", "/data/tokenizer", json!("word")),
        ("--src-lang", "de", "/data/src_lang", json!("de")),
        ("--tgt-lang", "fr", "/data/tgt_lang", json!("fr")),
        ("--skip-bad-lines", "", "/data/skip_bad_lines", json!(true)),
        (
            "--src-embeddings",
            vec,
            "/training/src_embeddings",
            json!(vec),
        ),
        (
            "--tgt-embeddings",
            vec,
            "/training/tgt_embeddings",
            json!(vec),
        ),
        (
            "--freeze-embeddings",
            "",
            "/training/freeze_embeddings",
            json!(true),
        ),
        ("--epochs", "1", "/training/epochs", json!(1)),
    ];
    let config = train(&tmp.path().join("luong"), &luong, &[]);
    check(&config, &luong);

    // 3. Sutskever's seq2seq on a TSV corpus, and a Transformer preset.
    std::fs::write(
        dir.join("c.tsv"),
        (0..40)
            .map(|i| format!("a {i} b\tx {i} y\n"))
            .collect::<String>(),
    )
    .unwrap();
    let tsv = leak(path("c.tsv"));
    let seq2seq: Vec<Row> = vec![
        ("--arch", "seq2seq", "/model/arch", json!("seq2seq")),
        ("--reverse-source", "", "/model/reverse_source", json!(true)),
        (
            "--context-every-step",
            "",
            "/model/context_every_step",
            json!(true),
        ),
        ("--train", tsv, "/data/train", json!(tsv)),
        ("--epochs", "1", "/training/epochs", json!(1)),
    ];
    let config = train(&tmp.path().join("seq2seq"), &seq2seq, &[]);
    check(&config, &seq2seq);
    let preset: Vec<Row> = vec![
        ("--preset", "small", "/model/d_model", json!(256)),
        ("--preset", "small", "/model/n_encoder_layers", json!(3)),
    ];
    let rows: Vec<Row> = preset.iter().chain(&tiny_task).cloned().collect();
    let config = train(&tmp.path().join("preset"), &rows[1..], &[]);
    check(&config, &rows);

    // Every flag of `train --help` is covered above or is not part of the config.
    let covered: Vec<&str> = [&rows, &transformer, &luong, &seq2seq, &tiny_task]
        .iter()
        .flat_map(|t| t.iter().map(|r| r.0))
        .chain(NOT_CONFIG.iter().copied())
        .collect();
    let missing: Vec<String> = train_flags()
        .into_iter()
        .filter(|f| !covered.contains(&f.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "train flags without a config.json check: {missing:?}"
    );
}

#[test]
fn model_flags_of_another_architecture_are_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_transduce"))
        .args([
            "train",
            "--arch",
            "luong",
            "--d-model",
            "32",
            "--artifact-dir",
        ])
        .arg(tmp.path().join("x"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("--d-model does not apply to --arch luong"),
        "{stderr}"
    );
    assert!(!tmp.path().join("x").exists(), "nothing is written");
}
