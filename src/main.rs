// burn's CPU backend allocates a fresh buffer per tensor op; with glibc every one of
// ≥128 KiB is a new mmap that page-faults on first touch, which cost more than the
// arithmetic (4-5× on a 64² spectral layer). mimalloc keeps and reuses those pages.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    closure_lab::cli::main()
}
