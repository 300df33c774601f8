"""The benchmark still runs: `python -m bench --quick` ends with the ratio report.

The numbers are not asserted.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_bench_quick_produces_the_ratio_table(tmp_path: Path) -> None:
    report = tmp_path / "bench.md"
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--markdown", str(report)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    text = report.read_text()
    assert "## Ratios (our graph vs LangChain)" in text
    assert all(f"| {w} |" in text for w in ("W1", "W5", "WA"))
