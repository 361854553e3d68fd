//! The one way every example reads its command line (clap, derive).
//!
//! * `--help` (and `-h`) prints the usage with every option and exits 0;
//! * a bad argument prints ONE line, `<program>: <what was wrong>`, and
//!   exits 2 (clap's own multi-line error is folded into one line, with the
//!   arguments it names);
//! * [`fail`] is the same one-line exit 2 for mistakes found after parsing
//!   (an unreadable file, a malformed topology).
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

/// Prints `<program>: <message>` on one line to stderr and exits 2.
pub fn fail(message: impl std::fmt::Display) -> ! {
    let program = std::env::args()
        .next()
        .and_then(|p| {
            std::path::Path::new(&p)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
        })
        .unwrap_or_else(|| "example".to_owned());
    let message = message.to_string().replace('\n', " ");
    eprintln!("{program}: {message}");
    std::process::exit(2);
}
