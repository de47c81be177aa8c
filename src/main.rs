use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = bantin::cli::Cli::parse();
    match bantin::cli::run(cli) {
        Ok(outcome) => outcome.exit_code(),
        Err(err) => {
            eprintln!("error: {err}");
            for cause in err.chain().skip(1) {
                eprintln!("  caused by: {cause}");
            }
            ExitCode::from(2)
        }
    }
}
