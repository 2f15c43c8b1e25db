//! Command lines clap rejected: help and version as text, every other
//! failure as a whole message (clap's, without colours) with a stable exit
//! code. `slots exec` is a wrapper like timeout(1): its own parse errors go
//! to stderr only, as its other failures do (see
//! [`output::report_wrapper_error`]).

use std::ffi::OsString;
use std::fmt::Write as _;
use std::process::ExitCode;

use clap::CommandFactory;
use clap::error::ErrorKind as ClapErrorKind;

use crate::cli::Cli;
use crate::error::Error;
use crate::output;

/// What every usage error suggests.
const HINT: &str = "see `sqlite-graphrag --help`, or --help after the verb";

/// Handles a command line clap rejected; `args` is the line without the
/// program name.
///
/// Help and version are printed as text with exit 0. Anything else is a
/// usage error (invalid input for an argument that is not UTF-8) carrying
/// clap's whole message: as the JSON envelope, or for a `slots exec` line
/// on stderr only with exit 125.
pub fn parse_failure(err: clap::Error, args: &[OsString]) -> ExitCode {
    let error = match err.kind() {
        ClapErrorKind::DisplayHelp | ClapErrorKind::DisplayVersion => {
            let _ = err.print();
            return ExitCode::SUCCESS;
        }
        ClapErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let help = err.render().to_string();
            Error::usage(format!("a verb is required\n\n{}", help.trim_end()))
        }
        ClapErrorKind::MissingSubcommand if verb_words(args).is_empty() => {
            let help = Cli::command().render_help().to_string();
            Error::usage(format!("a verb is required\n\n{}", help.trim_end()))
        }
        ClapErrorKind::InvalidUtf8 => Error::invalid(non_utf8_message(args)),
        _ => Error::usage(clap_message(&err)),
    }
    .with_hint(HINT);
    if names_slots_exec(args) {
        output::report_wrapper_error(&error, false)
    } else {
        output::report_error(&error, false)
    }
}

/// Returns clap's whole message as plain text, without its `error: `
/// prefix and its closing pointer to `--help` (the hint says that).
fn clap_message(err: &clap::Error) -> String {
    let rendered = err.render().to_string();
    let text = rendered.strip_prefix("error: ").unwrap_or(&rendered);
    let text = text.trim_end();
    let text = text
        .strip_suffix("For more information, try '--help'.")
        .unwrap_or(text);
    text.trim_end().to_owned()
}

/// Returns whether the command line runs `slots exec`.
fn names_slots_exec(args: &[OsString]) -> bool {
    verb_words(args) == ["slots", "exec"]
}

/// Returns the first two words of the command line that are neither
/// options nor option values: the verb and the sub-verb, as far as given
/// (none if a word is not UTF-8).
fn verb_words(args: &[OsString]) -> Vec<&str> {
    let command = Cli::command();
    let long_takes_value = |name: &str| {
        command
            .get_arguments()
            .any(|a| a.get_long() == Some(name) && a.get_action().takes_values())
    };
    let short_takes_value = |name: char| {
        command
            .get_arguments()
            .any(|a| a.get_short() == Some(name) && a.get_action().takes_values())
    };
    let mut words = Vec::new();
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        let Some(text) = arg.to_str() else {
            return Vec::new();
        };
        if text == "--" {
            break;
        }
        let takes_next = if let Some(long) = text.strip_prefix("--") {
            !long.contains('=') && long_takes_value(long)
        } else if let Some(shorts) = text.strip_prefix('-').filter(|s| !s.is_empty()) {
            // A value-taking short flag takes the rest of the word, or the next word.
            let mut chars = shorts.chars();
            loop {
                match chars.next() {
                    None => break false,
                    Some(c) if short_takes_value(c) => break chars.as_str().is_empty(),
                    Some(_) => {}
                }
            }
        } else {
            words.push(text);
            if words.len() == 2 {
                break;
            }
            false
        };
        if takes_next {
            rest.next();
        }
    }
    words
}

/// Names the first argument that is not valid UTF-8: the option it is the
/// value of, or its position, with its bytes shown (invalid ones escaped).
fn non_utf8_message(args: &[OsString]) -> String {
    let Some(at) = args.iter().position(|a| a.to_str().is_none()) else {
        return "an argument is not valid UTF-8".to_owned();
    };
    let bytes = args[at].as_encoded_bytes();
    if bytes.starts_with(b"--")
        && let Some(eq) = bytes.iter().position(|&b| b == b'=')
        && let Ok(option) = std::str::from_utf8(&bytes[..eq])
    {
        let shown = escape_invalid_utf8(&bytes[eq + 1..]);
        return format!("the value of {option} is not valid UTF-8: {shown:?}");
    }
    let shown = escape_invalid_utf8(bytes);
    let option = at
        .checked_sub(1)
        .and_then(|before| args[before].to_str())
        .filter(|before| before.starts_with('-') && *before != "--" && !before.contains('='));
    match option {
        Some(option) => format!("the value of {option} is not valid UTF-8: {shown:?}"),
        None => format!("argument {} is not valid UTF-8: {shown:?}", at + 1),
    }
}

/// Returns `bytes` as text, each byte that is not part of valid UTF-8 written as `\xNN`.
fn escape_invalid_utf8(bytes: &[u8]) -> String {
    let mut text = String::new();
    for chunk in bytes.utf8_chunks() {
        text.push_str(chunk.valid());
        for byte in chunk.invalid() {
            let _ = write!(text, "\\x{byte:02x}");
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(words: &[&str]) -> Vec<OsString> {
        words.iter().map(OsString::from).collect()
    }

    #[test]
    fn finds_slots_exec_among_global_options() {
        for yes in [
            &["slots", "exec"][..],
            &["slots", "exec", "--max", "0", "--", "true"],
            &["--db", "x", "slots", "-v", "exec"],
            &["--db=x", "slots", "--namespace", "slots", "exec", "--nope"],
            &["-vq", "slots", "--runtime-dir", "/r", "exec"],
        ] {
            assert!(names_slots_exec(&line(yes)), "{yes:?}");
        }
        for no in [
            &[][..],
            &["slots"],
            &["slots", "status"],
            &["--db", "slots", "exec"],
            &["remember", "slots", "exec"],
            &["--", "slots", "exec"],
            &["--namespace", "exec", "slots", "status"],
        ] {
            assert!(!names_slots_exec(&line(no)), "{no:?}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn names_the_argument_that_is_not_utf8() {
        use std::os::unix::ffi::OsStringExt;
        let bad = || OsString::from_vec(b"caf\xe9".to_vec());
        let mut args = line(&["remember", "--name", "x", "--body"]);
        args.push(bad());
        assert_eq!(
            non_utf8_message(&args),
            r#"the value of --body is not valid UTF-8: "caf\\xe9""#
        );
        let mut args = line(&["read"]);
        args.push(bad());
        assert_eq!(
            non_utf8_message(&args),
            r#"argument 2 is not valid UTF-8: "caf\\xe9""#
        );
        let args = vec![
            OsString::from("search"),
            OsString::from_vec(b"--type=\xff".to_vec()),
        ];
        assert_eq!(
            non_utf8_message(&args),
            r#"the value of --type is not valid UTF-8: "\\xff""#
        );
    }
}
