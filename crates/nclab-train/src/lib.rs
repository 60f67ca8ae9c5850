//! Training on libtorch, the one part of nclab that needs it: the networks ([`models`]), the
//! losses as tch modules ([`losses`]), SGD ([`optim`]), the data resident on the training
//! device ([`dataset`]), one epoch of steps ([`epoch`]), what is measured at an analysis epoch
//! ([`analysis`]), checkpoints ([`checkpoint`]), terminal progress ([`progress`]), and the
//! training loop that ties them into a run directory ([`trainer`]). The `nclab-train` binary
//! (which `nclab train` runs) is its command line. Configs and run directories are
//! `nclab_runs`'.

pub mod analysis;
pub mod checkpoint;
pub mod dataset;
pub mod epoch;
pub mod losses;
pub mod malloc;
pub mod models;
pub mod optim;
pub mod progress;
pub mod trainer;
