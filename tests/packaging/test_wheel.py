"""The built wheel installs one import root, `safe_agent`, and works beside a user's own modules.

Issue 13: `pip install .` used to put `graph`, `nodes`, `policies`, `stores` and `tools` into
site-packages, so in a project with its own `tools.py` or `graph.py` (the usual names in a
LangGraph project) `from safe_agent import SafeAgent` failed with
`No module named 'graph.build'; 'graph' is not a package`. Here the wheel is built from the
checkout, installed with its declared dependencies into a fresh virtualenv (from the package
registry, as a user would), and imported and run from a folder that holds those very names.
"""

from __future__ import annotations

import os
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
GENERIC = ("graph", "nodes", "policies", "stores", "tools")
USER_MODULE = 'raise ImportError("the user\'s own {name}.py was imported by safe_agent")\n'
SCRIPT = """
from safe_agent import SafeAgent
import graph, tools  # the user's modules, not ours
with SafeAgent.open("home") as agent:
    result = agent.run("Where is order 1001?", user_id="u-1", role="read")
print(result.status, graph.MINE, tools.MINE)
"""


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(out),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    [built] = out.glob("safe_agent-*.whl")
    return built


def test_the_wheel_holds_only_the_safe_agent_root(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    roots = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert roots == {"safe_agent"}
    for name in GENERIC:
        assert f"safe_agent/{name}/__init__.py" in names
    assert "safe_agent/py.typed" in names
    assert "safe_agent/graph/build.py" in names and "safe_agent/tools/support_desk.py" in names


def test_installed_beside_a_users_own_graph_and_tools_modules(wheel: Path, tmp_path: Path) -> None:
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", str(wheel)],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert install.returncode == 0, install.stderr[-3000:]
    project = tmp_path / "my_project"
    project.mkdir()
    for name in ("nodes", "policies", "stores"):  # importing any of these fails loudly
        (project / f"{name}.py").write_text(USER_MODULE.format(name=name))
    for name in ("graph", "tools"):  # these the script imports itself, as the user would
        (project / f"{name}.py").write_text("MINE = 'mine'\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SAFE_AGENT_", "OPENAI_"))}
    env["PYTHONPATH"] = ""  # nothing from the checkout: only the fresh venv and the folder
    ran = subprocess.run(
        [str(python), "-c", SCRIPT],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert ran.returncode == 0, ran.stderr[-3000:]
    assert ran.stdout.split() == ["answered", "mine", "mine"]
    site = next((env_dir / "lib").glob("python*/site-packages"))
    assert [n for n in GENERIC if (site / n).exists()] == []
    cli = subprocess.run(
        [str(env_dir / "bin" / "safe-agent"), "--help"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert cli.returncode == 0 and "Usage" in cli.stdout, cli.stderr[-2000:]
