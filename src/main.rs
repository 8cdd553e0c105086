//! The `transduce` command: train, translate, evaluate, score, inspect (see [`transduce::cli`]).

use clap::Parser;
use transduce::cli::Cli;

fn main() -> anyhow::Result<()> {
    transduce::allocator::tune();
    transduce::logging::init();
    let cli = Cli::parse();
    transduce::threads::on_worker(|| transduce::cli::run(cli))
}
