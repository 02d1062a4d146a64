// burn's CPU backend allocates a fresh buffer per tensor op; with glibc every one of
// ≥128 KiB is a new mmap that page-faults on first touch, which cost more than the
// arithmetic (4-5× on a 64² spectral layer). mimalloc keeps and reuses those pages.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    // `closure-lab bench --json | head`: end quietly when the reader goes away, as Unix
    // tools do, instead of panicking on the closed pipe (Rust ignores SIGPIPE by default)
    #[cfg(unix)]
    // SAFETY: restoring the default disposition of a signal before any thread starts
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    closure_lab::cli::main()
}
