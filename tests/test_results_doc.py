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
    run = subprocess.run([nclab_bin(), "report", f"results/{grid}", "--out", str(out),
                          *results_doc.contrast_args(grid)], cwd=REPO, capture_output=True, text=True)
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


def test_one_condition_says_its_differences_then_what_did_not_differ():
    found = [("a", "nc1", -0.02, 0.001, 0.01), ("a", "nc2", 0.45, 0.001, 0.01), ("b", "nc2", 0.1, 0.01, 0.02)]
    metrics = [("nc1", "NC1"), ("nc2", "NC2"), ("top1_error", "top-1 error")]
    assert results_doc.one_condition(found, "a", metrics, {("a", "NC1"): 0.066}) == \
        "NC1 0.066 times CE's, NC2 +0.45; no significant difference in top-1 error"
    # Nothing significant: the sentence starts with what did not differ (no stray '; ').
    assert results_doc.one_condition(found, "c", metrics) == \
        "no significant difference in NC1, NC2, top-1 error"
    assert results_doc.one_condition(found, "b", metrics[1:2]) == "NC2 +0.1"


def test_the_control_is_said_beside_the_soft_labels_of_its_mass(monkeypatch):
    cells = ["loss=ls-m0.5_seed=0", "loss=ls-m0.5_seed=1", "loss=soft-m0.5_seed=0", "loss=ce_seed=0"]
    monkeypatch.setattr(results_doc, "runs_of", lambda grid: [(c, {}, {}) for c in cells])
    monkeypatch.setattr(results_doc, "contrasts_of", lambda grid: {})
    found = [("ls-m0.5", "nc1", -0.01, 0.001, 0.01), ("soft-m0.5", "nc1", -0.04, 0.001, 0.01),
             ("soft-m0.5", "nc2", 0.45, 0.001, 0.01)]
    factors = {("ls-m0.5", "NC1"): 0.3, ("soft-m0.5", "NC1"): 0.066}
    assert results_doc.control_sentence("g", "ls-m0.5", found, factors) == (
        " Label smoothing with the same mass on the true class (ls-m0.5, two seeds so far: soft "
        "targets without the tree), against CE: NC1: 0.3 times CE's (soft-m0.5: 0.066 times CE's); "
        "NC2: no significant difference (soft-m0.5: +0.45); tree correlation: no significant "
        "difference (soft-m0.5: no significant difference).")
    # With the contrast in the report: the tree's share, soft-m0.5 minus ls-m0.5.
    # Its pairs and the size of its family are said: two rows in the family, one outside.
    row = {"paired_diff": "0.44", "paired_ci95_low": "0.4", "paired_ci95_high": "0.48", "p_bh": "0.004",
           "n_pairs": "2", "family": "true"}
    rows = {("soft-m0.5", "ls-m0.5", "nc2"): row,
            ("soft-m0.5", "ls-m0.5", "top1_error"): {"n_pairs": "2", "family": "true"},
            ("soft-m0.5", "ls-m0.5", "self_duality"): {"n_pairs": "2", "family": "false"}}
    monkeypatch.setattr(results_doc, "contrasts_of", lambda grid: rows)
    assert results_doc.control_sentence("g", "ls-m0.5", found, factors).endswith(
        " What the tree adds, soft-m0.5 minus ls-m0.5 paired by seed (two pairs; stars: "
        "Benjamini-Hochberg over the 2 tests of the contrasts' family, one per metric of the grid's "
        "family and contrast): NC2 +0.44 [+0.4, +0.48]**.")


def test_intervals_get_digits_until_their_ends_differ():
    assert results_doc.interval(-0.0029, 0.0011) == "[-0.0029, +0.0011]"
    assert results_doc.interval(0.4471, 0.4489) == "[+0.447, +0.449]"
    # Four digits at most, and an interval of one value stays one value.
    assert results_doc.interval(0.123401, 0.123449) == "[+0.1234, +0.1234]"
    assert results_doc.interval(-0.004, -0.004) == "[-0.004, -0.004]"


def test_before_and_after_the_first_decay_are_means_over_the_runs(tmp_path, monkeypatch):
    """Two CE runs and one HXE run of a made-up grid: hdist@5, top-5 and top-1 error at the
    last analysis before the first decay (folds.csv's decay1_from_epoch), the peak of hdist@5
    from then on, its largest move, and the values at the end (means over runs per epoch)."""
    grid = "made-up-grid-for-before-and-after"
    monkeypatch.setattr(results_doc, "RESULTS", tmp_path / "results")
    monkeypatch.setattr(results_doc, "REPORTS", tmp_path / "reports")
    runs = {"loss=ce_seed=0": [(1, 1.9, 0.1, 0.5), (4, 1.5, 0.002, 0.12), (6, 1.9, 0.005, 0.1),
                               (9, 1.7, 0.006, 0.09)],
            "loss=ce_seed=1": [(1, 1.9, 0.1, 0.5), (4, 1.6, 0.004, 0.14), (6, 1.8, 0.006, 0.12),
                               (9, 1.8, 0.008, 0.11)],
            "loss=hxe-0.6_seed=0": [(1, 1.9, 0.1, 0.5), (4, 1.44, 0.003, 0.13), (6, 1.42, 0.003, 0.11),
                                    (9, 1.43, 0.003, 0.1)]}
    for cell, rows in runs.items():
        d = tmp_path / "results" / grid / cell
        d.mkdir(parents=True)
        (d / "config.toml").write_text('seed = 0\n[loss]\nkind = "ce"\n[optim]\nepochs = 9\n'
                                       'schedule = "step"\n')
        (d / "summary.json").write_text("{}")
        (d / "metrics.csv").write_text("epoch,hdist@5,top5_error,top1_error\n" + "".join(
            f"{e},{h},{t5},{t1}\n" for e, h, t5, t1 in rows))
    report = tmp_path / "reports" / grid
    report.mkdir(parents=True)
    (report / "summary.csv").write_text("condition,name\nloss.kind=ce,ce\nloss.kind=hxe,hxe-0.6\n")
    (report / "comparisons.csv").write_text("condition,metric\n")
    (report / "folds.csv").write_text("condition,name,decay1_from_epoch\nloss.kind=ce,ce,4\n"
                                      "loss.kind=hxe,hxe-0.6,4\n")
    start, decays, courses = results_doc.before_and_after(grid)
    # Step schedule over 9 epochs: decays at 9 // 3 + 1 = 4 and 2 * 9 // 3 + 1 = 7.
    assert (start, decays) == (4, [4, 7])
    ce = courses["ce"]
    assert ce.before == pytest.approx((1.55, 0.003, 0.13), abs=1e-15)
    assert ce.after == pytest.approx((1.75, 0.007, 0.10), abs=1e-15)
    # Mean hdist@5 per epoch: 1.55 (4), 1.85 (6), 1.75 (9): the peak at 6, 0.3 from epoch 4.
    assert (ce.peak, ce.peak_epoch) == (pytest.approx(1.85, abs=1e-15), 6)
    assert ce.largest_move == pytest.approx(0.3, abs=1e-15)
    hxe = courses["hxe-0.6"]
    assert (hxe.peak, hxe.peak_epoch, hxe.largest_move) == (1.44, 4, pytest.approx(0.02, abs=1e-15))
    table = results_doc.terminal_phase_table(grid)
    assert "| ce | 1.55 | 1.85 (6) | 1.75 | 0.3 | 0.003 → 0.007 | 0.13 → 0.1 |" in table


def test_a_malformed_predictions_file_is_named(tmp_path):
    """A test_predictions.csv without its columns, or with a cell that is not a number: an
    error naming the file (and the line), not a traceback from deep inside."""
    bad = tmp_path / "test_predictions.csv"
    bad.write_text("label,prediction\n1,1\n")
    with pytest.raises(ValueError, match="not a test_predictions.csv"):
        results_doc.image_values(bad)
    bad.write_text("label,rank1,hdist@1,hdist@5\n1,1,0,0.2\n2,3,x,0.4\n")
    with pytest.raises(ValueError, match="line 3: hdist@1 and hdist@5 must be numbers"):
        results_doc.image_values(bad)
    bad.write_text("label,rank1,rank2,hdist@1,hdist@5\n1,1,0,0,0.5\n2,0,1,2,1.5\n")
    assert results_doc.image_values(bad) == {"label": ["1", "2"], "rank1": ["1", "0"], "top1_error": [0.0, 1.0],
                                              "top5_error": [0.0, 1.0], "hdist@1": [0.0, 2.0],
                                              "hdist@5": [0.5, 1.5]}


def test_mueller_is_judged_on_the_label_smoothing_control(monkeypatch):
    def row(diff, lo, hi, p_bh, ratio=""):
        return {"paired_diff": diff, "paired_ci95_low": lo, "paired_ci95_high": hi, "p_bh": p_bh,
                "n_pairs": "4", "paired_ratio": ratio, "paired_ratio_ci95_low": "0.066",
                "paired_ratio_ci95_high": "0.075"}
    comps = {("ls-m0.5", "nc1"): row("-0.04", "-0.042", "-0.039", "0.00003", "0.0712"),
             ("ls-m0.5", "nc2"): row("-0.09", "-0.098", "-0.082", "0.0002"),
             ("ls-m0.5", "hdist@5"): row("0.19", "0.16", "0.23", "0.001"),
             ("ls-m0.5", "mean_tree_correlation"): row("-0.029", "-0.061", "0.0029", "0.09")}
    summary = {"ls-m0.5": {"nc1_mean": "0.00307", "nc2_mean": "0.256", "hdist@5_mean": "1.87",
                           "mean_tree_correlation_mean": "0.727"},
               "ce": {"nc1_mean": "0.0438", "nc2_mean": "0.347", "hdist@5_mean": "1.68",
                      "mean_tree_correlation_mean": "0.756"}}
    monkeypatch.setattr(results_doc, "report_of", lambda grid: (summary, comps, {}))
    monkeypatch.setattr(results_doc, "smoothing", lambda grid: {"ls-m0.5"})
    monkeypatch.setattr(results_doc, "seeds_so_far", lambda grid: "seeds 0 1 2 3")
    lines = results_doc.muller({"protocol": ["g"]})
    assert lines[2] == (
        "- *Label smoothing draws each class's penultimate features into a tight cluster.* NC1 "
        "0.071 times CE's [0.066, 0.075]*** (ls-m0.5 on `g`, four pairs, 0.00307 against CE's "
        "0.0438): **agrees**.")
    assert lines[3].endswith("NC2 -0.09 [-0.098, -0.082]*** (ls-m0.5 on `g`, four pairs, 0.256 "
                             "against CE's 0.347): in direction, **agrees**.")
    # hdist@5 higher (erased similarities) agrees; the tree correlation, not significant, cannot say.
    assert "hdist@5 +0.19 [+0.16, +0.23]** (ls-m0.5 on `g`, four pairs, 1.87 against CE's 1.68): " \
        "**agrees**." in lines[4]
    assert lines[4].endswith("tree correlation -0.029 [-0.061, +0.0029] (ls-m0.5 on `g`, four "
                             "pairs, 0.727 against CE's 0.756): **cannot say** (no significant "
                             "difference).")
    # A significant rise of the tree correlation would contradict the paper.
    comps[("ls-m0.5", "mean_tree_correlation")] = row("0.05", "0.02", "0.08", "0.01")
    assert results_doc.muller({"protocol": ["g"]})[4].endswith("**differs**.")
    # Without a control, no point.
    monkeypatch.setattr(results_doc, "smoothing", lambda grid: set())
    assert results_doc.muller({"protocol": ["g"]}) == []
