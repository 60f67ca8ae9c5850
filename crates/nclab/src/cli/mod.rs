//! Command-line interface: one file per subcommand.

use clap::{Parser, Subcommand};

mod data;
mod evaluate;
mod hierarchy;
mod measure;
mod output;
mod report;
mod sweep;

use nclab_runs::train_args;

/// nclab: neural collapse under hierarchical losses.
#[derive(Parser, Debug)]
#[command(name = "nclab", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Measure NC1-NC4 and their companions on exported features (.npy or .safetensors).
    Measure(Box<measure::Args>),
    /// Show, convert and query class hierarchies.
    #[command(subcommand)]
    Hierarchy(hierarchy::Command),
    /// Score predictions with the hierarchy: top-k error, mistake severity, hdist@k, CRM.
    Evaluate(evaluate::Args),
    /// Set up and check datasets.
    #[command(subcommand)]
    Data(data::Command),
    /// Train a model from a TOML config, tracking neural collapse through training.
    Train(train_args::Args),
    /// Figures, tables and an HTML report over run directories.
    Report(report::Args),
    /// Expand a grid of configs into runs and run them.
    Sweep(sweep::Args),
}

pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Measure(args) => measure::run(*args),
        Command::Hierarchy(cmd) => hierarchy::run(cmd),
        Command::Evaluate(args) => evaluate::run(args),
        Command::Data(cmd) => data::run(cmd),
        Command::Train(_) => run_sibling("nclab-train", 2),
        Command::Report(args) => report::run(args),
        Command::Sweep(args) => sweep::run(args),
    }
}

/// Runs the binary `name` installed beside this one with the command line after its first
/// `skip` words (`nclab train ARGS...` -> `nclab-train ARGS...`): on Unix it replaces this
/// process (signals and the exit status go straight to it), elsewhere it runs as a child whose
/// exit status this process passes on.
fn run_sibling(name: &str, skip: usize) -> anyhow::Result<()> {
    let me = std::env::current_exe()?;
    let path = me.with_file_name(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    let mut cmd = std::process::Command::new(&path);
    cmd.args(std::env::args_os().skip(skip));
    let missing = |err: std::io::Error| {
        anyhow::anyhow!(
            "cannot run {} ({err}); it is built with nclab (`cargo build --release` builds both)",
            path.display()
        )
    };
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        Err(missing(cmd.exec()))
    }
    #[cfg(not(unix))]
    {
        let status = cmd.status().map_err(missing)?;
        std::process::exit(status.code().unwrap_or(1));
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    /// `(command path, argument id)` of every argument and subcommand without help text.
    fn missing_help(cmd: &clap::Command, path: &str, out: &mut Vec<String>) {
        for arg in cmd.get_arguments() {
            let id = arg.get_id().as_str();
            if id == "help" || id == "version" {
                continue;
            }
            let text = arg.get_help().map(|h| h.to_string()).unwrap_or_default();
            if text.trim().is_empty() {
                out.push(format!("{path} {id}"));
            }
        }
        for sub in cmd.get_subcommands() {
            let sub_path = format!("{path} {}", sub.get_name());
            if sub
                .get_about()
                .is_none_or(|a| a.to_string().trim().is_empty())
            {
                out.push(sub_path.clone());
            }
            missing_help(sub, &sub_path, out);
        }
    }

    #[test]
    fn every_flag_and_command_has_help() {
        let mut missing = Vec::new();
        missing_help(&super::Cli::command(), "nclab", &mut missing);
        assert!(missing.is_empty(), "no help text: {missing:?}");
    }
}
