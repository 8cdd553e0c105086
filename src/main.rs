//! The `transduce` command: train, translate, evaluate, score, inspect (see [`transduce::cli`]).

use clap::Parser;
use transduce::cli::Cli;

fn main() -> anyhow::Result<()> {
    transduce::allocator::tune();
    transduce::logging::init();
    let cli = Cli::parse();
    if let Some(device) = cli.device() {
        // SAFETY: no other thread exists yet; the worker starts below.
        unsafe { transduce::device::pin_default(&device) };
    }
    transduce::threads::on_worker(|| transduce::cli::run(cli))
}
