fn main() -> std::process::ExitCode {
    exampost::cli::run()
}
