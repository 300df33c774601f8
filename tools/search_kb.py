"""Search the help-centre articles, so the agent answers from policy instead of from memory."""

from __future__ import annotations

import re
from typing import Any

import pydantic
import sqlite_utils
from pydantic import ConfigDict, Field

from safe_agent.policies.config import ToolPolicy
from safe_agent.policies.verdict import Role, Tier
from safe_agent.stores._sqlite import session
from safe_agent.tools.desk import DESK_DB
from safe_agent.tools.spec import READ_TIMEOUT_S, ToolCallContext, ToolSpec, expect_args

_STOPWORDS = frozenset(
    "a an and are as at be by can do does for from how i if in is it me my of on or our so that "
    "the their there this to was we what when where which who why will with you your".split()
)
_MAX_TERMS = 20
_SNIPPET_WORDS = 24


class SearchKbArgs(pydantic.BaseModel):
    """Arguments of search_kb."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    query: str = Field(
        min_length=1, max_length=500, description="What to look for, in plain words."
    )
    limit: int = Field(default=3, ge=1, le=10, description="How many articles to return at most.")


def search_terms(query: str) -> list[str]:
    """Split a free-text query into distinct lower-case keywords, dropping filler words.

    Natural questions ("how do I get a refund?") would match nothing as an all-terms FTS query
    and everything through their filler words, so only the meaningful words are kept.
    """
    seen: dict[str, None] = {}
    for word in re.findall(r"[a-z0-9]+", query.lower()):
        if len(word) > 1 and word not in _STOPWORDS:
            seen.setdefault(word, None)
    return list(seen)[:_MAX_TERMS]


def run(args: pydantic.BaseModel, ctx: ToolCallContext) -> dict[str, Any]:
    """Return the best-matching articles as id, title and a short snippet."""
    a = expect_args(args, SearchKbArgs)
    terms = search_terms(a.query)
    if not terms:
        return {"articles": []}
    with session(ctx.resource(DESK_DB)) as db:
        if db["kb_articles_fts"].exists():
            articles = _fts_search(db, terms, a.limit)
        else:
            articles = _overlap_search(db, terms, a.limit)
    return {"articles": articles}


def _fts_search(db: sqlite_utils.Database, terms: list[str], limit: int) -> list[dict[str, Any]]:
    """Rank articles by FTS5 bm25 over any of the terms."""
    match = " OR ".join(f'"{term}"' for term in terms)
    sql = f"""
        SELECT a.id, a.title,
               snippet(kb_articles_fts, 1, '', '', '...', {_SNIPPET_WORDS}) AS snippet
        FROM kb_articles_fts JOIN kb_articles AS a ON a.rowid = kb_articles_fts.rowid
        WHERE kb_articles_fts MATCH ?
        ORDER BY kb_articles_fts.rank, a.id
        LIMIT ?
    """
    return [dict(row) for row in db.query(sql, [match, limit])]


def _overlap_search(
    db: sqlite_utils.Database, terms: list[str], limit: int
) -> list[dict[str, Any]]:
    """Rank articles by how many terms they contain, for a desk without an FTS index."""
    scored: list[tuple[int, str, dict[str, Any]]] = []
    for row in db.query("SELECT id, title, body FROM kb_articles"):
        words = set(re.findall(r"[a-z0-9]+", f"{row['title']} {row['body']}".lower()))
        score = sum(1 for term in terms if term in words)
        if score:
            snippet = " ".join(row["body"].split()[:_SNIPPET_WORDS]) + "..."
            scored.append(
                (-score, row["id"], {"id": row["id"], "title": row["title"], "snippet": snippet})
            )
    scored.sort(key=lambda item: (item[0], item[1]))
    return [article for _, _, article in scored[:limit]]


SPEC = ToolSpec(
    name="search_kb",
    description=(
        "Search the support knowledge base "
        "(refunds, shipping, returns, warranty, accounts, privacy). "
        "Returns up to `limit` articles with a snippet each; an empty list means nothing matched."
    ),
    args_schema=SearchKbArgs,
    run=run,
    policy=ToolPolicy(
        tier=Tier.READ_ONLY,
        required_role=Role.READ,
        timeout_s=READ_TIMEOUT_S,
        idempotent=True,
        sinks=(),
    ),
)
