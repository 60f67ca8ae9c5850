"""docs/results.md and the reports it quotes are up to date with the committed runs."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))
import results_doc  # noqa: E402


def nclab_bin():
    for p in (os.environ.get("NCLAB_BIN"), REPO / "target" / "debug" / "nclab", REPO / "target" / "release" / "nclab"):
        if p and Path(p).exists():
            return str(p)
    pytest.fail("no nclab binary: `cargo build` first (or set NCLAB_BIN)")


def test_the_page_is_what_the_script_writes(tmp_path):
    page = REPO / "docs" / "results.md"
    run = subprocess.run([sys.executable, "scripts/results_doc.py", "--check"], cwd=REPO,
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    # And the check does fail on a page that differs by one character.
    stale = tmp_path / "results.md"
    stale.write_text(page.read_text().replace("0", "1", 1))
    run = subprocess.run([sys.executable, "scripts/results_doc.py", "--check", "--page", str(stale)],
                         cwd=REPO, capture_output=True, text=True)
    assert run.returncode == 1 and "out of date" in run.stderr


# Every grid the page quotes that has committed runs (a protocol grid appears with its first run).
GRIDS = [g for g in results_doc.CPU_GRIDS + results_doc.PROTOCOL_GRIDS + results_doc.GPU_GRIDS
         if results_doc.runs_of(g)]


def test_the_cpu_study_is_committed():
    assert set(results_doc.CPU_GRIDS) <= set(GRIDS)


@pytest.mark.parametrize("grid", GRIDS)
def test_each_report_is_up_to_date_with_its_runs(tmp_path, grid):
    """`nclab report results/<grid>` now writes the tables committed in docs/results/<grid>/."""
    out = tmp_path / grid
    run = subprocess.run([nclab_bin(), "report", f"results/{grid}", "--out", str(out)], cwd=REPO,
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    for table in ("summary.csv", "summary.md", "comparisons.csv", "folds.csv"):
        committed = REPO / "docs" / "results" / grid / table
        assert committed.exists(), f"{committed} missing: run scripts/study.sh report"
        assert (out / table).read_text() == committed.read_text(), f"{grid}/{table} is stale"


def test_effects_are_grouped_per_metric_by_sign():
    """Hand-made significant differences, as `significant` returns them: (condition, metric,
    paired difference, p, p BH)."""
    found = [("a", "nc1", -0.02, 0.001, 0.01), ("b", "nc1", -0.031, 0.001, 0.01),
             ("c", "nc1", 0.5, 0.001, 0.01), ("a", "top1_error", 0.0037, 0.01, 0.03),
             ("c", "nc2_tree", 0.2, 0.001, 0.01)]
    text = results_doc.effects_sentence(found)
    assert text == ("top-1 error higher under a (+0.0037); mistake severity: no significant difference; "
                    "hdist@5: no significant difference; NC1 lower under a (-0.02), b (-0.031) and higher "
                    "under c (+0.5); NC2: no significant difference; NC3: no significant difference; "
                    "tree corr.: no significant difference")
    # Restricted to some conditions, the others' differences are left out.
    assert results_doc.effects_sentence(found, {"b"}).startswith(
        "top-1 error: no significant difference; mistake severity: no significant difference; "
        "hdist@5: no significant difference; NC1 lower under b (-0.031); ")
    # A direction every one of the given conditions takes is said once, with its range.
    both = [("a", "hdist@5", -0.06, 0.001, 0.01), ("b", "hdist@5", -0.27, 0.001, 0.01)]
    assert results_doc.effects_sentence(both, ["a", "b"], [("hdist@5", "hdist@5")]) == \
        "hdist@5 lower under both (-0.27 to -0.06)"


def test_intervals_get_digits_until_their_ends_differ():
    assert results_doc.interval(-0.0029, 0.0011) == "[-0.0029, +0.0011]"
    assert results_doc.interval(0.4471, 0.4489) == "[+0.447, +0.449]"
    # Four digits at most, and an interval of one value stays one value.
    assert results_doc.interval(0.123401, 0.123449) == "[+0.1234, +0.1234]"
    assert results_doc.interval(-0.004, -0.004) == "[-0.004, -0.004]"
