fn main() -> std::process::ExitCode {
    limit_malloc_arenas();
    exampost::cli::run()
}

/// glibc gives a thread that allocates while another holds the lock an arena
/// of its own, up to eight per core, and an arena keeps the memory it once
/// held. Measured with the benchmark harness (2 cores, SQLite, 100,000 items):
/// peak RSS 188 MB with glibc's default, 144 MB with four arenas, throughput
/// the same within the run-to-run noise. Two per core, unless the operator
/// set `MALLOC_ARENA_MAX` (glibc reads it itself).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn limit_malloc_arenas() {
    if std::env::var_os("MALLOC_ARENA_MAX").is_some() {
        return;
    }
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let arenas = libc::c_int::try_from(2 * cores).unwrap_or(libc::c_int::MAX);
    // SAFETY: mallopt only sets one of malloc's tuning parameters; it runs
    // first in `main`, before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, arenas);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn limit_malloc_arenas() {}
