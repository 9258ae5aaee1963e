//! The `dassl` binary: links the plugin crates and hands over to the library's CLI.

use std::process::ExitCode;

fn main() -> ExitCode {
    // Referencing each plugin crate keeps the linker from dropping its registrations.
    dassl_trainers::link();
    dassl_datasets::link();
    match dassl_rs::cli::run(std::env::args_os()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let code = e.exit_code();
            eprintln!("error: {:#}", anyhow::Error::new(e));
            ExitCode::from(code)
        }
    }
}
