//! `cabinet`: the command line (see [`api::cli`]).

/// mimalloc instead of the system allocator: glibc's per-thread arenas kept the server's peak RSS above the
/// 150 MB budget and spent a tenth of a command's CPU in `malloc`/`free` (issue 24; docs/performance.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> anyhow::Result<()> {
    api::cli::main()
}
