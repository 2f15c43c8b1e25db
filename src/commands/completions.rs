//! `completions`: the shell completion script, generated from the command
//! line's own definition, so every verb and flag is in it.

use std::io::Write;

use clap::{Args, CommandFactory};
use clap_complete::Shell;

use crate::cli::Cli;
use crate::error::{Error, Result};

/// Arguments of `completions`.
#[derive(Debug, Clone, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for
    #[arg(value_enum)]
    pub shell: Shell,
}

/// Writes the completion script for the chosen shell to `out` (plain
/// text, not JSON).
pub fn cmd_completions(args: &CompletionsArgs, out: &mut dyn Write) -> Result<()> {
    let mut command = Cli::command();
    let name = command.get_name().to_owned();
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut command, name.clone(), &mut script);
    if args.shell == Shell::Bash {
        script = mend_bash(&script, &name);
    }
    out.write_all(&script)
        .and_then(|()| out.flush())
        .map_err(Error::output)
}

/// Makes the bash script complete a verb's flags. For a command name with
/// a hyphen, clap_complete's bash script builds the state of the line as
/// `sqlite__graphrag__subcmd__<verb>` but labels the matching cases
/// `sqlite__subcmd__graphrag__subcmd__<verb>`, so no case ever matches and
/// only the verbs themselves complete; the labels are spelt back as the
/// state is.
fn mend_bash(script: &[u8], name: &str) -> Vec<u8> {
    let text = String::from_utf8_lossy(script);
    let state = name.replace('-', "__");
    let label = name.replace('-', "__subcmd__");
    text.replace(&format!("{label}__subcmd__"), &format!("{state}__subcmd__"))
        .into_bytes()
}
