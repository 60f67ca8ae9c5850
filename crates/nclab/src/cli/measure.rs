//! `nclab measure` (not implemented yet; its issue fills this file).

#[derive(clap::Args, Debug)]
pub struct Args {}

pub fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("`nclab measure` is not implemented yet")
}
