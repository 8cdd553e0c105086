//! The command line's logging: the library crates never print; they log through `log`, and the
//! `transduce` binary sends those records to stderr, filtered by `RUST_LOG` (env_logger's syntax,
//! e.g. `RUST_LOG=info` or `RUST_LOG=transduce_train=debug`; warnings and errors by default).
//! Training also copies `info` and above into burn-train's `experiment.log` (through `tracing`).

use log::{LevelFilter, Log, Metadata, Record};

/// The filter when `RUST_LOG` is not set: warnings and errors. burn-train warns that it cannot
/// install its own `log` bridge, which is expected here (this logger is the bridge), so that
/// module only shows errors.
pub const DEFAULT_FILTER: &str = "warn,burn_train::learner=error";

/// Installs the logger (once; later calls do nothing).
pub fn init() {
    let stderr =
        env_logger::Builder::from_env(env_logger::Env::default().default_filter_or(DEFAULT_FILTER))
            .build();
    let max = stderr.filter().max(LevelFilter::Info);
    let tee = Tee {
        stderr,
        tracer: tracing_log::LogTracer::new(),
    };
    if log::set_boxed_logger(Box::new(tee)).is_ok() {
        log::set_max_level(max);
    }
}

/// Sends each record to stderr (as `RUST_LOG` filters it) and to `tracing` (burn-train's
/// experiment log, when one is installed).
struct Tee {
    stderr: env_logger::Logger,
    tracer: tracing_log::LogTracer,
}

impl Log for Tee {
    fn enabled(&self, metadata: &Metadata) -> bool {
        self.stderr.enabled(metadata) || self.tracer.enabled(metadata)
    }

    fn log(&self, record: &Record) {
        if self.stderr.matches(record) {
            self.stderr.log(record);
        }
        if self.tracer.enabled(record.metadata()) {
            self.tracer.log(record);
        }
    }

    fn flush(&self) {
        self.stderr.flush();
        self.tracer.flush();
    }
}
