//! The one way every example reads its command line (clap, derive).
//!
//! * `--help` (and `-h`) prints the usage with every option and exits 0;
//! * a bad argument prints ONE line, `<program>: <what was wrong>`, and
//!   exits 2 (clap's own multi-line error is cut to its first line);
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
                let text = e.render().to_string();
                let line = text
                    .lines()
                    .find(|l| !l.trim().is_empty())
                    .unwrap_or("invalid arguments")
                    .trim()
                    .trim_start_matches("error: ");
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
