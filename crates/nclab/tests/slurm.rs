//! Tests of `nclab sweep --emit slurm`: the script's directives, its tasks run with bash
//! against a stand-in trainer (and a stand-in `scontrol` that records how it was called):
//! skip, resume, a failing task, SIGUSR1 (stop and requeue), SIGTERM, a duplicate task that
//! meets the run directory's lock, the GPU check; the options' errors and the threads
//! warning. scripts/slurm-test.sh runs the script on a real Slurm cluster.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use nclab_runs::config::Config;
use nclab_runs::sweep::load_plan;
use nclab_runs::sweep::plan::PlannedCell;
use nclab_runs::sweep::slurm::{self, SlurmOptions};

use nclab_testkit::scratch;

fn make_executable(path: &Path, text: &str) {
    fs::write(path, text).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(path, fs::Permissions::from_mode(0o755)).unwrap();
    }
}

/// A stand-in for `nclab`: records its calls in `DIR/calls`. `FAKE_MODE` picks what it does:
/// unset, it trains at once (the cell of seed 1 fails with status 3) and writes a summary
/// whose device is `$FAKE_DEVICE` (default cpu); `sleep` starts a run, writes its pid to
/// `DIR/trainer.pid` and waits for SIGTERM (then status interrupted, exit 143); `locked`
/// fails as `nclab train` does on a run directory another process holds.
fn fake_trainer(dir: &Path) -> PathBuf {
    let d = dir.display();
    let script = format!(
        r#"#!/bin/bash
echo "threads=$OMP_NUM_THREADS $*" >> '{d}/calls'
cfg="$2"; out="$4"
summary() {{
  echo "{{\"status\": \"$1\", \"epochs\": 3, \"device\": \"${{FAKE_DEVICE:-cpu}}\"}}" > "$out/summary.json"
}}
case "${{FAKE_MODE:-}}" in
  locked)
    echo "error: $out is in use by nclab train, pid 4242 ($out/.nclab.lock)" >&2
    exit 1 ;;
  sleep)
    mkdir -p "$out"; cp "$cfg" "$out/config.toml"
    trap 'echo "got TERM" >> "{d}/calls"; echo "stopped by SIGTERM"; summary interrupted; exit 143' TERM
    echo $$ > '{d}/trainer.pid'
    while :; do sleep 0.05; done ;;
esac
if grep -q '^seed = 1$' "$cfg"; then echo "boom: seed 1 is cursed" >&2; exit 3; fi
mkdir -p "$out"
cp "$cfg" "$out/config.toml"
summary finished
echo "trained $out"
"#
    );
    let path = dir.join("fake-nclab");
    make_executable(&path, &script);
    // `scontrol`, for the task that requeues itself.
    fs::create_dir_all(dir.join("bin")).unwrap();
    make_executable(
        &dir.join("bin/scontrol"),
        &format!("#!/bin/bash\necho \"$*\" >> '{d}/scontrol-calls'\n"),
    );
    path
}

/// The shared tiny config (threads 1, device `device`) with a seed axis: 3 cells.
fn tiny_grid(dir: &Path, device: &str) -> PathBuf {
    let text =
        nclab_testkit::TINY_CONFIG.replace("device = \"cpu\"", &format!("device = {device:?}"));
    assert!(text.contains(&format!("device = {device:?}")));
    let path = dir.join("tiny.toml");
    fs::write(&path, format!("{text}[axes]\nseed = [0, 1, 2]\n")).unwrap();
    path
}

fn options(out: &Path) -> SlurmOptions {
    SlurmOptions {
        name: "tiny".into(),
        out: out.to_path_buf(),
        chdir: PathBuf::from("/home/me/project"),
        exe: PathBuf::from("/opt/nclab/bin/nclab"),
        cpus_per_task: 8,
        max_parallel: Some(2),
        gpus: 0,
        grace_s: 90,
        extra: vec!["--partition=gpu".into(), "--time=12:00:00".into()],
    }
}

fn plan(dir: &Path, device: &str) -> (PathBuf, Vec<PlannedCell>) {
    let grid = tiny_grid(dir, device);
    let out = dir.join("runs");
    let (_, _, cells) = load_plan(&grid, Some(&out)).unwrap();
    (out, cells)
}

/// Starts array task `id` of the script with bash, the stand-in trainer as `$NCLAB` and the
/// stand-in `scontrol` first on the PATH.
fn start_task(script: &Path, dir: &Path, id: usize, env: &[(&str, &str)]) -> Child {
    let path = format!(
        "{}:{}",
        dir.join("bin").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut cmd = Command::new("bash");
    cmd.arg(script)
        .env("NCLAB", dir.join("fake-nclab"))
        .env("PATH", path)
        .env("SLURM_ARRAY_TASK_ID", id.to_string())
        .env("SLURM_CPUS_PER_TASK", "3")
        .env_remove("SLURM_ARRAY_JOB_ID")
        .env_remove("SLURM_JOB_ID")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.spawn().unwrap()
}

fn run_task(script: &Path, dir: &Path, id: usize, env: &[(&str, &str)]) -> (Option<i32>, String) {
    let out = start_task(script, dir, id, env).wait_with_output().unwrap();
    (out.status.code(), text(&out))
}

/// stdout then stderr.
fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn the_script_has_every_directive_with_absolute_paths() {
    let dir = scratch("directives");
    let (out, cells) = plan(&dir, "auto");
    let path = slurm::emit(&cells, &options(&out)).unwrap();
    assert_eq!(path, out.join("sweep.sbatch"));
    let text = read(&path);
    let o = out.display();
    let directives: Vec<&str> = text.lines().filter(|l| l.starts_with("#SBATCH")).collect();
    assert_eq!(
        directives,
        [
            "#SBATCH --job-name=nclab-tiny".to_string(),
            "#SBATCH --array=0-2%2".into(),
            "#SBATCH --cpus-per-task=8".into(),
            "#SBATCH --chdir=/home/me/project".into(),
            format!("#SBATCH --output={o}/slurm-%A_%a.out"),
            "#SBATCH --open-mode=append".into(),
            "#SBATCH --requeue".into(),
            "#SBATCH --signal=B:USR1@90".into(),
            "#SBATCH --dependency=singleton".into(),
            "#SBATCH --partition=gpu".into(),
            "#SBATCH --time=12:00:00".into(),
        ]
    );
    for line in [
        "#!/bin/bash".to_string(),
        "NCLAB_DEFAULT='/opt/nclab/bin/nclab'".into(),
        "NCLAB=\"${NCLAB:-$NCLAB_DEFAULT}\"".into(),
        format!("SWEEP_DIR='{o}'"),
        "GPUS=0".into(),
        "export OMP_NUM_THREADS=\"${SLURM_CPUS_PER_TASK:-8}\"".into(),
        "trap 'stop_trainer USR1' USR1".into(),
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "no line {line:?} in:\n{text}"
        );
    }
    // The trainer runs in the background, waited for, so that the trap fires at once.
    assert!(text.contains("--quiet >>\"$LOG\" 2>&1 &\nTRAINER=$!\n"));
    assert!(text.contains("scontrol requeue \"$SLURM_JOB_ID\""));
    // The cells in grid order: task i is cell i.
    let listed: Vec<&str> = text
        .lines()
        .skip_while(|l| *l != "CELLS=(")
        .skip(1)
        .take_while(|l| *l != ")")
        .collect();
    assert_eq!(listed, ["  'seed=0'", "  'seed=1'", "  'seed=2'"]);
    // Every #SBATCH line comes before the first command (sbatch stops reading them there).
    let first_cmd = text.lines().position(|l| l == "set -u").unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let last_directive = lines
        .iter()
        .rposition(|l| l.starts_with("#SBATCH"))
        .unwrap();
    assert!(last_directive < first_cmd);
    for c in &cells {
        assert_eq!(Config::load(&c.config_path, &[]).unwrap(), c.cell.config);
    }
    // GPUs: one more directive; no throttle without --jobs.
    let opts = SlurmOptions {
        gpus: 2,
        max_parallel: None,
        ..options(&out)
    };
    let text = slurm::script(&cells, &opts);
    assert!(text.lines().any(|l| l == "#SBATCH --gres=gpu:2"), "{text}");
    assert!(text.lines().any(|l| l == "GPUS=2"));
    assert!(text.lines().any(|l| l == "#SBATCH --array=0-2"), "{text}");
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_task_trains_skips_resumes_and_keeps_its_own_log() {
    let dir = scratch("tasks");
    let (out, cells) = plan(&dir, "cpu");
    let script = slurm::emit(&cells, &options(&out)).unwrap();
    fake_trainer(&dir);
    let o = out.display();
    let calls = || fs::read_to_string(dir.join("calls")).unwrap_or_default();
    let (code, _) = run_task(&script, &dir, 0, &[("SLURM_ARRAY_JOB_ID", "41")]);
    assert_eq!(code, Some(0));
    assert_eq!(
        calls(),
        format!("threads=3 train {o}/seed=0.toml --out {o}/seed=0 --quiet\n")
    );
    // The task's log, named by job and task, is kept, and copied into the run directory.
    let log = read(&out.join("logs/seed=0.41_0.log"));
    assert_eq!(log, format!("trained {o}/seed=0\n"));
    assert_eq!(read(&out.join("seed=0/train.log")), log);
    // Again: finished, so the trainer is not called.
    let (code, stdout) = run_task(&script, &dir, 0, &[]);
    assert_eq!(
        (code, stdout.trim()),
        (Some(0), "cell seed=0: already done")
    );
    assert_eq!(calls().lines().count(), 1);
    // Task 1 fails: the script exits with the trainer's status, its log kept.
    let (code, stdout) = run_task(&script, &dir, 1, &[]);
    assert_eq!(code, Some(3));
    assert!(
        stdout.contains("the trainer ended with status 3"),
        "{stdout}"
    );
    assert!(read(&out.join("logs/seed=1.local_1.log")).contains("boom"));
    // Task 2 with a run directory holding its config (a killed run): resumed.
    fs::create_dir_all(out.join("seed=2")).unwrap();
    fs::copy(&cells[2].config_path, out.join("seed=2/config.toml")).unwrap();
    let (code, _) = run_task(&script, &dir, 2, &[]);
    assert_eq!(code, Some(0));
    assert_eq!(
        calls().lines().last().unwrap(),
        format!("threads=3 train {o}/seed=2.toml --out {o}/seed=2 --resume --quiet")
    );
    // No task outside the array.
    let (code, stdout) = run_task(&script, &dir, 3, &[]);
    assert_eq!(code, Some(2));
    assert!(
        stdout.contains("array task 3, but the sweep has 3 cells"),
        "{stdout}"
    );
    fs::remove_dir_all(&dir).unwrap();
}

/// Waits (at most 20 s) until `path` exists.
fn wait_for_file(path: &Path) {
    let start = Instant::now();
    while !path.exists() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "{} did not appear",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn signal(pid: u32, sig: &str) {
    let ok = Command::new("kill")
        .args([&format!("-{sig}"), &pid.to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill -{sig} {pid}");
}

#[test]
fn sigusr1_stops_the_trainer_and_requeues_the_task() {
    let dir = scratch("usr1");
    let (out, cells) = plan(&dir, "cpu");
    let script = slurm::emit(&cells, &options(&out)).unwrap();
    fake_trainer(&dir);
    let env = [
        ("FAKE_MODE", "sleep"),
        ("SLURM_JOB_ID", "77"),
        ("SLURM_ARRAY_JOB_ID", "70"),
    ];
    let child = start_task(&script, &dir, 0, &env);
    wait_for_file(&dir.join("trainer.pid"));
    signal(child.id(), "USR1");
    let result = child.wait_with_output().unwrap();
    let stdout = text(&result);
    assert_eq!(result.status.code(), Some(0), "{stdout}");
    // The trainer was asked to stop (SIGTERM), and the task requeued itself once it had.
    assert!(read(&dir.join("calls")).ends_with("got TERM\n"));
    assert_eq!(read(&dir.join("scontrol-calls")), "requeue 77\n");
    assert!(
        stdout.contains("cell seed=0: SIGUSR1: stopping the trainer at its last whole epoch"),
        "{stdout}"
    );
    assert!(
        stdout.contains("cell seed=0: stopped (status 143); requeueing job 77 to resume it"),
        "{stdout}"
    );
    assert!(read(&out.join("logs/seed=0.70_0.log")).contains("stopped by SIGTERM"));
    assert!(!out.join("seed=0/train.log").exists());
    // The requeued task resumes the cell (same job, same log, appended to).
    let (code, _) = run_task(&script, &dir, 0, &[("SLURM_ARRAY_JOB_ID", "70")]);
    assert_eq!(code, Some(0));
    let o = out.display();
    assert_eq!(
        read(&dir.join("calls")).lines().last().unwrap(),
        format!("threads=3 train {o}/seed=0.toml --out {o}/seed=0 --resume --quiet")
    );
    let log = read(&out.join("logs/seed=0.70_0.log"));
    assert_eq!(log, format!("stopped by SIGTERM\ntrained {o}/seed=0\n"));
    assert_eq!(read(&out.join("seed=0/train.log")), log);

    // Not under Slurm (no SLURM_JOB_ID): stopped, not requeued, the trainer's status.
    fs::remove_file(dir.join("trainer.pid")).unwrap();
    let child = start_task(&script, &dir, 2, &[("FAKE_MODE", "sleep")]);
    wait_for_file(&dir.join("trainer.pid"));
    signal(child.id(), "USR1");
    let result = child.wait_with_output().unwrap();
    assert_eq!(result.status.code(), Some(143));
    assert!(text(&result).contains("not under Slurm, so not requeued"));
    assert_eq!(read(&dir.join("scontrol-calls")).lines().count(), 1);
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn sigterm_waits_for_the_trainer_and_does_not_requeue() {
    let dir = scratch("term");
    let (out, cells) = plan(&dir, "cpu");
    let script = slurm::emit(&cells, &options(&out)).unwrap();
    fake_trainer(&dir);
    let env = [("FAKE_MODE", "sleep"), ("SLURM_JOB_ID", "78")];
    let child = start_task(&script, &dir, 1, &env);
    wait_for_file(&dir.join("trainer.pid"));
    // As Slurm does (scancel, preemption, the time limit): every process of the job.
    let trainer: u32 = read(&dir.join("trainer.pid")).trim().parse().unwrap();
    signal(child.id(), "TERM");
    signal(trainer, "TERM");
    let result = child.wait_with_output().unwrap();
    let stdout = text(&result);
    assert_eq!(result.status.code(), Some(143), "{stdout}");
    assert!(
        stdout.contains("SIGTERM: waiting for the trainer to stop"),
        "{stdout}"
    );
    assert!(
        stdout.contains("the trainer ended with status 143"),
        "{stdout}"
    );
    // Forwarding it again would have ended the real trainer at once: one TERM only.
    assert_eq!(read(&dir.join("calls")).matches("got TERM").count(), 1);
    assert!(!dir.join("scontrol-calls").exists());
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_duplicate_task_fails_and_leaves_the_live_tasks_files_alone() {
    let dir = scratch("duplicate");
    let (out, cells) = plan(&dir, "cpu");
    let script = slurm::emit(&cells, &options(&out)).unwrap();
    fake_trainer(&dir);
    // The live task (job 50) is training seed=2.
    let run = out.join("seed=2");
    fs::create_dir_all(&run).unwrap();
    fs::copy(&cells[2].config_path, run.join("config.toml")).unwrap();
    fs::create_dir_all(out.join("logs")).unwrap();
    let live_log = out.join("logs/seed=2.50_2.log");
    fs::write(&live_log, "epoch 1 of 3\n").unwrap();
    let before: Vec<_> = ["config.toml"]
        .iter()
        .map(|f| fs::read(run.join(f)).unwrap())
        .collect();
    let env = [("FAKE_MODE", "locked"), ("SLURM_ARRAY_JOB_ID", "51")];
    let (code, stdout) = run_task(&script, &dir, 2, &env);
    assert_eq!(code, Some(1), "{stdout}");
    assert!(
        stdout.contains("the trainer ended with status 1"),
        "{stdout}"
    );
    assert!(
        stdout.contains("is in use by nclab train, pid 4242"),
        "{stdout}"
    );
    // Its own log holds why; the live task's log and run directory are as they were.
    assert!(read(&out.join("logs/seed=2.51_2.log")).contains("is in use by nclab train"));
    assert_eq!(read(&live_log), "epoch 1 of 3\n");
    let mut names: Vec<String> = fs::read_dir(&run)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["config.toml"]);
    assert_eq!(fs::read(run.join("config.toml")).unwrap(), before[0]);
    assert!(!out.join("seed=2.log").exists());
    fs::remove_dir_all(&dir).unwrap();
}

/// The script's `check_device` function, run by bash on `summary` with `gpus`.
fn check_device(script: &str, summary: &Path, gpus: usize) -> (Option<i32>, String) {
    let start = script
        .find("check_device() {")
        .expect("check_device in the script");
    let end = start + script[start..].find("\n}\n").unwrap() + 3;
    let out = Command::new("bash")
        .arg("-c")
        .arg(format!("{}check_device \"$1\" \"$2\"", &script[start..end]))
        .args(["check", summary.to_str().unwrap(), &gpus.to_string()])
        .output()
        .unwrap();
    (out.status.code(), text(&out))
}

#[test]
fn the_gpu_check_fails_a_task_given_a_gpu_that_trained_on_the_cpu() {
    let dir = scratch("gpu-check");
    let (out, cells) = plan(&dir, "auto");
    let script = slurm::script(&cells, &options(&out));
    let summary = dir.join("summary.json");
    let pretty = |device: &str| {
        format!(
            "{{\n  \"status\": \"finished\",\n  \"device\": \"{device}\",\n  \"final\": {{}}\n}}\n"
        )
    };
    fs::write(&summary, pretty("cuda:0")).unwrap();
    assert_eq!(check_device(&script, &summary, 1), (Some(0), String::new()));
    fs::write(&summary, pretty("cpu")).unwrap();
    let (code, message) = check_device(&script, &summary, 1);
    assert_eq!(code, Some(1));
    assert_eq!(
        message.trim(),
        format!(
            "error: this task was given 1 GPU(s) (--gres=gpu:1) but the trainer ran on \"cpu\" \
             ({}); use a libtorch built with CUDA and a config whose device is \"auto\" or \
             \"cuda\"",
            summary.display()
        )
    );
    // Without GPUs, or before the trainer wrote a summary, there is nothing to check.
    assert_eq!(check_device(&script, &summary, 0), (Some(0), String::new()));
    let none = dir.join("none.json");
    assert_eq!(check_device(&script, &none, 2), (Some(0), String::new()));

    // A whole task: given a GPU, the stand-in trainer finishes on the CPU, the task fails.
    let opts = SlurmOptions {
        gpus: 1,
        extra: vec![],
        ..options(&out)
    };
    let path = slurm::emit(&cells, &opts).unwrap();
    fake_trainer(&dir);
    let (code, stdout) = run_task(&path, &dir, 0, &[("SLURM_ARRAY_JOB_ID", "60")]);
    assert_eq!(code, Some(1), "{stdout}");
    assert!(
        stdout.contains("but the trainer ran on \"cpu\""),
        "{stdout}"
    );
    assert!(read(&out.join("logs/seed=0.60_0.log")).contains("but the trainer ran on \"cpu\""));
    // The same on a GPU passes.
    let (code, stdout) = run_task(&path, &dir, 2, &[("FAKE_DEVICE", "cuda:0")]);
    assert_eq!(code, Some(0), "{stdout}");
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_options_are_refused_before_anything_is_written() {
    let dir = scratch("errors");
    let (out, cells) = plan(&dir, "cpu");
    let cases: Vec<(SlurmOptions, &str)> = vec![
        (
            SlurmOptions {
                out: PathBuf::from("runs/tiny"),
                ..options(&out)
            },
            "the sweep folder must be an absolute path, not runs/tiny",
        ),
        (
            SlurmOptions {
                chdir: PathBuf::from("/home/my project"),
                ..options(&out)
            },
            "--chdir \"/home/my project\" holds ' ', which an #SBATCH line cannot carry",
        ),
        (
            SlurmOptions {
                out: dir.join("100%"),
                ..options(&out)
            },
            "holds '%', which an #SBATCH line cannot carry",
        ),
        (
            SlurmOptions {
                grace_s: 0,
                ..options(&out)
            },
            "--grace must be between 1 and 65535 seconds, not 0",
        ),
        (
            SlurmOptions {
                gpus: 1,
                extra: vec!["--gres=gpu:2".into()],
                ..options(&out)
            },
            "--gpus 1 and --sbatch=--gres=gpu:2 both ask for GPUs: give one",
        ),
        (
            // A line break would end the #SBATCH line and run the rest as a command.
            SlurmOptions {
                extra: vec!["--time=1\necho INJECTED".into()],
                ..options(&out)
            },
            "--sbatch \"--time=1\\necho INJECTED\" holds a line break",
        ),
        (
            SlurmOptions {
                gpus: 1,
                extra: vec![],
                ..options(&out)
            },
            "--gpus 1: cells with device = \"cpu\" would never use their GPU: seed=0, seed=1, \
             seed=2",
        ),
    ];
    for (opts, wanted) in cases {
        let err = format!("{:#}", slurm::emit(&cells, &opts).unwrap_err());
        assert!(err.contains(wanted), "error {err:?} lacks {wanted:?}");
        assert!(
            !out.exists() && !dir.join("100%").exists(),
            "{wanted}: written"
        );
    }
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn threads_that_disagree_with_cpus_per_task_are_warned_about() {
    let dir = scratch("threads");
    let (_, cells) = plan(&dir, "cpu");
    assert_eq!(slurm::threads_warning(&cells, 1), None);
    assert_eq!(
        slurm::threads_warning(&cells, 4).unwrap(),
        "--cpus-per-task 4, but 3 of 3 cells set threads = 1 (seed=0, seed=1, seed=2): the \
         trainer uses the config's threads, so each task leaves idle some of its CPUs; set \
         --cpus-per-task to match, or threads = 0 to use what the task is given"
    );
    // The CLI prints it, and writes the script with absolute paths, run from `dir`.
    let grid = dir.join("tiny.toml");
    let cli = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_nclab"))
            .args([
                "sweep",
                grid.to_str().unwrap(),
                "--emit",
                "slurm",
                "--out",
                "runs/t",
            ])
            .args(args)
            .current_dir(&dir)
            .output()
            .unwrap();
        (out.status.success(), text(&out))
    };
    let (ok, output) = cli(&["--cpus-per-task", "2"]);
    assert!(ok, "{output}");
    assert!(
        output.contains("warning: --cpus-per-task 2, but 3 of 3 cells set threads = 1"),
        "{output}"
    );
    let script = read(&dir.join("runs/t/sweep.sbatch"));
    let abs = fs::canonicalize(&dir).unwrap();
    assert!(
        script.contains(&format!("#SBATCH --chdir={}\n", abs.display())),
        "{script}"
    );
    assert!(script.contains(&format!("SWEEP_DIR='{}'\n", abs.join("runs/t").display())));
    let (ok, output) = cli(&["--cpus-per-task", "1"]);
    assert!(ok && !output.contains("warning"), "{output}");
    // --gpus for cells on the CPU is refused; without --emit it is refused too.
    let (ok, output) = cli(&["--cpus-per-task", "1", "--gpus", "1"]);
    assert!(
        !ok && output.contains("cells with device = \"cpu\""),
        "{output}"
    );
    let out = Command::new(env!("CARGO_BIN_EXE_nclab"))
        .args(["sweep", grid.to_str().unwrap(), "--gpus", "1", "--out"])
        .arg(dir.join("local"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(text(&out).contains("--gpus, --grace and --sbatch are options of --emit slurm"));
    fs::remove_dir_all(&dir).unwrap();
}
