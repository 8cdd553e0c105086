//! The `transduce` binary end to end: train, translate and eval on an artifact directory, and
//! clear errors (never panics) on bad input.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

fn transduce(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_transduce"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    let mut input = child.stdin.take().unwrap();
    if let Some(bytes) = stdin {
        input.write_all(bytes).unwrap();
    }
    drop(input);
    child.wait_with_output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Asserts failure with a message containing `expected`, and no panic.
fn assert_fails_with(out: &Output, expected: &str) {
    let stderr = text(&out.stderr);
    assert!(
        !out.status.success(),
        "expected failure; stdout: {}",
        text(&out.stdout)
    );
    assert!(
        stderr.contains(expected),
        "stderr lacks {expected:?}: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "panicked: {stderr}");
}

/// Where the package's files are: read at run time, since a build shared between checkouts
/// (one cargo target directory) would keep a compile-time `env!` path of another checkout.
fn manifest_dir() -> String {
    std::env::var("CARGO_MANIFEST_DIR").expect("cargo test sets CARGO_MANIFEST_DIR")
}

/// A config small enough to train in about a second.
fn quick() -> String {
    format!("{}/assets/configs/quick.json", manifest_dir())
}

/// The values of one column of a `metrics.csv`, found by its header.
fn csv_column(csv: &str, name: &str) -> Vec<String> {
    let mut lines = csv.lines();
    let header = lines.next().expect("a header line");
    let column = header
        .split(',')
        .position(|h| h == name)
        .unwrap_or_else(|| panic!("no column {name} in {header}"));
    lines
        .map(|l| l.split(',').nth(column).expect("a full row").to_string())
        .collect()
}

/// `transduce translate` of two fixed sources with the artifact in `dir`, on flex: its stdout.
fn translate_two_lines(dir: &str) -> String {
    let out = transduce(
        &["translate", "--artifact-dir", dir, "--device", "flex"],
        Some(b"123\n4567\n"),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    text(&out.stdout)
}

/// `transduce train` of the quick config on flex into `dir`, with `extra` flags.
fn train_quick(dir: &str, extra: &[&str]) -> Output {
    let quick = quick();
    let mut args = vec![
        "train",
        "--config",
        &quick,
        "--device",
        "flex",
        "--artifact-dir",
        dir,
    ];
    args.extend_from_slice(extra);
    transduce(&args, None)
}

#[test]
fn train_then_translate_and_eval_round_trip() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    let dir_s = dir.to_str().unwrap();
    let out = train_quick(dir_s, &[]);
    let stdout = text(&out.stdout);
    assert!(
        out.status.success(),
        "train failed: {}\n{}",
        stdout,
        text(&out.stderr)
    );
    // Piped output still shows each epoch's metrics.
    assert!(stdout.contains("epoch 1/2 | train Loss"), "{stdout}");
    assert!(stdout.contains("epoch 2/2 | train Loss"), "{stdout}");
    assert!(
        stdout.contains("held-out BLEU") && stdout.contains("exact match"),
        "{stdout}"
    );
    for file in [
        "config.json",
        "src_vocab.json",
        "tgt_vocab.json",
        "model.bpk",
        "metrics.csv",
        "test.tsv",
        "report.json",
        "loss.png",
        "bleu.png",
    ] {
        assert!(dir.join(file).is_file(), "missing {file}");
    }
    let metrics = std::fs::read_to_string(dir.join("metrics.csv")).unwrap();
    assert_eq!(metrics.lines().count(), 3, "{metrics}");
    assert!(metrics.starts_with("epoch,train_loss"));

    let out = transduce(
        &["translate", "--artifact-dir", dir_s, "--device", "flex"],
        Some(b"123\n\n45678\n"),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let lines: Vec<String> = text(&out.stdout).lines().map(String::from).collect();
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert_eq!(lines[1], "");
    assert!(
        lines[0].chars().all(|c| c.is_ascii_digit()) && !lines[0].is_empty(),
        "{lines:?}"
    );

    let input = tmp.path().join("input.txt");
    std::fs::write(&input, "123\n").unwrap();
    let out = transduce(
        &[
            "translate",
            "--artifact-dir",
            dir_s,
            "--device",
            "flex",
            "--input",
            input.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(text(&out.stdout).lines().next(), Some(lines[0].as_str()));

    let out = transduce(
        &[
            "eval",
            "--artifact-dir",
            dir_s,
            "--device",
            "flex",
            "--json",
        ],
        None,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let em = json["exact_match"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&em));
    for key in ["bleu", "chrf"] {
        assert!(
            (0.0..=100.0).contains(&json[key].as_f64().unwrap()),
            "{json}"
        );
    }
    assert_eq!(json["n"], 30);
    // The report describes the saved model: eval on the same split gives exactly its figures.
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap();
    assert_eq!(report["test"], json);
    // Character-level data: BLEU over characters, with sacreBLEU's signature, not 0 for one-word sentences.
    assert_eq!(
        json["bleu_signature"],
        "nrefs:1|case:mixed|eff:no|tok:char|smooth:exp|version:2.6.0"
    );
    assert!(json["bleu"].as_f64().unwrap() > 0.0, "{json}");
    assert_eq!(report["kept"], format!("epoch {}", report["best_epoch"]));

    let test = tmp.path().join("test.tsv");
    std::fs::write(&test, "12\t21\n345\t543\n").unwrap();
    let out = transduce(
        &[
            "eval",
            "--artifact-dir",
            dir_s,
            "--device",
            "flex",
            "--test",
            test.to_str().unwrap(),
            "--json",
        ],
        None,
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["n"], 2);

    // The saved config reproduces the run's settings when given back as --config.
    let saved = dir.join("config.json");
    let out = transduce(
        &[
            "train",
            "--config",
            saved.to_str().unwrap(),
            "--epochs",
            "1",
            "--device",
            "flex",
            "--artifact-dir",
            tmp.path().join("again").to_str().unwrap(),
        ],
        None,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let again: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(tmp.path().join("again/config.json")).unwrap(),
    )
    .unwrap();
    let first: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&saved).unwrap()).unwrap();
    assert_eq!(again["model"], first["model"]);
    assert_eq!(again["data"], first["data"]);
    assert_eq!(again["training"]["epochs"], 1);
}

#[test]
fn every_architecture_trains_and_translates_from_the_cli() {
    let tmp = tempfile::tempdir().unwrap();
    let archs: [&[&str]; 6] = [
        &["--arch", "seq2seq", "--cell", "rnn", "--reverse-source"],
        &[
            "--arch",
            "seq2seq",
            "--cell",
            "gru",
            "--bidirectional",
            "true",
            "--layers",
            "2",
        ],
        &[
            "--arch",
            "luong",
            "--score",
            "dot",
            "--input-feeding",
            "false",
        ],
        &["--arch", "luong", "--score", "concat", "--cell", "lstm"],
        &[
            "--arch",
            "bahdanau",
            "--d-hidden",
            "32",
            "--d-embedding",
            "16",
        ],
        &[
            "--arch",
            "transformer",
            "--positions",
            "learned",
            "--max-positions",
            "8",
            "--share-embeddings",
            "--tie-output",
            "--norm-first",
        ],
    ];
    for (i, arch) in archs.iter().enumerate() {
        let dir = tmp.path().join(format!("run{i}"));
        let dir_s = dir.to_str().unwrap();
        let mut args = vec!["--epochs", "1"];
        args.extend_from_slice(arch);
        let out = train_quick(dir_s, &args);
        assert!(out.status.success(), "{arch:?}: {}", text(&out.stderr));
        let config: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("config.json")).unwrap())
                .unwrap();
        assert_eq!(config["model"]["arch"], arch[1]);
        let out = transduce(
            &[
                "translate",
                "--artifact-dir",
                dir_s,
                "--device",
                "flex",
                "--beam",
                "3",
            ],
            Some(b"123\n4567\n"),
        );
        assert!(out.status.success(), "{arch:?}: {}", text(&out.stderr));
        assert_eq!(text(&out.stdout).lines().count(), 2);
    }
    // The learned position table holds 8 positions: a longer source is a clear error.
    let out = transduce(
        &[
            "translate",
            "--artifact-dir",
            tmp.path().join("run5").to_str().unwrap(),
            "--device",
            "flex",
        ],
        Some(b"12\n1234567890\n"),
    );
    assert_fails_with(&out, "sentence 2 has 10 tokens");
}

/// A toy parallel corpus as two aligned files.
fn toy_corpus(dir: &Path, n: usize) -> (String, String) {
    let animals = [
        ("cat", "chat"),
        ("dog", "chien"),
        ("bird", "oiseau"),
        ("fish", "poisson"),
    ];
    let (mut en, mut fr) = (String::new(), String::new());
    for i in 0..n {
        let (a, b) = animals[i % 4];
        en.push_str(&format!("the {a} number {i} sleeps .\n"));
        fr.push_str(&format!("le {b} numéro {i} dort .\n"));
    }
    let (src, tgt) = (dir.join("toy.en"), dir.join("toy.fr"));
    std::fs::write(&src, en).unwrap();
    std::fs::write(&tgt, fr).unwrap();
    (
        src.to_str().unwrap().to_string(),
        tgt.to_str().unwrap().to_string(),
    )
}

#[test]
fn corpora_bpe_and_pretrained_embeddings_from_the_cli() {
    let tmp = tempfile::tempdir().unwrap();
    let (src, tgt) = toy_corpus(tmp.path(), 300);
    let dir = tmp.path().join("bpe");
    let dir_s = dir.to_str().unwrap();
    let out = train_quick(
        dir_s,
        &[
            "--epochs",
            "1",
            "--src",
            &src,
            "--tgt",
            &tgt,
            "--tokenizer",
            "bpe",
            "--vocab-size",
            "120",
            "--joint-vocab",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(dir.join("src_tokenizer.json").is_file() && dir.join("tgt_tokenizer.json").is_file());
    let out = transduce(
        &["translate", "--artifact-dir", dir_s, "--device", "flex"],
        Some("the dog number 7 sleeps .\n".as_bytes()),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).lines().count(), 1);

    // Pretrained vectors for some of the words (GloVe format, the Transformer's width of 32).
    let vectors: String = ["the", "cat", "dog", "sleeps", "unused"]
        .iter()
        .map(|w| format!("{w} {}\n", vec!["0.5"; 32].join(" ")))
        .collect();
    let vec_path = tmp.path().join("vectors.txt");
    std::fs::write(&vec_path, vectors).unwrap();
    let out = train_quick(
        tmp.path().join("emb").to_str().unwrap(),
        &[
            "--epochs",
            "1",
            "--src",
            &src,
            "--tgt",
            &tgt,
            "--tokenizer",
            "word",
            "--src-embeddings",
            vec_path.to_str().unwrap(),
            "--freeze-embeddings",
        ],
    );
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        stdout.contains("source embeddings: 4 words initialised from") && stdout.contains("frozen"),
        "{stdout}"
    );

    // A width that does not fit the model, and vectors with a char tokenizer, are errors.
    let out = train_quick(
        tmp.path().join("emb2").to_str().unwrap(),
        &[
            "--src",
            &src,
            "--tgt",
            &tgt,
            "--tokenizer",
            "word",
            "--d-model",
            "16",
            "--n-heads",
            "2",
            "--src-embeddings",
            vec_path.to_str().unwrap(),
        ],
    );
    assert_fails_with(
        &out,
        "32-dimensional vectors, but the model's embeddings have 16 dimensions",
    );
    let out = train_quick(
        tmp.path().join("emb3").to_str().unwrap(),
        &[
            "--src",
            &src,
            "--tgt",
            &tgt,
            "--tokenizer",
            "char",
            "--src-embeddings",
            vec_path.to_str().unwrap(),
        ],
    );
    assert_fails_with(&out, "need the word tokenizer");

    // transduce data: samples and statistics.
    let out = transduce(
        &[
            "data", "--src", &src, "--tgt", &tgt, "--n", "3", "--split", "test",
        ],
        None,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout)
            .lines()
            .all(|l| l.split('\t').count() == 2)
    );
    assert_eq!(text(&out.stdout).lines().count(), 3);
    let out = transduce(&["data", "--task", "dates", "--stats"], None);
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("pairs: 20000 train, 500 valid, 1000 test")
            && stdout.contains("length-bucketed"),
        "{stdout}"
    );
}

#[test]
fn score_matches_sacrebleu_fixtures() {
    let fixtures: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(format!("{}/assets/sacrebleu/fixtures.json", manifest_dir()))
            .unwrap(),
    )
    .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    for name in ["punctuation", "numbers", "accents_and_scripts", "random_1"] {
        let case = &fixtures["cases"][name];
        let lines = |key: &str| -> String {
            case[key]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| format!("{}\n", s.as_str().unwrap()))
                .collect()
        };
        let (hyp, reference) = (tmp.path().join("hyp.txt"), tmp.path().join("ref.txt"));
        std::fs::write(&hyp, lines("hyps")).unwrap();
        std::fs::write(&reference, lines("refs")).unwrap();
        let out = transduce(
            &[
                "score",
                "--hyp",
                hyp.to_str().unwrap(),
                "--ref",
                reference.to_str().unwrap(),
                "--json",
            ],
            None,
        );
        assert!(out.status.success(), "{}", text(&out.stderr));
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        for key in ["bleu", "chrf"] {
            let (ours, theirs) = (json[key].as_f64().unwrap(), case[key].as_f64().unwrap());
            assert!(
                (ours - theirs).abs() < 0.01,
                "{name} {key}: {ours} vs sacreBLEU {theirs}"
            );
        }
        assert_eq!(json["n"], case["hyps"].as_array().unwrap().len());
    }
    // --lowercase: sacreBLEU's `BLEU(lowercase=True)` and `CHRF(lowercase=True)` (2.6.0).
    let (hyp, reference) = (tmp.path().join("hyp.txt"), tmp.path().join("ref.txt"));
    std::fs::write(
        &hyp,
        "The Cat sat on the Mat today .\nA Dog runs in the Park\n",
    )
    .unwrap();
    std::fs::write(
        &reference,
        "the cat sat on the mat .\na dog is running in the park\n",
    )
    .unwrap();
    for (flags, bleu, chrf, case) in [
        (&[][..], 16.086472104019048, 38.12582416007338, "case:mixed"),
        (
            &["--lowercase"][..],
            57.21248424548516,
            67.43471218896916,
            "case:lc",
        ),
    ] {
        let mut args = vec![
            "score",
            "--hyp",
            hyp.to_str().unwrap(),
            "--ref",
            reference.to_str().unwrap(),
            "--json",
        ];
        args.extend(flags);
        let out = transduce(&args, None);
        assert!(out.status.success(), "{}", text(&out.stderr));
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert!(
            (json["bleu"].as_f64().unwrap() - bleu).abs() < 1e-6,
            "{json}"
        );
        assert!(
            (json["chrf"].as_f64().unwrap() - chrf).abs() < 1e-6,
            "{json}"
        );
        for signature in ["bleu_signature", "chrf_signature"] {
            assert!(json[signature].as_str().unwrap().contains(case), "{json}");
        }
    }

    let short = tmp.path().join("short.txt");
    std::fs::write(&short, "one line\n").unwrap();
    let out = transduce(
        &[
            "score",
            "--hyp",
            short.to_str().unwrap(),
            "--ref",
            tmp.path().join("ref.txt").to_str().unwrap(),
        ],
        None,
    );
    assert_fails_with(&out, "short.txt has 1 lines but");
}

/// `kill -9` during training, then `--resume`: the run continues after its last complete
/// checkpoint with the schedule's step restored, and every epoch ends up in metrics.csv.
#[test]
fn a_killed_run_resumes_from_its_last_checkpoint() {
    use std::io::BufRead;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    let dir_s = dir.to_str().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_transduce"))
        .args([
            "train",
            "--config",
            &quick(),
            "--epochs",
            "400",
            "--n-train",
            "3000",
            "--device",
            "flex",
            "--artifact-dir",
            dir_s,
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    for line in lines {
        if line.unwrap().starts_with("epoch 3/400") {
            break;
        }
    }
    child.kill().unwrap(); // SIGKILL: no chance to clean up
    child.wait().unwrap();
    let before = std::fs::read_dir(dir.join("checkpoint")).unwrap().count();
    assert!(before >= 3, "checkpoints were written");

    // Headless, as CI is: had the resume touched the wgpu device (burn-optim loads optimizer
    // state onto burn's default device), Mesa would complain about XDG_RUNTIME_DIR on stderr.
    let out = Command::new(env!("CARGO_BIN_EXE_transduce"))
        .args([
            "train", "--resume", dir_s, "--epochs", "6", "--device", "flex",
        ])
        .env_remove("XDG_RUNTIME_DIR")
        .env_remove("BURN_DEVICE")
        .output()
        .unwrap();
    let stdout = text(&out.stdout);
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        !stderr.contains("XDG_RUNTIME_DIR"),
        "a flex run never opens a GPU device: {stderr}"
    );
    let resumed_at: usize = stdout
        .lines()
        .find_map(|l| {
            l.strip_prefix("resuming at epoch ")?
                .split('/')
                .next()?
                .parse()
                .ok()
        })
        .unwrap_or_else(|| panic!("{stdout}"));
    assert!((3..=6).contains(&resumed_at), "{stdout}");
    let metrics = std::fs::read_to_string(dir.join("metrics.csv")).unwrap();
    assert_eq!(metrics.lines().count(), 1 + 6, "{metrics}");
    // The schedule continued at the same step: the resumed epochs' learning rates equal those of
    // an uninterrupted run.
    let straight = tmp.path().join("straight");
    let out = train_quick(
        straight.to_str().unwrap(),
        &["--epochs", "6", "--n-train", "3000"],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let lrs = |csv: &str| csv_column(csv, "learning_rate");
    let expected = lrs(&std::fs::read_to_string(straight.join("metrics.csv")).unwrap());
    assert_eq!(
        lrs(&metrics)[resumed_at - 1..],
        expected[resumed_at - 1..],
        "{metrics}"
    );
    // Each epoch's wall time is recorded, and the resumed epochs continue the first run's clock.
    let elapsed: Vec<f64> = csv_column(&metrics, "elapsed_s")
        .iter()
        .map(|v| v.parse().unwrap())
        .collect();
    assert!(
        elapsed.windows(2).all(|w| w[0] < w[1]) && elapsed[0] > 0.0,
        "{metrics}"
    );
    // The report's training time is the whole run's, the first session's included.
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap();
    let train_seconds = report["train_seconds"].as_f64().unwrap();
    let last = *elapsed.last().unwrap();
    assert!(
        train_seconds > last - 1.0 && train_seconds < last + 60.0,
        "report {train_seconds} s against the last epoch's elapsed_s {last}"
    );
    assert!(dir.join("model.bpk").is_file());
    let files: Vec<String> = std::fs::read_dir(dir.join("checkpoint"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        files.iter().all(|f| !f.starts_with("tmp-")),
        "no temporary checkpoint files are left behind by a completed run: {files:?}"
    );

    let out = transduce(&["train", "--resume", dir_s, "--device", "flex"], None);
    assert_fails_with(&out, "already completed 6 of 6 epochs");
    // A damaged saved model config is an error naming the file, not a panic.
    let config_path = dir.join("config.json");
    let mut config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&config_path).unwrap()).unwrap();
    config["model"]["n_heads"] = serde_json::json!(3);
    std::fs::write(&config_path, config.to_string()).unwrap();
    let out = transduce(
        &[
            "train", "--resume", dir_s, "--epochs", "8", "--device", "flex",
        ],
        None,
    );
    assert_fails_with(&out, "config.json: the saved model config is invalid");
    let out = transduce(
        &[
            "train",
            "--resume",
            tmp.path().join("none").to_str().unwrap(),
        ],
        None,
    );
    assert_fails_with(&out, "none");
}

/// `--device flex,flex` trains data-parallel with burn-train's multi-device strategy: each
/// optimizer step takes one batch per device, so an epoch has half the steps (and the warmup
/// schedule has climbed less by its end).
#[test]
fn training_on_two_devices_is_data_parallel() {
    let tmp = tempfile::tempdir().unwrap();
    let lr_of_epoch_1 = |devices: &str| -> f64 {
        let dir = tmp.path().join(devices.replace(',', "-"));
        let out = transduce(
            &[
                "train",
                "--config",
                &quick(),
                "--device",
                devices,
                "--artifact-dir",
                dir.to_str().unwrap(),
            ],
            None,
        );
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert!(text(&out.stdout).contains(&format!("device {devices}")));
        let metrics = std::fs::read_to_string(dir.join("metrics.csv")).unwrap();
        csv_column(&metrics, "learning_rate")[0].parse().unwrap()
    };
    let (one, two) = (lr_of_epoch_1("flex"), lr_of_epoch_1("flex,flex"));
    assert!(two < 0.75 * one, "one device: {one}, two devices: {two}");
    let out = transduce(&["train", "--device", "flex,tpu"], None);
    assert_fails_with(&out, "unknown device");
}

/// The device's random generator is process-wide, so determinism is checked across processes.
#[test]
fn the_same_seed_gives_the_same_metrics() {
    let tmp = tempfile::tempdir().unwrap();
    let run = |name: &str, seed: &str| {
        let dir = tmp.path().join(name);
        let out = train_quick(dir.to_str().unwrap(), &["--seed", seed]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        // Every column but the wall time.
        let csv = std::fs::read_to_string(dir.join("metrics.csv")).unwrap();
        let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
        header
            .iter()
            .filter(|h| **h != "elapsed_s")
            .map(|h| csv_column(&csv, h))
            .collect::<Vec<_>>()
    };
    let (a, b, c) = (run("a", "7"), run("b", "7"), run("c", "8"));
    assert_eq!(a, b);
    assert_ne!(a, c);
}

#[test]
fn bad_input_gives_clear_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let p = |name: &str| tmp.path().join(name);
    let s = |path: &Path| path.to_str().unwrap().to_string();

    std::fs::write(p("bad.tsv"), "hello\tbonjour\nno tab on this line\n").unwrap();
    let out = transduce(
        &[
            "train",
            "--train",
            &s(&p("bad.tsv")),
            "--artifact-dir",
            &s(&p("r1")),
        ],
        None,
    );
    assert_fails_with(&out, "bad.tsv:2: no TAB");

    let (src, _) = toy_corpus(tmp.path(), 10);
    std::fs::write(p("short.fr"), "un\ndeux\n").unwrap();
    let out = transduce(
        &[
            "train",
            "--src",
            &src,
            "--tgt",
            &s(&p("short.fr")),
            "--artifact-dir",
            &s(&p("r0")),
        ],
        None,
    );
    assert_fails_with(&out, "toy.en has 10 lines but");
    let out = transduce(&["data", "--src", &src], None);
    assert_fails_with(&out, "src and tgt go together");
    let out = transduce(&["train", "--train", "/nonexistent/corpus.tsv"], None);
    assert_fails_with(&out, "/nonexistent/corpus.tsv");

    let out = transduce(&["train", "--device", "tpu"], None);
    assert_fails_with(&out, "unknown device");

    #[cfg(not(feature = "cuda"))]
    {
        let out = transduce(
            &["train", "--device", "cuda", "--artifact-dir", &s(&p("r2"))],
            None,
        );
        assert_fails_with(&out, "--features cuda");
    }

    std::fs::write(p("typo.json"), r#"{"training": {"epoch": 3}}"#).unwrap();
    let out = transduce(
        &[
            "train",
            "--config",
            &s(&p("typo.json")),
            "--artifact-dir",
            &s(&p("r3")),
        ],
        None,
    );
    assert_fails_with(&out, "unknown configuration key \"training.epoch\"");

    std::fs::write(
        p("heads.json"),
        r#"{"model": {"d_model": 30, "n_heads": 4}}"#,
    )
    .unwrap();
    let out = transduce(
        &[
            "train",
            "--config",
            &s(&p("heads.json")),
            "--artifact-dir",
            &s(&p("r4")),
        ],
        None,
    );
    assert_fails_with(&out, "divisible");
    assert!(
        !p("r4").exists(),
        "nothing is written before the config is valid"
    );

    let out = transduce(
        &["train", "--arch", "seq2seq", "--cell", "transistor"],
        None,
    );
    assert_fails_with(&out, "transistor");
    let out = transduce(
        &[
            "train",
            "--arch",
            "luong",
            "--dropout",
            "1.5",
            "--artifact-dir",
            &s(&p("r5")),
        ],
        None,
    );
    assert_fails_with(&out, "dropout must be in [0, 1)");
    let out = transduce(
        &[
            "train",
            "--arch",
            "bahdanau",
            "--layers",
            "0",
            "--artifact-dir",
            &s(&p("r6")),
        ],
        None,
    );
    assert_fails_with(&out, "n_layers must be at least 1");
    let out = transduce(
        &[
            "train",
            "--arch",
            "transformer",
            "--score",
            "dot",
            "--artifact-dir",
            &s(&p("r7")),
        ],
        None,
    );
    assert_fails_with(&out, "--score does not apply to --arch transformer");
    let out = transduce(
        &[
            "train",
            "--arch",
            "transformer",
            "--positions",
            "learned",
            "--max-positions",
            "4",
            "--device",
            "flex",
            "--config",
            &quick(),
            "--artifact-dir",
            &s(&p("r8")),
        ],
        None,
    );
    assert_fails_with(&out, "more than the model's max_len of 4");
    let out = transduce(
        &[
            "train",
            "--arch",
            "luong",
            "--preset",
            "base",
            "--artifact-dir",
            &s(&p("r9")),
        ],
        None,
    );
    assert_fails_with(&out, "presets are Transformer configurations");

    std::fs::write(p("broken.json"), "{\n\"training\": }").unwrap();
    let out = transduce(&["train", "--config", &s(&p("broken.json"))], None);
    assert_fails_with(&out, "broken.json:2");

    let out = transduce(
        &["translate", "--artifact-dir", &s(&p("nothing-here"))],
        Some(b"123\n"),
    );
    assert_fails_with(&out, "nothing-here");

    let out = transduce(&["eval", "--artifact-dir", &s(&p("nothing-here"))], None);
    assert_fails_with(&out, "nothing-here");
}

#[test]
fn inference_sees_text_as_training_did() {
    let tmp = tempfile::tempdir().unwrap();
    let (src, tgt) = toy_corpus(tmp.path(), 60);
    let lower = tmp.path().join("lower");
    let out = train_quick(
        lower.to_str().unwrap(),
        &[
            "--src",
            &src,
            "--tgt",
            &tgt,
            "--tokenizer",
            "word",
            "--lowercase",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    // Capitals are lowercased as in training, so every word is known.
    let lower_s = lower.to_str().unwrap();
    let args = ["translate", "--artifact-dir", lower_s, "--device", "flex"];
    let out = transduce(&args, Some(b"THE CAT NUMBER 3 SLEEPS .\n"));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        !text(&out.stderr).contains("warning"),
        "{}",
        text(&out.stderr)
    );
    // Words the model has never seen: one warning with the count.
    let out = transduce(&args, Some(b"abc xyz\nthe zebra\n"));
    assert!(out.status.success());
    let stderr = text(&out.stderr);
    assert_eq!(stderr.matches("warning").count(), 1, "{stderr}");
    assert!(
        stderr.contains("3 of 4 source tokens are not in the model's vocabulary"),
        "{stderr}"
    );

    // A model trained in the reverse direction is evaluated on the right side of a file.
    let reverse = tmp.path().join("reverse");
    let out = train_quick(
        reverse.to_str().unwrap(),
        &[
            "--task",
            "dates",
            "--direction",
            "reverse",
            "--n-train",
            "200",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let file = tmp.path().join("dates.tsv");
    std::fs::write(&file, "12 March 2024\t2024-03-12\n3 mai 1999\t1999-05-03\n").unwrap();
    let eval = |path: &Path| {
        transduce(
            &[
                "eval",
                "--artifact-dir",
                reverse.to_str().unwrap(),
                "--device",
                "flex",
                "--test",
                path.to_str().unwrap(),
                "--json",
            ],
            None,
        )
    };
    let out = eval(&file);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        !text(&out.stderr).contains("warning"),
        "the ISO side is the source: {}",
        text(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["n"], 2);
}

/// A recurrent model (constant rate, reduce-on-plateau) killed with `kill -9` after the plateau
/// schedule has lowered its rate: the resumed run keeps the lowered rate, the early-stopping and
/// best-checkpoint trackers, and the same filtered data as an uninterrupted run.
#[test]
fn a_killed_recurrent_run_resumes_with_its_schedule_and_trackers() {
    use std::io::BufRead;
    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("plateau.json");
    std::fs::write(
        &config,
        r#"{"model": {"arch": "luong", "d_hidden": 16, "d_embedding": 8, "dropout": 0.0},
            "training": {"batch_size": 32, "lr": 0.03, "plateau_patience": 1, "plateau_factor": 0.5},
            "data": {"task": "reverse", "n_train": 600, "n_valid": 40, "n_test": 30, "min_len": 3, "max_len": 6, "max_sentence_len": 5}}"#,
    )
    .unwrap();
    let config = config.to_str().unwrap();
    let epochs = "14";
    let run = |dir: &Path| -> Vec<String> {
        vec![
            "train".into(),
            "--config".into(),
            config.into(),
            "--epochs".into(),
            epochs.into(),
            "--device".into(),
            "flex".into(),
            "--artifact-dir".into(),
            dir.to_str().unwrap().into(),
        ]
    };
    let dir = tmp.path().join("run");
    let mut child = Command::new(env!("CARGO_BIN_EXE_transduce"))
        .args(run(&dir))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Kill once an epoch line shows a learning rate below the initial 0.03.
    let mut killed_after = None;
    for line in std::io::BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        let Some(epoch) = line
            .strip_prefix("epoch ")
            .and_then(|l| l.split('/').next()?.parse::<usize>().ok())
        else {
            continue;
        };
        let lr: f64 = line
            .split("Learning Rate ")
            .nth(1)
            .and_then(|l| l.split_whitespace().next()?.parse().ok())
            .unwrap_or_else(|| panic!("no learning rate in {line}"));
        if lr < 0.03 - 1e-9 {
            killed_after = Some(epoch);
            break;
        }
        assert!(epoch < 10, "the plateau schedule never lowered the rate");
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let killed_after = killed_after.expect("the run printed epochs");

    let out = transduce(
        &[
            "train",
            "--resume",
            dir.to_str().unwrap(),
            "--device",
            "flex",
        ],
        None,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));

    let straight = tmp.path().join("straight");
    let out = Command::new(env!("CARGO_BIN_EXE_transduce"))
        .args(run(&straight))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));

    let column = |dir: &Path, name: &str| -> Vec<f64> {
        let csv = std::fs::read_to_string(dir.join("metrics.csv")).unwrap();
        let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
        let i = header.iter().position(|h| *h == name).unwrap();
        csv.lines()
            .skip(1)
            .map(|l| l.split(',').nth(i).unwrap().parse().unwrap())
            .collect()
    };
    let (resumed, expected) = (
        column(&dir, "learning_rate"),
        column(&straight, "learning_rate"),
    );
    assert_eq!(resumed.len(), 14);
    // The rate never jumps back to its initial value after the kill.
    let lowered = resumed[killed_after - 1];
    assert!(lowered < 0.03, "{resumed:?}");
    assert!(
        resumed[killed_after..].iter().all(|&lr| lr <= lowered),
        "the resumed run went back to a higher rate: {resumed:?}"
    );
    assert_eq!(
        resumed, expected,
        "learning rates of the resumed and the uninterrupted run"
    );
    let report = |dir: &Path| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap()
    };
    let (a, b) = (report(&dir), report(&straight));
    assert_eq!(a["pairs"], b["pairs"], "the same filtered data");
    assert!(
        a["pairs"]["train"].as_u64().unwrap() < 600,
        "max_sentence_len dropped pairs"
    );
    assert_eq!(a["best_epoch"], b["best_epoch"]);
    assert_eq!(a["kept"], b["kept"]);
}

/// `transduce bench --workload w1|w2 --json` prints one object per workload with the keys other
/// tools read (the figures themselves belong to the benchmark, not to tests).
#[test]
fn bench_prints_the_json_contract() {
    let out = transduce(
        &[
            "bench",
            "--workload",
            "w1,w2",
            "--json",
            "--device",
            "flex",
            "--steps",
            "1",
            "--warmup",
            "0",
        ],
        None,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let lines: Vec<serde_json::Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    for (json, name) in lines.iter().zip(["w1", "w2"]) {
        assert_eq!(json["workload"], name);
        assert_eq!(json["device"], "flex");
        for key in [
            "train_step_s",
            "train_tokens_per_s",
            "greedy_s",
            "beam4_s",
            "peak_rss_mb",
        ] {
            assert!(json[key].as_f64().is_some_and(|v| v > 0.0), "{key}: {json}");
        }
    }
    let out = transduce(&["bench", "--workload", "w9"], None);
    assert_fails_with(&out, "unknown workload \"w9\"");
}

#[test]
fn nbest_length_penalties_and_output_limits_from_the_cli() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    let dir_s = dir.to_str().unwrap();
    let out = train_quick(dir_s, &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let translate = |extra: &[&str], input: &[u8]| {
        let mut args = vec!["translate", "--artifact-dir", dir_s, "--device", "flex"];
        args.extend_from_slice(extra);
        transduce(&args, Some(input))
    };

    // `index<TAB>score<TAB>text`, N per non-empty input, best first, distinct.
    for penalty in [
        &[][..],
        &["--alpha", "0.6"],
        &["--alpha", "0"],
        &["--length-norm"],
    ] {
        let mut extra = vec!["--beam", "4", "--nbest", "3"];
        extra.extend_from_slice(penalty);
        let out = translate(&extra, b"123\n\n4567\n");
        assert!(out.status.success(), "{penalty:?}: {}", text(&out.stderr));
        let stdout = text(&out.stdout);
        let rows: Vec<(usize, f32, String)> = stdout
            .lines()
            .map(|line| {
                let fields: Vec<&str> = line.split('\t').collect();
                assert_eq!(fields.len(), 3, "{line:?}");
                (
                    fields[0].parse().unwrap(),
                    fields[1].parse().unwrap(),
                    fields[2].to_string(),
                )
            })
            .collect();
        assert_eq!(rows.len(), 6, "{penalty:?}: {stdout}");
        for index in [0, 2] {
            let list: Vec<&(usize, f32, String)> = rows.iter().filter(|r| r.0 == index).collect();
            assert_eq!(list.len(), 3, "{stdout}");
            assert!(list.windows(2).all(|w| w[0].1 >= w[1].1), "{stdout}");
            assert!(list.iter().all(|r| r.1 <= 0.0), "{stdout}");
            assert!(list[0].2 != list[1].2 && list[1].2 != list[2].2 && list[0].2 != list[2].2);
        }
        // The first of each list is what plain translation prints with the same search.
        let mut plain = vec!["--beam", "4"];
        plain.extend_from_slice(penalty);
        let best = text(&translate(&plain, b"123\n\n4567\n").stdout);
        let best: Vec<&str> = best.lines().collect();
        assert_eq!(best[0], rows[0].2);
        assert_eq!(best[2], rows[3].2);
    }

    // `--max-len-a A --max-len-b B`: at most a·|x| + b tokens (characters here), greedy and beam.
    for beam in ["1", "3"] {
        let out = translate(
            &["--beam", beam, "--max-len-a", "0.5", "--max-len-b", "1"],
            b"1234\n123456789\n",
        );
        assert!(out.status.success(), "{}", text(&out.stderr));
        let stdout = text(&out.stdout);
        let lens: Vec<usize> = stdout.lines().map(|l| l.chars().count()).collect();
        assert!(lens[0] <= 3 && lens[1] <= 5, "beam {beam}: {stdout}");
    }

    assert_fails_with(
        &translate(&["--beam", "4", "--nbest", "5"], b"12\n"),
        "--nbest 5 needs --beam of at least 5",
    );
    assert_fails_with(
        &translate(&["--nbest", "2"], b"12\n"),
        "--nbest 2 needs --beam",
    );
    assert_fails_with(
        &translate(&["--beam", "2", "--alpha", "1", "--length-norm"], b"12\n"),
        "cannot be used with",
    );
    assert_fails_with(
        &translate(&["--beam", "2", "--alpha=-1"], b"12\n"),
        "--alpha must be a number of at least 0",
    );
    assert_fails_with(
        &translate(&["--max-len-a=-0.5"], b"12\n"),
        "--max-len-a must be a number of at least 0",
    );
}

#[test]
fn attention_maps_and_alignments_from_the_cli() {
    let tmp = tempfile::tempdir().unwrap();
    let train = |name: &str, extra: &[&str]| -> String {
        let dir = tmp.path().join(name);
        let dir_s = dir.to_str().unwrap().to_string();
        let out = train_quick(&dir_s, extra);
        assert!(out.status.success(), "{name}: {}", text(&out.stderr));
        dir_s
    };
    let transformer = train("transformer", &[]);
    let luong = train(
        "luong",
        &["--arch", "luong", "--d-hidden", "16", "--d-embedding", "8"],
    );
    let seq2seq = train(
        "seq2seq",
        &[
            "--arch",
            "seq2seq",
            "--d-hidden",
            "16",
            "--d-embedding",
            "8",
        ],
    );
    let attention = |dir: &str, out: &Path, extra: &[&str]| {
        let out_s = out.to_str().unwrap();
        let mut args = vec![
            "attention",
            "--artifact-dir",
            dir,
            "--device",
            "flex",
            "--text",
            "1234",
            "--out",
            out_s,
        ];
        args.extend_from_slice(extra);
        transduce(&args, None)
    };
    let png_size = |path: &Path| -> (u32, u32) {
        let bytes = std::fs::read(path).unwrap();
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
        let be = |at: usize| u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap());
        (be(16), be(20))
    };

    // One map: 4 source tokens across, the output and <eos> down.
    let one = tmp.path().join("one.png");
    let out = attention(&transformer, &one, &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let translation = text(&out.stdout).trim().to_string();
    assert!(
        text(&out.stderr).contains("4 source and"),
        "{}",
        text(&out.stderr)
    );
    let (w, h) = png_size(&one);
    assert!(
        w >= 4 * 22 && h >= (translation.chars().count() as u32 + 1) * 22,
        "{w}x{h}"
    );
    // A grid of every head (2) for three attentions is wider and taller; one head, and SVG.
    let grid = tmp.path().join("grid.png");
    assert!(
        attention(&transformer, &grid, &["--grid", "--layer", "1"])
            .status
            .success()
    );
    let (gw, gh) = png_size(&grid);
    assert!(gw > w && gh > 2 * h, "{gw}x{gh} vs {w}x{h}");
    let svg = tmp.path().join("head.svg");
    assert!(
        attention(&transformer, &svg, &["--head", "2"])
            .status
            .success()
    );
    assert!(std::fs::read_to_string(&svg).unwrap().starts_with("<svg"));
    assert_fails_with(
        &attention(&transformer, &one, &["--layer", "5"]),
        "layer 5 does not exist",
    );
    assert_fails_with(
        &attention(&transformer, &one, &["--head", "1", "--grid"]),
        "cannot be used with",
    );
    // Recurrent attention: one map, no layers; seq2seq: none.
    let luong_map = tmp.path().join("luong.png");
    assert!(attention(&luong, &luong_map, &[]).status.success());
    assert!(png_size(&luong_map).0 >= 4 * 22);
    assert_fails_with(
        &attention(&luong, &luong_map, &["--layer", "1"]),
        "layers and heads are the Transformer's",
    );
    assert_fails_with(
        &attention(&seq2seq, &tmp.path().join("s.png"), &[]),
        "has no attention",
    );
    assert!(!tmp.path().join("s.png").exists());

    // --show-alignment: each output token, then the source token it looked at most.
    for dir in [&transformer, &luong] {
        let args = [
            "translate",
            "--artifact-dir",
            dir.as_str(),
            "--device",
            "flex",
            "--show-alignment",
        ];
        let out = transduce(&args, Some(b"1234\n\n567\n"));
        assert!(out.status.success(), "{}", text(&out.stderr));
        let stdout = text(&out.stdout);
        let lines: Vec<&str> = stdout.lines().collect();
        assert_eq!(lines.len(), 3, "{stdout}");
        assert_eq!(lines[1], "\t");
        for (line, source) in [(lines[0], "1234"), (lines[2], "567")] {
            let (translation, alignment) = line.split_once('\t').unwrap();
            let pairs: Vec<(&str, &str)> = alignment
                .split(' ')
                .filter(|p| !p.is_empty())
                .map(|p| p.split_once('→').unwrap())
                .collect();
            assert_eq!(pairs.len(), translation.chars().count(), "{line}");
            for ((out_tok, src_tok), c) in pairs.iter().zip(translation.chars()) {
                assert_eq!(*out_tok, c.to_string());
                assert!(source.contains(src_tok), "{line}");
            }
        }
    }
    let args = [
        "translate",
        "--artifact-dir",
        seq2seq.as_str(),
        "--device",
        "flex",
        "--show-alignment",
    ];
    assert_fails_with(&transduce(&args, Some(b"12\n")), "seq2seq");
}

#[test]
fn export_writes_safetensors_that_an_artifact_loads_back() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    let dir_s = dir.to_str().unwrap();
    let out = train_quick(dir_s, &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let file = tmp.path().join("model.safetensors");
    let out = transduce(
        &[
            "export",
            "--artifact-dir",
            dir_s,
            "--out",
            file.to_str().unwrap(),
        ],
        None,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let bytes = std::fs::read(&file).unwrap();
    let header_len = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + header_len]).unwrap();
    assert!(
        header
            .as_object()
            .unwrap()
            .keys()
            .any(|k| k.ends_with(".weight")),
        "{header}"
    );

    // The same artifact with the safetensors file in place of model.bpk translates the same.
    let copy = tmp.path().join("copy");
    std::fs::create_dir(&copy).unwrap();
    for name in [
        "config.json",
        "src_vocab.json",
        "tgt_vocab.json",
        "test.tsv",
    ] {
        std::fs::copy(dir.join(name), copy.join(name)).unwrap();
    }
    std::fs::copy(&file, copy.join("model.safetensors")).unwrap();
    assert_eq!(
        translate_two_lines(copy.to_str().unwrap()),
        translate_two_lines(dir_s)
    );
    assert_fails_with(
        &transduce(
            &[
                "export",
                "--artifact-dir",
                tmp.path().join("none").to_str().unwrap(),
                "--out",
                "x.safetensors",
            ],
            None,
        ),
        "not a directory",
    );
}

#[test]
fn export_web_writes_what_the_page_fetches() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("reverse-run");
    let dir_s = dir.to_str().unwrap();
    let out = train_quick(dir_s, &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let web = tmp.path().join("web");
    let web_s = web.to_str().unwrap();
    let export = |extra: &[&str]| {
        let mut args = vec!["export", "--artifact-dir", dir_s, "--web", web_s];
        args.extend_from_slice(extra);
        transduce(&args, None)
    };
    let out = export(&[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("models/index.json"),
        "{}",
        text(&out.stderr)
    );
    let out = export(&["--name", "second"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    for name in [
        "config.json",
        "src_vocab.json",
        "tgt_vocab.json",
        "model.bpk",
    ] {
        assert!(web.join("models/second").join(name).is_file(), "{name}");
    }
    let index: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(web.join("models/index.json")).unwrap())
            .unwrap();
    let names: Vec<&str> = index
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["reverse-run", "second"]);
    // The exported directory is itself an artifact that translates as the original does.
    let exported = web.join("models/second");
    assert_eq!(
        translate_two_lines(exported.to_str().unwrap()),
        translate_two_lines(dir_s)
    );

    assert_fails_with(&export(&["--name", "a/b"]), "name");
    assert_fails_with(
        &transduce(&["export", "--artifact-dir", dir_s], None),
        "--out",
    );
}

#[test]
fn import_builds_an_artifact_that_translates_as_pytorch_did() {
    let tmp = tempfile::tempdir().unwrap();
    let fixtures = Path::new(&manifest_dir()).join("assets/pytorch/import");
    for (arch, weights, vocab) in [
        ("transformer", "model.pt", "json"),
        ("luong", "model.safetensors", "txt"),
        ("bahdanau", "model.pt", "json"),
        ("seq2seq", "model.pt", "json"),
    ] {
        let fixture = fixtures.join(arch);
        let path = |name: &str| fixture.join(name).to_str().unwrap().to_string();
        let out_dir = tmp.path().join(arch);
        let import = || {
            transduce(
                &[
                    "import",
                    "--state-dict",
                    &path(weights),
                    "--config",
                    &path("config.json"),
                    "--src-vocab",
                    &path(&format!("src_vocab.{vocab}")),
                    "--tgt-vocab",
                    &path(&format!("tgt_vocab.{vocab}")),
                    "--out",
                    out_dir.to_str().unwrap(),
                ],
                None,
            )
        };
        let out = import();
        assert!(out.status.success(), "{arch}: {}", text(&out.stderr));
        assert!(text(&out.stderr).contains(arch), "{}", text(&out.stderr));

        let expected: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(fixture.join("expected.json")).unwrap())
                .unwrap();
        let lines = |key: &str| -> Vec<String> {
            expected[key]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap().to_string())
                .collect()
        };
        let input = lines("sources").join("\n") + "\n";
        let out = transduce(
            &[
                "translate",
                "--artifact-dir",
                out_dir.to_str().unwrap(),
                "--device",
                "flex",
            ],
            Some(input.as_bytes()),
        );
        assert!(out.status.success(), "{arch}: {}", text(&out.stderr));
        let ours: Vec<String> = text(&out.stdout).lines().map(String::from).collect();
        assert_eq!(ours, lines("translations"), "{arch}");

        // Importing over an existing artifact is refused, and nothing is lost.
        let again = import();
        assert!(!again.status.success(), "{arch}: a second import succeeded");
        assert!(out_dir.join("model.bpk").is_file());
    }
}

#[test]
fn the_length_experiment_writes_its_tables_and_plots() {
    let tmp = tempfile::tempdir().unwrap();
    let recipe = tmp.path().join("recipe.json");
    std::fs::write(
        &recipe,
        r#"{"task": "reverse", "train_lengths": [1, 6], "eval_lengths": [1, 9], "bucket": 3,
            "eval_per_length": 8, "n_train": 300, "n_valid": 30, "target_params": 20000, "seed": 1,
            "training": {"epochs": 1, "batch_size": 32},
            "models": [{"name": "GRU seq2seq", "model": {"arch": "seq2seq", "cell": "gru"}},
                       {"name": "Transformer", "model": {"arch": "transformer", "n_encoder_layers": 1, "n_decoder_layers": 1}}]}"#,
    )
    .unwrap();
    let out_dir = tmp.path().join("out");
    let out = transduce(
        &[
            "experiment",
            "length",
            "--recipe",
            recipe.to_str().unwrap(),
            "--out",
            out_dir.to_str().unwrap(),
            "--device",
            "flex",
        ],
        None,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    for file in [
        "length.md",
        "length.csv",
        "length_exact_match.png",
        "length_chrf.png",
        "runs/gru-seq2seq/model.bpk",
        "runs/transformer/model.bpk",
    ] {
        assert!(out_dir.join(file).is_file(), "missing {file}");
    }
    // One row per model and bucket (1-3 and 4-6 trained on, 7-9 beyond); 1-digit sources
    // that training saw are left out, so the first bucket holds fewer pairs.
    let csv = std::fs::read_to_string(out_dir.join("length.csv")).unwrap();
    let rows: Vec<Vec<&str>> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    assert_eq!(rows.len(), 2 * 3, "{csv}");
    assert_eq!(
        rows.iter().map(|r| (r[1], r[2])).collect::<Vec<_>>()[..3],
        [("1", "3"), ("4", "6"), ("7", "9")]
    );
    assert!(rows.iter().all(|r| r[3].parse::<usize>().unwrap() <= 24));
    assert_eq!(rows[2][3], "24", "{csv}");
    let md = std::fs::read_to_string(out_dir.join("length.md")).unwrap();
    assert!(
        md.contains("| GRU seq2seq | seq2seq |") && md.contains("| 7-9* |"),
        "{md}"
    );

    std::fs::write(&recipe, r#"{"task": "dates"}"#).unwrap();
    let out = transduce(
        &[
            "experiment",
            "length",
            "--recipe",
            recipe.to_str().unwrap(),
            "--out",
            out_dir.to_str().unwrap(),
        ],
        None,
    );
    assert_fails_with(&out, "recipe.json");
}

#[test]
fn the_speed_experiment_writes_its_tables_and_plots() {
    let tmp = tempfile::tempdir().unwrap();
    let recipe = tmp.path().join("recipe.json");
    let write_recipe = |step_lengths: &str| {
        std::fs::write(
            &recipe,
            format!(
                r#"{{"data": {{"task": "reverse", "n_train": 300, "n_valid": 30, "n_test": 20, "min_len": 1, "max_len": 6}},
                "target_params": 20000, "seed": 1, "training": {{"epochs": 2, "batch_size": 32}},
                "target": {{"metric": "exact_match", "value": 0}},
                "step_lengths": {step_lengths}, "step_batch": 4, "step_repeats": 2,
                "decode_lengths": [4, 8], "decode_batch": 2,
                "models": [{{"name": "GRU seq2seq", "model": {{"arch": "seq2seq", "cell": "gru"}}}},
                           {{"name": "Transformer", "model": {{"arch": "transformer", "n_encoder_layers": 1, "n_decoder_layers": 1}}}}]}}"#
            ),
        )
        .unwrap()
    };
    write_recipe("[4, 8, 16]");
    let out_dir = tmp.path().join("out");
    let run = || {
        transduce(
            &[
                "experiment",
                "speed",
                "--recipe",
                recipe.to_str().unwrap(),
                "--out",
                out_dir.to_str().unwrap(),
                "--device",
                "flex",
            ],
            None,
        )
    };
    let out = run();
    assert!(out.status.success(), "{}", text(&out.stderr));
    for file in [
        "speed.md",
        "speed.csv",
        "speed_epochs.csv",
        "speed_steps.csv",
        "speed_decode.csv",
        "speed_valid_vs_time.png",
        "speed_train_vs_length.png",
        "speed_decode_vs_length.png",
        "runs/gru-seq2seq/model.bpk",
        "runs/transformer/model.bpk",
    ] {
        assert!(out_dir.join(file).is_file(), "missing {file}");
    }
    let rows = |file: &str| -> Vec<Vec<String>> {
        std::fs::read_to_string(out_dir.join(file))
            .unwrap()
            .lines()
            .skip(1)
            .map(|l| l.split(',').map(String::from).collect())
            .collect()
    };
    // A target of 0 is reached by the first epoch, at that epoch's wall time.
    let summary = rows("speed.csv");
    let epochs = rows("speed_epochs.csv");
    assert_eq!(summary.len(), 2);
    for model in &summary {
        assert_eq!(model[3], "2", "{model:?}");
        let first = epochs
            .iter()
            .find(|e| e[0] == model[0] && e[1] == "1")
            .unwrap();
        assert_eq!(model[7], "1", "{model:?}");
        let (to_target, first_epoch): (f64, f64) =
            (model[6].parse().unwrap(), first[2].parse().unwrap());
        assert!((to_target - first_epoch).abs() < 0.1, "{model:?} {first:?}");
        assert!(
            model[5].parse::<f64>().unwrap() > 0.0,
            "tokens per second: {model:?}"
        );
    }
    assert_eq!(epochs.len(), 2 * 2);
    let steps = rows("speed_steps.csv");
    assert_eq!(
        steps.iter().map(|r| r[1].as_str()).collect::<Vec<_>>(),
        ["4", "8", "16", "4", "8", "16"]
    );
    assert!(steps.iter().all(|r| r[3].parse::<f64>().unwrap() > 0.0));
    assert_eq!(rows("speed_decode.csv").len(), 2 * 2);
    let md = std::fs::read_to_string(out_dir.join("speed.md")).unwrap();
    assert!(
        md.contains("| GRU seq2seq | seq2seq |")
            && md.contains("| model | L = 4 | L = 8 | L = 16 |"),
        "{md}"
    );

    write_recipe("[4, 0]");
    assert_fails_with(&run(), "recipe.json: lengths must be at least 1");
}
