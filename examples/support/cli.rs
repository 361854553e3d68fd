//! The one way every example reads its command line (clap, derive).
//!
//! * `--help` (and `-h`) prints the usage with every option and exits 0;
//! * a bad argument prints ONE line, `<program>: <what was wrong>`, and
//!   exits 2 (clap's own multi-line error is folded into one line, with the
//!   arguments it names);
//! * [`fail`] is the same one-line exit 2 for mistakes found after parsing
//!   (an unreadable file, a malformed topology);
//! * [`Progress`] shows how far a run is on stderr once it has taken more
//!   than a second (stdout keeps only the results).
//!
//! Include it with `#[path = "support/cli.rs"] mod cli;`.

#![allow(dead_code)]

use clap::Parser;
use clap::error::ErrorKind;

/// Parses the process arguments into `T`, or exits as described above.
pub fn parse<T: Parser>() -> T {
    match T::try_parse() {
        Ok(args) => args,
        Err(e) => match e.kind() {
            ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
                // Help goes to stdout; a closed stdout is not worth a panic.
                let _ = e.print();
                std::process::exit(0);
            }
            _ => {
                // clap's message is several lines (what was wrong, maybe the
                // missing arguments, a tip, the usage); keep what was wrong
                // and the arguments it names, on one line.
                let text = e.render().to_string();
                let what: Vec<&str> = text
                    .lines()
                    .map(str::trim)
                    .take_while(|l| !l.starts_with("Usage:") && !l.starts_with("For more"))
                    .filter(|l| !l.is_empty() && !l.starts_with("tip:"))
                    .collect();
                let line = what.join(" ");
                let line = line.trim_start_matches("error: ");
                let line = if line.is_empty() {
                    "invalid arguments"
                } else {
                    line
                };
                fail(format_args!("{line} (try --help)"));
            }
        },
    }
}

/// The program's file name (`example` if the OS gives none).
pub fn program() -> String {
    std::env::args()
        .next()
        .and_then(|p| {
            std::path::Path::new(&p)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
        })
        .unwrap_or_else(|| "example".to_owned())
}

/// Prints `<program>: <message>` on one line to stderr and exits 2.
pub fn fail(message: impl std::fmt::Display) -> ! {
    let message = message.to_string().replace('\n', " ");
    eprintln!("{}: {message}", program());
    std::process::exit(2);
}

/// Progress of a long run on stderr: `<program>: <status>, <elapsed> s`.
///
/// Nothing during the first second (a short run stays quiet); then, on a
/// terminal, one line rewritten in place every second (ended by
/// [`Progress::finish`] or on drop), and elsewhere (a log, a pipe) one
/// line every ten seconds. Call [`Progress::tick`] as often as convenient:
/// it costs one clock read and builds the status only when a line is due.
pub struct Progress {
    start: std::time::Instant,
    next: std::time::Instant,
    terminal: bool,
    shown: bool,
}

impl Progress {
    /// Starts the clock.
    pub fn new() -> Self {
        use std::io::IsTerminal;
        let start = std::time::Instant::now();
        Progress {
            start,
            next: start + std::time::Duration::from_secs(1),
            terminal: std::io::stderr().is_terminal(),
            shown: false,
        }
    }

    /// Shows `status()` if a line is due.
    pub fn tick(&mut self, status: impl FnOnce() -> String) {
        let now = std::time::Instant::now();
        if now < self.next {
            return;
        }
        let every = if self.terminal { 1 } else { 10 };
        self.next = now + std::time::Duration::from_secs(every);
        let line = format!(
            "{}: {}, {:.0} s",
            program(),
            status(),
            (now - self.start).as_secs_f64()
        );
        if self.terminal {
            // Back to the start of the line, clear it, write the new status.
            eprint!("\r\x1b[K{line}");
        } else {
            eprintln!("{line}");
        }
        self.shown = true;
    }

    /// Ends the rewritten line, if one was shown on a terminal.
    pub fn finish(&mut self) {
        if self.terminal && self.shown {
            eprintln!();
        }
        self.shown = false;
    }
}

impl Default for Progress {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}
