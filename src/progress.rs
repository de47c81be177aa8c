//! Progress and logs on stderr. Bars are drawn only when stderr is a terminal and the user did
//! not ask for `--quiet`; `-v` lines (what was resolved from where) go to stderr either way.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;

#[derive(Debug, Clone)]
pub struct Progress {
    bars: bool,
    verbose: bool,
    quiet: bool,
}

impl Progress {
    pub fn new(quiet: bool, verbose: bool) -> Progress {
        Progress {
            bars: !quiet && std::io::stderr().is_terminal(),
            verbose,
            quiet,
        }
    }

    /// Silent: for library callers and tests.
    pub fn silent() -> Progress {
        Progress {
            bars: false,
            verbose: false,
            quiet: true,
        }
    }

    /// Whether bars are drawn (stderr is a terminal and not `--quiet`).
    pub fn bars(&self) -> bool {
        self.bars
    }

    pub fn verbose(&self) -> bool {
        self.verbose
    }

    /// A `-v` line.
    pub fn log(&self, msg: &str) {
        if self.verbose {
            self.print(&format!("bantin: {msg}"));
        }
    }

    /// Always shown unless `--quiet`.
    pub fn info(&self, msg: &str) {
        if !self.quiet {
            self.print(msg);
        }
    }

    /// Warnings are shown even with `--quiet`, unless the caller is a library (silent).
    pub fn warn(&self, msg: &str) {
        if self.verbose || !self.quiet || self.bars {
            self.print(&format!("warning: {msg}"));
        }
    }

    fn print(&self, msg: &str) {
        eprintln!("{msg}");
    }

    fn target(&self) -> ProgressDrawTarget {
        if self.bars {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        }
    }

    pub fn items(&self, len: u64, what: &str) -> ProgressBar {
        let bar = ProgressBar::with_draw_target(Some(len), self.target());
        bar.set_style(
            ProgressStyle::with_template("{msg:>12} [{bar:30}] {pos}/{len} ({per_sec}, eta {eta})")
                .expect("valid template")
                .progress_chars("=> "),
        );
        bar.set_message(what.to_string());
        bar
    }

    pub fn bytes(&self, len: Option<u64>, what: &str) -> ProgressBar {
        let bar = ProgressBar::with_draw_target(len, self.target());
        bar.set_style(
            ProgressStyle::with_template(
                "{msg} [{bar:30}] {bytes}/{total_bytes} ({bytes_per_sec}, eta {eta})",
            )
            .expect("valid template")
            .progress_chars("=> "),
        );
        bar.set_message(what.to_string());
        bar
    }

    pub fn spinner(&self, what: &str) -> ProgressBar {
        let bar = ProgressBar::with_draw_target(None, self.target());
        bar.set_style(ProgressStyle::with_template("{spinner} {msg} ({elapsed})").expect("valid"));
        bar.set_message(what.to_string());
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        bar
    }
}
