//! Ctrl-C during `nclab report`: the report stops before its next file and removes what it
//! had staged. In a test binary of its own, since the stop request is process-wide.
#![cfg(unix)]

use nclab_runs::report::{generate, Options};
use nclab_testkit::scratch;

#[test]
fn a_signal_stops_the_report_and_leaves_nothing() {
    let dir = scratch("report-interrupt");
    let run = dir.join("run");
    std::fs::create_dir_all(&run).unwrap();
    std::fs::write(run.join("config.toml"), "seed = 0\n[optim]\nepochs = 2\n").unwrap();
    std::fs::write(run.join("metrics.csv"), "epoch,nc1\n1,0.5\n2,0.25\n").unwrap();
    std::fs::write(run.join("summary.json"), r#"{"status": "finished"}"#).unwrap();
    let out = dir.join("new").join("report");

    // Without a request the report is written...
    let done = dir.join("done");
    generate(&Options::new(vec![run.clone()], done.clone())).unwrap();
    assert!(done.join("index.html").is_file());

    // ...with one (as the handler sets it on SIGINT), it stops before its first file.
    nclab_runs::interrupt::install();
    signal_hook::low_level::raise(signal_hook::consts::SIGINT).unwrap();
    let e = generate(&Options::new(vec![run], out.clone())).unwrap_err();
    assert_eq!(
        format!("{e:#}"),
        "stopped by SIGINT (Ctrl-C): no report was written"
    );
    // Neither the staging folder nor the folders made for --out are left.
    assert!(!dir.join("new").exists());
    std::fs::remove_dir_all(dir).unwrap();
}
