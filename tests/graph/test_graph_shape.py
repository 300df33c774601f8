"""The graph has exactly the nine safety nodes, named after their modules, wired as designed."""

from __future__ import annotations

import importlib
from pathlib import Path

from safe_agent import build_services, nodes
from safe_agent.graph.build import NODES, build_graph

NODE_MODULES = sorted(
    p.stem for p in Path(nodes.__file__).parent.glob("*.py") if not p.stem.startswith("_")
)


def test_graph_node_names_equal_node_modules(tmp_path: Path) -> None:
    graph = build_graph(build_services(root=tmp_path)).compile()
    names = set(graph.get_graph().nodes) - {"__start__", "__end__"}
    assert names == set(NODE_MODULES)
    assert len(names) == 9


def test_graph_each_node_function_lives_in_its_own_module() -> None:
    for fn in NODES:
        module = importlib.import_module(f"safe_agent.nodes.{fn.__name__}")
        assert getattr(module, fn.__name__) is fn


def test_studio_module_exports_compiled_graph_without_checkpointer() -> None:
    studio = importlib.import_module("safe_agent.graph.studio")
    assert studio.graph.checkpointer is None
    assert {"validate_input", "approval", "audit"} <= set(studio.graph.get_graph().nodes)


def test_graph_edges_follow_architecture(tmp_path: Path) -> None:
    drawn = build_graph(build_services(root=tmp_path)).compile().get_graph()
    edges = {(e.source, e.target) for e in drawn.edges}
    expected = {
        ("__start__", "validate_input"),
        ("validate_input", "budget_check"),
        ("validate_input", "audit"),
        ("budget_check", "breaker_check"),
        ("breaker_check", "reason"),
        ("reason", "authorize"),
        ("reason", "validate_output"),
        ("authorize", "execute_tool"),
        ("authorize", "audit"),
        ("audit", "approval"),
        ("approval", "audit"),
        ("approval", "execute_tool"),
        ("execute_tool", "authorize"),
        ("execute_tool", "audit"),
        ("validate_output", "audit"),
        ("audit", "budget_check"),
        ("audit", "__end__"),
    }
    assert expected <= edges
    assert ("reason", "execute_tool") not in edges, "a tool call must never skip authorize"
    assert ("authorize", "approval") not in edges, "an approval request is audited before the pause"
