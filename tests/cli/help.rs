//! `sequencer --help` and every subcommand's `--help`, and `sequencer completions`. The
//! subcommands are read from the clap definition (`Cli::command()`), so one added later is
//! covered without touching these tests.

use clap::CommandFactory;
use sequencer::cli::Cli;

use crate::support::Scratch;

/// Every command path: `[]` for `sequencer` itself, then `["run"]`, ... and nested ones.
fn command_paths() -> Vec<Vec<String>> {
    fn walk(cmd: &clap::Command, path: &[String], out: &mut Vec<Vec<String>>) {
        out.push(path.to_vec());
        for sub in cmd.get_subcommands() {
            let mut path = path.to_vec();
            path.push(sub.get_name().to_owned());
            walk(sub, &path, out);
        }
    }
    let mut out = Vec::new();
    walk(&Cli::command(), &[], &mut out);
    out
}

/// The subcommand at `path` in the clap definition.
fn find<'a>(cmd: &'a clap::Command, path: &[String]) -> &'a clap::Command {
    path.iter().fold(cmd, |cmd, name| {
        cmd.find_subcommand(name)
            .unwrap_or_else(|| panic!("no subcommand `{name}`"))
    })
}

/// `--help` of `sequencer` and of each subcommand exits 0 and is complete: it says what the
/// command does, every argument and flag has a description, and an `Example` section shows
/// at least one `sequencer ...` command line.
#[test]
fn every_help_is_complete_with_an_example() {
    let scratch = Scratch::new();
    let cli = Cli::command();
    let paths = command_paths();
    assert!(paths.len() > 5, "subcommands found: {paths:?}");
    for path in paths {
        let name = format!("sequencer {}", path.join(" "));
        let cmd = find(&cli, &path);
        assert!(
            cmd.get_about().is_some(),
            "`{name}` has no description (a `///` line on its variant)"
        );
        for arg in cmd.get_arguments() {
            assert!(
                arg.get_help().is_some(),
                "`{name}`: argument `{}` has no help text",
                arg.get_id()
            );
        }
        let mut args = path.clone();
        args.push("--help".into());
        let out = scratch.sequencer(&args);
        assert_eq!(out.code(), 0, "{name} --help\n{out}");
        let lines: Vec<&str> = out.stdout.lines().collect();
        let section = lines
            .iter()
            .position(|l| l.starts_with("Example"))
            .unwrap_or_else(|| panic!("`{name} --help` has no Example section\n{out}"));
        assert!(
            lines[section + 1..]
                .iter()
                .take_while(|l| !l.is_empty())
                .any(|l| l.trim_start().starts_with("sequencer ")),
            "`{name} --help`: its Example section shows no `sequencer ...` line\n{out}"
        );
    }
}

/// `sequencer completions SHELL` prints a script for each supported shell; the bash script
/// completes every subcommand (a `case` branch per subcommand).
#[test]
fn completions_cover_every_subcommand() {
    let scratch = Scratch::new();
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let out = scratch.sequencer(["completions", shell]);
        assert_eq!(out.code(), 0, "completions {shell}\n{out}");
        assert!(
            out.stdout.contains("sequencer"),
            "completions {shell}: no script\n{out}"
        );
    }
    let bash = scratch.sequencer(["completions", "bash"]).stdout;
    for sub in Cli::command().get_subcommands() {
        let name = sub.get_name();
        assert!(
            bash.contains(&format!("sequencer,{name})")),
            "the bash completions do not complete `{name}`"
        );
    }
    let out = scratch.sequencer(["completions", "tcsh"]);
    assert_eq!(out.code(), 2, "an unknown shell is a usage error\n{out}");
}
