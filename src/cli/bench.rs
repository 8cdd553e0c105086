//! `transduce bench`: training and decoding speed on fixed workloads.

use anyhow::bail;

use super::BenchArgs;
use crate::bench::Workload;

/// What `bench --workload` names: a matmul, the decoding sweep, or a training workload.
enum BenchJob {
    Peak,
    Decode,
    DecodeFamilies,
    Train(Workload),
}

/// Runs `transduce bench`.
pub fn run(args: BenchArgs) -> anyhow::Result<()> {
    if args.steps == 0 {
        bail!("--steps must be at least 1");
    }
    let workloads = args
        .workload
        .iter()
        .map(|name| match name.as_str() {
            "peak" => Ok(BenchJob::Peak),
            "decode" => Ok(BenchJob::Decode),
            "decode-families" => Ok(BenchJob::DecodeFamilies),
            name => Workload::named(name).map(BenchJob::Train),
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let device = args.device.device().map_err(anyhow::Error::msg)?;
    let name = args.device.to_string();
    for job in &workloads {
        let w = match job {
            BenchJob::Train(w) => w,
            BenchJob::Peak => {
                let gflops = crate::bench::peak_gflops(&device);
                if args.json {
                    let report = serde_json::json!({"workload": "peak", "device": name, "matmul_gflops": gflops});
                    println!("{report}");
                } else {
                    println!("peak on {name}: 2048x2048x2048 matmul at {gflops:.1} GFLOP/s");
                }
                continue;
            }
            BenchJob::DecodeFamilies => {
                for r in crate::bench::decode_families(&device, &name, &[16, 64, 256]) {
                    if args.json {
                        println!("{}", serde_json::to_string(&r)?);
                    } else {
                        println!(
                            "decode {} on {}: {} x {} tokens | greedy {:.3}s ({:.0} tokens/s) | beam 4 {:.3}s ({:.0} tokens/s)",
                            r.model,
                            r.device,
                            r.batch_size,
                            r.out_len,
                            r.greedy_s,
                            r.greedy_tokens_per_s,
                            r.beam4_s,
                            r.beam4_tokens_per_s
                        );
                    }
                }
                continue;
            }
            BenchJob::Decode => {
                for r in crate::bench::decode_sweep(&device, &name, &[16, 64, 256]) {
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
        let r = crate::bench::run(w, &device, &name, args.warmup, args.steps);
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
