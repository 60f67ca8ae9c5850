//! Sweeps: a grid file (a base config and the dimensions along which it varies) expanded into
//! cells, each trained by `nclab train` in its own run directory under `runs/<sweep>/<cell>/`;
//! finished cells are skipped and interrupted ones resumed, so a sweep can be stopped and
//! continued. The format and the study's grids are described in docs/study.md.

pub mod exec;
pub mod grid;
pub mod plan;
pub mod slurm;
pub mod table;

use std::path::{Path, PathBuf};

use grid::Grid;
use plan::PlannedCell;

/// The default sweep folder of a grid: `runs/<sweep name>`.
pub fn default_out(grid: &Grid) -> PathBuf {
    Path::new("runs").join(&grid.name)
}

/// Reads a grid file, expands and resolves its cells and reads their states under `out`
/// (default `runs/<sweep name>`). Nothing is written.
pub fn load_plan(
    grid_path: &Path,
    out: Option<&Path>,
) -> anyhow::Result<(Grid, PathBuf, Vec<PlannedCell>)> {
    let grid = Grid::load(grid_path)?;
    let cells = grid
        .cells()
        .map_err(|e| e.context(format!("grid file {}", grid_path.display())))?;
    let out = out.map_or_else(|| default_out(&grid), Path::to_path_buf);
    let planned = plan::plan(cells, &out);
    Ok((grid, out, planned))
}
