"""Killed mid-run (SIGKILL), the app restarts with the rule and the answers it had."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import polars as pl

from fastsheet.data.paths import PROJECT_ROOT
from tests.ui.crash_driver import RULE

ROWS = 240


def _child(phase: str, folder: Path) -> subprocess.Popen:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "FASTSHEET_CACHE_DIR": str(folder)}
    return subprocess.Popen(
        [sys.executable, "-m", "tests.ui.crash_driver", phase, str(folder)],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )


def test_sigkill_mid_evaluation_loses_neither_the_rule_nor_the_cached_answers(tmp_path):
    reviews = pl.read_csv(PROJECT_ROOT / "bench" / "data" / "reviews.csv").head(ROWS)
    reviews.drop("gold").write_csv(tmp_path / "reviews.csv")

    first = _child("edit", tmp_path)
    deadline = time.monotonic() + 300
    ready = None
    for line in first.stdout:
        if line.startswith("READY"):
            ready = int(line.split()[1])
            break
        assert time.monotonic() < deadline
    assert ready is not None, "the app never got to judge rows"
    os.kill(first.pid, signal.SIGKILL)  # mid-evaluation: no shutdown, no final save
    first.wait(30)
    assert first.returncode == -signal.SIGKILL
    assert (tmp_path / "state" / "autosave.fastsheet").exists()

    second = _child("restore", tmp_path)
    out, _ = second.communicate(timeout=600)
    assert second.returncode == 0, out
    report = json.loads(out.strip().splitlines()[-1])
    assert report["rules"] == [RULE]  # the unsaved rule came back
    assert report["done"] == report["rows"] == ROWS
    # the rows judged before the kill come from the cache: only the rest needs the model
    assert report["model_rows"] <= ROWS - ready
