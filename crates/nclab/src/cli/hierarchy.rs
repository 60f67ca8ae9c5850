//! `nclab hierarchy` (not implemented yet; its issue fills this file).

#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Placeholder until the issue lands.
    Todo,
}

pub fn run(_cmd: Command) -> anyhow::Result<()> {
    anyhow::bail!("`nclab hierarchy` is not implemented yet")
}
