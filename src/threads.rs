//! Where the process's own code runs relative to the CPU backends' thread pool.
//!
//! burn-flex, `gemm` and our host kernels split their work over rayon's global pool. Called from
//! the main thread, every parallel operation hands its work to the pool's workers and puts the
//! main thread to sleep until they finish: two wake-ups per operation, and a training step has
//! thousands. Run from one of the pool's own workers instead, an operation splits its work
//! between that worker and the others, which is what OpenMP does for PyTorch. On 2 cores, W1's
//! and W2's training steps took about 5% less time that way (`STEPS=12 cargo run --release
//! --example train_phases -- w1`, with and without `IN_POOL=1`, alternating).

/// Stack size of the pool's workers: the main thread's usual 8 MiB, since [`on_worker`] runs
/// the whole program on one of them (rayon's default is 2 MiB).
const STACK_BYTES: usize = 8 << 20;

/// Runs `f` on a worker of rayon's global pool, building the pool first with 8 MiB
/// stacks (its size still follows `RAYON_NUM_THREADS`, or the number of CPUs). If the global
/// pool was already built, `f` runs on that pool's worker all the same.
pub fn on_worker<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    // An error only means the pool exists already, which is fine.
    let _ = rayon::ThreadPoolBuilder::new()
        .stack_size(STACK_BYTES)
        .build_global();
    rayon::scope(|_| f())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_on_a_worker_of_the_global_pool_and_returns_the_result() {
        assert_eq!(rayon::current_thread_index(), None);
        let (index, value) = on_worker(|| (rayon::current_thread_index(), 6 * 7));
        assert!(index.is_some(), "ran outside the pool");
        assert_eq!(value, 42);
        // Nested parallel work from the worker completes (the worker takes part in it).
        let sum: u64 = on_worker(|| {
            use rayon::prelude::*;
            (1..=1000u64).into_par_iter().sum()
        });
        assert_eq!(sum, 500_500);
    }
}
