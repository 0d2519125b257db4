//! `truthound`: the command line of [`truthound_cli`].

use std::process::ExitCode;

/// mimalloc keeps freed pages for reuse: the read's chunk, frame and column buffers come and go
/// by the hundred megabytes, and the system allocator's page faults cost a third of a snapshot.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc 3's `mi_option_purge_delay` (its place in `mi_option_e`, `mimalloc.h`): how long
/// freed memory stays committed before it is given back to the kernel (default 1000 ms).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

#[allow(unsafe_code)] // One call into mimalloc's C API.
fn main() -> ExitCode {
    // Never purge: buffers of a few megabytes are freed and allocated again all through a
    // read, on other threads, and purging gave back pages that the next buffers faulted in
    // again, zeroed by the kernel 2 MiB at a time (transparent huge pages): 6,500 to 12,700
    // page faults and 0.6 to 1.5 s of system time for 1M events, against 1,400 faults and
    // 0.4 to 0.5 s without. Memory stays at the process's peak, which the read bounds anyway.
    // SAFETY: setting an option is a plain store; mimalloc reads it when it would purge.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1) };
    truthound_cli::main_with_args(std::env::args_os())
}

#[cfg(test)]
mod tests {
    #[test]
    #[allow(unsafe_code)] // Calls into mimalloc's C API.
    fn the_purge_delay_option_is_mimallocs() {
        // The place of `mi_option_purge_delay` in mimalloc's option list: the option there
        // has the purge delay's default (1000 ms, `options.c`), and the value set is the value
        // read back.
        // SAFETY: reading and setting options are plain loads and stores.
        unsafe {
            assert_eq!(
                libmimalloc_sys::mi_option_get(super::MI_OPTION_PURGE_DELAY),
                1000
            );
            libmimalloc_sys::mi_option_set(super::MI_OPTION_PURGE_DELAY, -1);
            assert_eq!(
                libmimalloc_sys::mi_option_get(super::MI_OPTION_PURGE_DELAY),
                -1
            );
        }
    }
}
