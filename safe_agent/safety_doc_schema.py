"""The cost controls and the audit schema of `docs/agent-safety.md`, read from the code.

The cost table is the config models' defaults with the docstring under each field; the audit
schema is what SQLite reports for a real audit log and anchor created in a temporary folder, so
neither can say something the code does not do (`safe_agent.safety_doc`).
"""

from __future__ import annotations

import ast
import inspect
import re
import secrets
import sqlite3
import tempfile
from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel

from safe_agent.policies.config import SafetyConfig
from safe_agent.safety_doc_tools import md_table, md_value


def field_docs(model: type[BaseModel]) -> dict[str, str]:
    """Return the docstring written under each field of a config model, by field name."""
    tree = ast.parse(inspect.getsource(model))
    body = tree.body[0].body  # type: ignore[attr-defined]
    docs: dict[str, str] = {}
    for here, after in zip(body, body[1:], strict=False):
        if (
            isinstance(here, ast.AnnAssign)
            and isinstance(here.target, ast.Name)
            and isinstance(after, ast.Expr)
            and isinstance(after.value, ast.Constant)
        ):
            docs[here.target.id] = " ".join(str(after.value.value).split())
    return docs


def _settings(section: str, model: BaseModel, skip: Sequence[str] = ()) -> list[list[str]]:
    docs = field_docs(type(model))
    rows = []
    for name in type(model).model_fields:
        if name in skip:
            continue
        value = getattr(model, name)
        if isinstance(value, BaseModel):
            rows += _settings(f"{section} {name}.", value)
            continue
        key = f"{section} {name}" if not section.endswith(".") else f"{section}{name}"
        rows.append([f"`{key}`", md_value(value), docs.get(name, "")])
    return rows


def render_costs(config: SafetyConfig) -> str:
    """The spend and runaway limits, the routing rules, the rate limit and the price table."""
    rows = _settings("[budget]", config.budget) + _settings("[routing]", config.routing)
    rows += _settings("[rate_limit]", config.rate_limit)
    rows.append(
        [
            "`[tools] cost_usd`",
            md_value(config.tools.cost_usd),
            field_docs(type(config.tools))["cost_usd"],
        ]
    )
    rows.append(
        [
            "`recursion_limit`",
            md_value(config.recursion_limit),
            field_docs(SafetyConfig)["recursion_limit"],
        ]
    )
    cheap = config.model.cheap
    rows.append(
        ["`[model] cheap`", cheap.name if cheap else "off", field_docs(type(config.model))["cheap"]]
    )
    pricing = config.pricing
    prices = [
        [
            f"`{name}`",
            f"{p.input_per_mtok:g}",
            md_value(p.cached_input_per_mtok),
            f"{p.output_per_mtok:g}",
        ]
        for name, p in pricing.models.items()
    ]
    unknown = pricing.unknown_model
    prices.append(
        ["any other model", f"{unknown.input_per_mtok:g}", "off", f"{unknown.output_per_mtok:g}"]
    )
    return (
        md_table(("setting", "default", "what it does"), rows)
        + f"\nPrice table `{pricing.version}` (`[pricing]`), USD per million tokens"
        + ' (cached input "off": billed as input):\n\n'
        + md_table(("model", "input", "cached input", "output"), prices)
    )


def _columns(conn: sqlite3.Connection, table: str) -> list[list[str]]:
    unique = {}
    for _, index, is_unique, *_rest in conn.execute(f"PRAGMA index_list({table})"):
        if index.startswith("sqlite_autoindex"):  # the primary key's own index
            continue
        for info in conn.execute(f"PRAGMA index_info({index})"):
            unique.setdefault(info[2], []).append(
                ("unique " if is_unique else "") + f"index `{index}`"
            )
    rows = []
    for _, name, kind, notnull, default, pk in conn.execute(f"PRAGMA table_info({table})"):
        notes = (["primary key"] if pk else []) + (["not null"] if notnull else [])
        notes += unique.get(name, []) + ([f"default {default}"] if default is not None else [])
        rows.append([f"`{name}`", kind, ", ".join(notes)])
    return rows


def _triggers(conn: sqlite3.Connection) -> list[list[str]]:
    rows = []
    for name, table, sql in conn.execute(
        "SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'trigger' ORDER BY name"
    ):
        fires = re.search(r"\b(BEFORE|AFTER|INSTEAD OF)\s+(\w+)", sql)
        raised = re.search(r"RAISE\((\w+),\s*'([^']*)'\)", sql)
        checks = len(re.findall(r"\b(?:NEW|OLD)\.\w+", sql))
        clause = re.search(r"\bWHEN\s+(NOT\s+)?\(", sql)
        when = (
            f"WHEN {clause.group(1) or ''}(...): {checks} OLD/NEW column references"
            if clause
            else "always"
        )
        rows.append(
            [
                f"`{name}`",
                f"`{table}`",
                f"{fires.group(1)} {fires.group(2)}" if fires else "?",
                when,
                f"{raised.group(1)}: {raised.group(2)}" if raised else "?",
            ]
        )
    return rows


def render_audit() -> str:
    """Create a real audit log and anchor in a temp folder; describe their tables and triggers."""
    from safe_agent.stores.audit import AuditLog
    from safe_agent.stores.audit_anchor import AuditAnchors

    with tempfile.TemporaryDirectory() as tmp:
        audit, safety = Path(tmp) / "audit.sqlite", Path(tmp) / "safety.sqlite"
        AuditLog(audit, key=secrets.token_bytes(32), anchors=AuditAnchors(safety))
        out: list[str] = []
        for file, label in ((audit, "audit.sqlite"), (safety, "safety.sqlite")):
            conn = sqlite3.connect(file)
            try:
                tables = [
                    r[0]
                    for r in conn.execute(
                        "SELECT name FROM sqlite_master WHERE type = 'table' "
                        "ORDER BY name = 'audit_events' DESC, name"
                    )
                ]
                for table in tables:
                    out.append(
                        f"`{label}` table `{table}`:\n\n"
                        + md_table(("column", "type", "constraints"), _columns(conn, table))
                    )
                triggers = _triggers(conn)
                if triggers:
                    out.append(
                        f"`{label}` triggers:\n\n"
                        + md_table(("trigger", "table", "fires", "when", "action"), triggers)
                    )
            finally:
                conn.close()
    return "\n".join(out)
