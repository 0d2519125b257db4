//! `truthound`: the command line of [`truthound_cli`].

use std::process::ExitCode;

/// mimalloc keeps freed pages for reuse: the read's chunk, frame and column buffers come and go
/// by the hundred megabytes, and the system allocator's page faults cost a third of a snapshot.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    truthound_cli::main_with_args(std::env::args_os())
}
