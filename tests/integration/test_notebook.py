"""Execute notebooks/quickstart.ipynb top to bottom in a fresh kernel, offline, as a real test.

The kernel is pinned to this interpreter: a `python3` kernelspec whose argv is `sys.executable` is
written into a temporary JUPYTER_PATH (which takes precedence over user and system kernelspecs),
and an extra cell appended to the in-memory copy checks the kernel's `sys.prefix`. The kernel
inherits the test's environment (no provider or tracing keys, SAFE_AGENT_HOME under tmp_path);
TMPDIR, IPYTHONDIR and the Jupyter runtime folder also point under tmp_path, so the notebook's
temporary data folder and the kernel's connection files are cleaned up with the test.
Every code cell in the notebook asserts its own expectations; a failing one fails this test.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

REPO_ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = REPO_ROOT / "notebooks" / "quickstart.ipynb"
KERNEL_CHECK = "import sys\nprint('KERNEL_PREFIX=' + sys.prefix)"


def _pin_kernel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make `python3` mean this venv's interpreter and keep Jupyter's files under tmp_path."""
    jupyter = tmp_path / "jupyter"
    spec = jupyter / "kernels" / "python3"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": "Python 3 (safe-agent test)",
                "language": "python",
            }
        )
    )
    (tmp_path / "tmp").mkdir()
    monkeypatch.setenv("JUPYTER_PATH", str(jupyter))
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "jupyter-runtime"))
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    monkeypatch.setenv(
        "PYDEVD_DISABLE_FILE_VALIDATION", "1"
    )  # quiets the debugger warning on stderr


def _text(output: dict[str, Any]) -> str:
    if output.get("output_type") == "stream":
        return str(output.get("text", ""))
    data = output.get("data") or {}
    return str(data.get("text/plain", ""))


def _cell_texts(nb: Any) -> list[str]:
    return [
        "".join(_text(o) for o in cell.get("outputs", []))
        for cell in nb.cells
        if cell.cell_type == "code"
    ]


def test_committed_notebook_is_valid_and_has_no_outputs() -> None:
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(c.outputs == [] and c.execution_count is None for c in code), (
        "clear the outputs"
    )
    assert "draw_mermaid_png" not in "".join(c.source for c in code), (
        "draw_mermaid_png calls a web service"
    )


@pytest.mark.slow
def test_quickstart_notebook_runs_offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _pin_kernel(tmp_path, monkeypatch)
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(KERNEL_CHECK))
    client = nbclient.NotebookClient(
        nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(REPO_ROOT)}}
    )
    try:
        client.execute()
    except nbclient.exceptions.CellExecutionError as exc:
        pytest.fail(f"a notebook cell failed:\n{exc}")

    errors = [
        o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"
    ]
    assert errors == []
    texts = _cell_texts(nb)
    everything = "\n".join(texts)

    assert texts[-1].strip() == f"KERNEL_PREFIX={sys.prefix}", (
        "the kernel is not this venv's Python"
    )
    assert "model: offline-planner (offline)" in everything
    assert "Order 1002 is shipped" in everything
    assert "status:      paused" in everything
    assert "action:         issue_refund" in everything
    assert "requested_by:   alice" in everything
    assert "approver_is_requester" in everything
    assert (
        "Refund issued after bob's approval: Refund 1 of $25.0 for order 1001 is issued."
        in everything
    )
    assert "approval_decision  approval" in everything
    assert "hash chain ok: True" in everything
    mermaid = next(t for t in texts if "graph TD" in t)
    for node in (
        "validate_input",
        "budget_check",
        "breaker_check",
        "reason",
        "authorize",
        "approval",
        "execute_tool",
        "validate_output",
        "audit",
    ):
        assert f"{node}({node})" in mermaid
    # the notebook's data folder is fresh and under this test's tmp_path, not ./var
    assert f"data folder: {tmp_path / 'tmp'}" in everything
