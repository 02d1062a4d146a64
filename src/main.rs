fn main() -> std::process::ExitCode {
    closure_lab::cli::main()
}
