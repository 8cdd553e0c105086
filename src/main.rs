//! The `transduce` command: train, translate, evaluate.

use std::io::{BufRead, BufWriter, IsTerminal, Write};
use std::path::Path;

use anyhow::{Context, bail};
use clap::Parser;
use serde_json::json;
use transduce::bench::Workload;
use transduce::cli::{
    AttentionArgs, BenchArgs, Cli, Command, DataCmdArgs, EvalArgs, ExportArgs, ScoreArgs,
    SearchArgs, SplitArg, TrainArgs, TranslateArgs,
};
use transduce::config::{read_config_file, resolve};
use transduce::device::DeviceSpec;
use transduce::progress::Progress;
use transduce_data::{BatchPlan, padding_fraction};
use transduce_infer::Translator;
use transduce_infer::artifact::Artifact;
use transduce_infer::score::{bleu_signature, chrf_signature, corpus_bleu_with, corpus_chrf_with};
use transduce_train::{Dashboard, TrainReport, resume, train_on_devices};

fn main() -> anyhow::Result<()> {
    transduce::allocator::tune();
    transduce::logging::init();
    let cli = Cli::parse();
    transduce::threads::on_worker(|| run(cli))
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Train(args) => run_train(args),
        Command::Translate(args) => run_translate(args),
        Command::Eval(args) => run_eval(args),
        Command::Data(args) => run_data(args),
        Command::Score(args) => run_score(args),
        Command::Bench(args) => run_bench(args),
        Command::Attention(args) => run_attention(args),
        Command::Export(args) => run_export(args),
    }
}

/// The lines of a text file, without line endings; invalid UTF-8 is an error naming the line.
fn read_lines(path: &Path) -> anyhow::Result<Vec<String>> {
    let bytes = std::fs::read(path).with_context(|| format!("{}: cannot read", path.display()))?;
    let mut lines: Vec<&[u8]> = bytes.split(|&b| b == b'\n').collect();
    if lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    lines
        .into_iter()
        .enumerate()
        .map(|(i, line)| {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            String::from_utf8(line.to_vec()).map_err(|e| {
                anyhow::anyhow!(
                    "{}:{}: invalid UTF-8 at byte {}",
                    path.display(),
                    i + 1,
                    e.utf8_error().valid_up_to()
                )
            })
        })
        .collect()
}

/// What `bench --workload` names: a matmul, the decoding sweep, or a training workload.
enum BenchJob {
    Peak,
    Decode,
    Train(Workload),
}

fn run_bench(args: BenchArgs) -> anyhow::Result<()> {
    if args.steps == 0 {
        bail!("--steps must be at least 1");
    }
    let workloads = args
        .workload
        .iter()
        .map(|name| match name.as_str() {
            "peak" => Ok(BenchJob::Peak),
            "decode" => Ok(BenchJob::Decode),
            name => Workload::named(name).map(BenchJob::Train),
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let device = args.device.device().map_err(anyhow::Error::msg)?;
    let name = args.device.to_string();
    for job in &workloads {
        let w = match job {
            BenchJob::Train(w) => w,
            BenchJob::Peak => {
                let gflops = transduce::bench::peak_gflops(&device);
                if args.json {
                    let report = serde_json::json!({"workload": "peak", "device": name, "matmul_gflops": gflops});
                    println!("{report}");
                } else {
                    println!("peak on {name}: 2048x2048x2048 matmul at {gflops:.1} GFLOP/s");
                }
                continue;
            }
            BenchJob::Decode => {
                for r in transduce::bench::decode_sweep(&device, &name, &[16, 64, 256]) {
                    if args.json {
                        println!("{}", serde_json::to_string(&r)?);
                    } else {
                        println!(
                            "decode on {}: {} x {} tokens | greedy {:.3}s ({:.0} tokens/s), without cache {:.3}s ({:.0} tokens/s, {:.1}x slower) | beam 4 {:.3}s ({:.0} tokens/s) | beam 8 {:.3}s ({:.0} tokens/s)",
                            r.device,
                            r.batch_size,
                            r.out_len,
                            r.greedy_s,
                            r.greedy_tokens_per_s,
                            r.greedy_uncached_s,
                            r.greedy_uncached_tokens_per_s,
                            r.cache_speedup,
                            r.beam4_s,
                            r.beam4_tokens_per_s,
                            r.beam8_s,
                            r.beam8_tokens_per_s
                        );
                    }
                }
                continue;
            }
        };
        let r = transduce::bench::run(w, &device, &name, args.warmup, args.steps);
        if args.json {
            println!("{}", serde_json::to_string(&r)?);
        } else {
            println!(
                "{} on {}: train step {:.3}s ({:.0} tokens/s, {:.1} GFLOP at {:.1} GFLOP/s) | greedy {:.3}s ({:.0} tokens/s) | beam 4 {:.3}s ({:.0} tokens/s){} | peak RSS {:.0} MiB",
                r.workload,
                r.device,
                r.train_step_s,
                r.train_tokens_per_s,
                r.train_gflop,
                r.train_gflops,
                r.greedy_s,
                r.greedy_tokens_per_s,
                r.beam4_s,
                r.beam4_tokens_per_s,
                r.greedy_uncached_s
                    .map(|s| format!(" | greedy without cache {s:.3}s"))
                    .unwrap_or_default(),
                r.peak_rss_mb
            );
        }
    }
    Ok(())
}

fn run_score(args: ScoreArgs) -> anyhow::Result<()> {
    let hyps = read_lines(&args.hyp)?;
    let mut streams = Vec::new();
    for path in &args.reference {
        let refs = read_lines(path)?;
        if refs.len() != hyps.len() {
            bail!(
                "{} has {} lines but {} has {}: one reference per hypothesis in every --ref file",
                args.hyp.display(),
                hyps.len(),
                path.display(),
                refs.len()
            );
        }
        streams.push(refs);
    }
    let streams: Vec<&[String]> = streams.iter().map(Vec::as_slice).collect();
    let word_order = usize::from(args.chrf_word_order);
    let bleu = corpus_bleu_with(&hyps, &streams, args.bleu_tokenize);
    let chrf = corpus_chrf_with(&hyps, &streams, word_order);
    let bleu_sig = bleu_signature(streams.len(), args.bleu_tokenize);
    let chrf_sig = chrf_signature(streams.len(), word_order);
    if args.json {
        let json = json!({
            "bleu": bleu.score,
            "bleu_signature": bleu_sig,
            "chrf": chrf,
            "chrf_signature": chrf_sig,
            "chrf_word_order": word_order,
            "n": hyps.len(),
            "bleu_precisions": bleu.precisions,
            "bleu_bp": bleu.bp,
            "sys_len": bleu.sys_len,
            "ref_len": bleu.ref_len,
        });
        println!("{json}");
    } else {
        let p = bleu.precisions;
        println!(
            "BLEU = {:.2} {:.1}/{:.1}/{:.1}/{:.1} (BP = {:.3} ratio = {:.3} hyp_len = {} ref_len = {}) {bleu_sig}",
            bleu.score,
            p[0],
            p[1],
            p[2],
            p[3],
            bleu.bp,
            bleu.sys_len as f64 / bleu.ref_len.max(1) as f64,
            bleu.sys_len,
            bleu.ref_len
        );
        let plus = "+".repeat(word_order.min(2));
        println!("chrF2{plus} = {chrf:.2} {chrf_sig}");
    }
    Ok(())
}

fn run_data(args: DataCmdArgs) -> anyhow::Result<()> {
    let file = match &args.config {
        Some(path) => Some((path.as_path(), read_config_file(path)?)),
        None => None,
    };
    let mut config = resolve(file, None, None)?;
    args.data.apply(&mut config.data, false);
    if let Some(seed) = args.seed {
        config.training.seed = seed;
    }
    let progress = Progress::spinner("preparing data");
    let (prepared, load) = config
        .data
        .prepare_with(config.training.seed, &mut |stage| progress.stage(stage))?;
    drop(progress);
    let splits = &prepared.splits;
    let mut out = BufWriter::new(std::io::stdout().lock());
    if !args.stats {
        let pairs = match args.split {
            SplitArg::Train => &splits.train,
            SplitArg::Valid => &splits.valid,
            SplitArg::Test => &splits.test,
        };
        for pair in pairs.iter().take(args.n) {
            writeln!(out, "{}\t{}", pair.src, pair.tgt)?;
        }
        return Ok(out.flush()?);
    }
    let codec = &prepared.codec;
    writeln!(
        out,
        "data: {} ({} tokenizer)",
        config.data.describe(),
        config.data.tokenizer().name()
    )?;
    writeln!(
        out,
        "pairs: {} train, {} valid, {} test",
        splits.train.len(),
        splits.valid.len(),
        splits.test.len()
    )?;
    if load.skipped_lines > 0 || load.dropped_long > 0 {
        writeln!(
            out,
            "skipped {} malformed lines; dropped {} long training pairs",
            load.skipped_lines, load.dropped_long
        )?;
    }
    writeln!(
        out,
        "vocabulary: {} source, {} target entries (with 4 special tokens)",
        codec.src_vocab.len(),
        codec.tgt_vocab.len()
    )?;
    let examples = codec.examples(&splits.train);
    for (side, lens) in [
        (
            "source",
            examples.iter().map(|e| e.src.len()).collect::<Vec<_>>(),
        ),
        (
            "target",
            examples.iter().map(|e| e.tgt.len()).collect::<Vec<_>>(),
        ),
    ] {
        writeln!(
            out,
            "{side} tokens per training sentence: {}",
            length_summary(&lens)
        )?;
        for line in histogram(&lens) {
            writeln!(out, "  {line}")?;
        }
    }
    let batch_size = config.training.batch_size;
    let seed = config.training.seed;
    let random = BatchPlan {
        batch_size,
        max_tokens: None,
        bucket: false,
    };
    let bucketed = BatchPlan {
        batch_size,
        max_tokens: None,
        bucket: true,
    };
    writeln!(
        out,
        "padding in batches of {batch_size}: random order {:.1}%, length-bucketed {:.1}%",
        100.0 * padding_fraction(&examples, &random.batches(&examples, seed)),
        100.0 * padding_fraction(&examples, &bucketed.batches(&examples, seed))
    )?;
    Ok(out.flush()?)
}

/// `min / mean / median / max`.
fn length_summary(lens: &[usize]) -> String {
    let mut sorted = lens.to_vec();
    sorted.sort_unstable();
    let mean = sorted.iter().sum::<usize>() as f64 / sorted.len().max(1) as f64;
    format!(
        "min {} / mean {mean:.1} / median {} / max {}",
        sorted.first().unwrap_or(&0),
        sorted.get(sorted.len() / 2).unwrap_or(&0),
        sorted.last().unwrap_or(&0)
    )
}

/// A text histogram in up to 10 equal-width bins.
fn histogram(lens: &[usize]) -> Vec<String> {
    let (Some(&min), Some(&max)) = (lens.iter().min(), lens.iter().max()) else {
        return Vec::new();
    };
    let width = (max - min) / 10 + 1;
    let mut counts = vec![0usize; (max - min) / width + 1];
    for &l in lens {
        counts[(l - min) / width] += 1;
    }
    let peak = *counts.iter().max().unwrap_or(&1);
    counts
        .iter()
        .enumerate()
        .map(|(i, &c)| {
            let lo = min + i * width;
            let bar = "#".repeat((40 * c).div_ceil(peak));
            format!("{:>4}-{:<4} {:>7} {bar}", lo, lo + width - 1, c)
        })
        .collect()
}

fn run_train(args: TrainArgs) -> anyhow::Result<()> {
    let devices = args.device.devices().map_err(anyhow::Error::msg)?;
    let device = devices[0].clone();
    let dashboard = if args.no_tui {
        Dashboard::Lines
    } else {
        Dashboard::Auto
    };
    if let Some(dir) = &args.resume {
        println!(
            "transduce train: resuming {} on device {}",
            dir.display(),
            args.device
        );
        let report = resume(dir, &device, args.epochs, dashboard)?;
        print_report(&report, dir, dashboard);
        return Ok(());
    }
    let file = match &args.config {
        Some(path) => Some((path.as_path(), read_config_file(path)?)),
        None => None,
    };
    let preset = args.preset.map(|p| p.name());
    let mut config = resolve(file, args.arch(), preset)?;
    args.apply(&mut config)?;
    config.training.validate()?;
    config.data.validate()?;

    let progress = Progress::spinner("preparing data");
    let (prepared, load) = config.prepare_with(&mut |stage| progress.stage(stage))?;
    drop(progress);
    let (src_vocab_size, tgt_vocab_size) = (
        prepared.codec.src_vocab.len(),
        prepared.codec.tgt_vocab.len(),
    );

    let s = &prepared.splits;
    println!(
        "transduce train: {} on {} ({} tokenizer) | {} train / {} valid / {} test pairs | vocab {} / {} | device {}",
        config.model.arch(),
        config.data.describe(),
        config.data.tokenizer().name(),
        s.train.len(),
        s.valid.len(),
        s.test.len(),
        src_vocab_size,
        tgt_vocab_size,
        args.device,
    );
    println!(
        "validation BLEU: {}",
        bleu_signature(1, config.training.bleu_tokenize(&config.data))
    );
    if load.skipped_lines > 0 {
        println!("skipped {} malformed lines", load.skipped_lines);
    }
    if load.dropped_long > 0 {
        println!(
            "dropped {} training pairs longer than {} tokens",
            load.dropped_long,
            config.data.max_sentence_len.unwrap_or(0)
        );
    }
    let report = train_on_devices(&config, &prepared, &devices, &args.artifact_dir, dashboard)?;
    print_report(&report, &args.artifact_dir, dashboard);
    Ok(())
}

fn print_report(report: &TrainReport, artifact_dir: &Path, dashboard: Dashboard) {
    // The dashboard's screen is gone once training ends: leave the epochs' figures behind.
    if dashboard == Dashboard::Auto && std::io::stdout().is_terminal() {
        print_epochs(artifact_dir);
    }
    if let Some(reason) = &report.stopped {
        println!("stopped early: {reason}");
    }
    for p in &report.pretrained {
        println!(
            "{} embeddings: {} words initialised from {}, {} missing (random init){}",
            p.side,
            p.found,
            p.path.display(),
            p.missing,
            if p.frozen { ", frozen" } else { "" }
        );
    }
    println!(
        "done: {} epochs in {:.1}s, kept {} | {} parameters | held-out BLEU {:.2} ({}), chrF {:.2}, exact match {:.2}% (n = {}) | artifacts in {}",
        report.epochs,
        report.train_seconds,
        report.kept,
        report.n_params,
        report.test.bleu,
        report.test.bleu_signature,
        report.test.chrf,
        100.0 * report.test.exact_match,
        report.test.n,
        artifact_dir.display()
    );
}

fn open(
    artifact_dir: &Path,
    device: &DeviceSpec,
    batch_size: usize,
    beam_width: usize,
    search: &SearchArgs,
) -> anyhow::Result<(Artifact, Translator)> {
    if beam_width == 0 {
        bail!("--beam must be at least 1");
    }
    let length_penalty = search.length_penalty().map_err(anyhow::Error::msg)?;
    let length_limit = search.length_limit().map_err(anyhow::Error::msg)?;
    let device = device.device().map_err(anyhow::Error::msg)?;
    let artifact = Artifact::open(artifact_dir)?;
    let translator = artifact
        .translator(&device)?
        .with_batch_size(batch_size)
        .with_beam_width(beam_width)
        .with_length_penalty(length_penalty)
        .with_length_limit(length_limit);
    Ok((artifact, translator))
}

fn run_export(args: ExportArgs) -> anyhow::Result<()> {
    let artifact = Artifact::open(&args.artifact_dir)?;
    let model = artifact.load_model(&burn::prelude::Device::flex())?;
    transduce_infer::artifact::export_safetensors(&model, &args.out)?;
    eprintln!(
        "wrote {} ({} parameters of a {} model)",
        args.out.display(),
        burn::module::Module::num_params(&model),
        artifact.config.model.arch()
    );
    Ok(())
}

fn run_attention(args: AttentionArgs) -> anyhow::Result<()> {
    let (_, translator) = open(&args.artifact_dir, &args.device, 1, args.beam, &args.search)?;
    let request = transduce_infer::inspect::MapRequest {
        layer: args.layer,
        head: args.head,
        grid: args.grid,
    };
    let maps = transduce_infer::inspect::attention_maps(&translator, &args.text, &request)?;
    transduce_train::heatmap::draw(&args.out, &maps.grid)?;
    let (width, height) = transduce_train::heatmap::picture_size(&maps.grid);
    println!("{}", maps.translation);
    eprintln!(
        "wrote {} ({width}x{height}): {} source and {} output tokens",
        args.out.display(),
        maps.source.len(),
        maps.output.len()
    );
    Ok(())
}

fn run_translate(args: TranslateArgs) -> anyhow::Result<()> {
    if let Some(n) = args.nbest
        && !(1..=args.beam).contains(&n)
    {
        bail!(
            "--nbest {n} needs --beam of at least {n} (it is {}), and --nbest at least 1",
            args.beam
        );
    }
    let (_, translator) = open(
        &args.artifact_dir,
        &args.device,
        args.batch_size,
        args.beam,
        &args.search,
    )?;
    if args.show_alignment && matches!(translator.model, transduce::nn::Model::Seq2seq(_)) {
        bail!("--show-alignment needs attention, and seq2seq (Sutskever et al. 2014) has none");
    }
    let (name, reader): (String, Box<dyn BufRead>) = match &args.input {
        Some(path) => {
            let file = std::fs::File::open(path)
                .with_context(|| format!("{}: cannot open", path.display()))?;
            (
                path.display().to_string(),
                Box::new(std::io::BufReader::new(file)),
            )
        }
        None => ("<stdin>".to_string(), Box::new(std::io::stdin().lock())),
    };
    let mut lines = Vec::new();
    for (i, line) in reader.split(b'\n').enumerate() {
        let bytes = line.with_context(|| format!("{name}: read error"))?;
        let bytes = bytes.strip_suffix(b"\r").unwrap_or(&bytes);
        match std::str::from_utf8(bytes) {
            Ok(text) => lines.push(text.to_string()),
            Err(e) => bail!(
                "{name}:{}: invalid UTF-8 at byte {}",
                i + 1,
                e.valid_up_to()
            ),
        }
    }
    let (ids, unknown) = translator.encode(&lines);
    warn_unknown(&name, unknown, ids.iter().map(Vec::len).sum());
    let progress = Progress::bar("translating", lines.len() as u64, "sentences");
    let lists = translator
        .decode_nbest_with(&ids, args.nbest.unwrap_or(1), &mut |n| progress.advance(n))
        .with_context(|| name.clone())?;
    drop(progress);
    // `\t` and the alignment column, when asked for.
    let aligned = |source: &[usize], h: &transduce::decode::Hypothesis| -> anyhow::Result<String> {
        if !args.show_alignment {
            return Ok(String::new());
        }
        let pairs = transduce_infer::inspect::alignment(&translator, source, h)?;
        let pairs: Vec<String> = pairs.iter().map(|(t, s)| format!("{t}→{s}")).collect();
        Ok(format!("\t{}", pairs.join(" ")))
    };
    let mut out = BufWriter::new(std::io::stdout().lock());
    for (index, list) in lists.iter().enumerate() {
        if args.nbest.is_none() {
            match list.first() {
                Some(h) => {
                    let text = translator.codec.decode_tgt(&h.tokens);
                    writeln!(out, "{text}{}", aligned(&ids[index], h)?)?;
                }
                None if args.show_alignment => writeln!(out, "\t")?,
                None => writeln!(out)?,
            }
            continue;
        }
        for h in list {
            let score = translator
                .length_penalty
                .normalise(h.score, h.tokens.len() + 1);
            let text = translator.codec.decode_tgt(&h.tokens);
            writeln!(
                out,
                "{index}\t{score:.4}\t{text}{}",
                aligned(&ids[index], h)?
            )?;
        }
    }
    out.flush()?;
    Ok(())
}

/// One line per epoch from `metrics.csv`: validation loss and scores, and the learning rate.
fn print_epochs(artifact_dir: &Path) {
    let Ok(csv) = std::fs::read_to_string(artifact_dir.join("metrics.csv")) else {
        return;
    };
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap_or_default().split(',').collect();
    let column = |row: &[&str], name: &str| -> f64 {
        header
            .iter()
            .position(|h| *h == name)
            .and_then(|i| row.get(i)?.parse().ok())
            .unwrap_or(f64::NAN)
    };
    for line in lines {
        let row: Vec<&str> = line.split(',').collect();
        println!(
            "epoch {} | train loss {:.4} | valid loss {:.4}, BLEU {:.2}, chrF {:.2}, exact match {:.2}% | lr {:.2e}",
            row.first().unwrap_or(&"?"),
            column(&row, "train_loss"),
            column(&row, "valid_loss"),
            column(&row, "valid_bleu"),
            column(&row, "valid_chrf"),
            column(&row, "valid_exact_match"),
            column(&row, "learning_rate"),
        );
    }
}

/// Warns once on stderr when the input holds tokens the model's vocabulary does not have (they
/// become `<unk>`, and the translation is unlikely to be meaningful).
fn warn_unknown(name: &str, unknown: usize, total: usize) {
    if unknown > 0 {
        eprintln!(
            "warning: {name}: {unknown} of {total} source tokens are not in the model's vocabulary and were read as <unk>"
        );
    }
}

fn run_eval(args: EvalArgs) -> anyhow::Result<()> {
    let (artifact, mut translator) = open(
        &args.artifact_dir,
        &args.device,
        args.batch_size,
        args.beam,
        &args.search,
    )?;
    if let Some(tokenize) = args.bleu_tokenize {
        translator = translator.with_bleu_tokenize(tokenize);
    }
    let (path, pairs) = match &args.test {
        // A file of raw pairs is oriented and normalised as training's data was.
        Some(path) => {
            let normalization = artifact.config.data.normalization();
            let pairs = transduce_data::read_tsv(path, false)?.0;
            let pairs = pairs.into_iter().map(|p| normalization.pair(p)).collect();
            (path.clone(), pairs)
        }
        None => artifact.held_out()?,
    };
    let progress = Progress::bar("evaluating", pairs.len() as u64, "sentences");
    let (report, _) = translator.evaluate_with(&pairs, &mut |n| progress.advance(n))?;
    drop(progress);
    warn_unknown(
        &path.display().to_string(),
        report.unknown_source_tokens,
        report.source_tokens,
    );
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        println!(
            "BLEU {:.2} ({}) | chrF {:.2} | exact match {:.2}% (n = {})",
            report.bleu,
            report.bleu_signature,
            report.chrf,
            100.0 * report.exact_match,
            report.n
        );
    }
    Ok(())
}
