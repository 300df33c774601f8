"""The LangGraph server's auth handler (`langgraph.json` `auth.path`): keys in, principals out.

Every request to `langgraph dev`, Studio or a deployed LangGraph server carries an API key from
the principal directory (`safe-agent principals add`), as `Authorization: Bearer <key>` or
`x-api-key: <key>`. No key, or a key the directory does not know (or revoked), is a 401. The
principal (id, role, tenant, groups) then reaches the graph as
`config["configurable"]["langgraph_auth_user"]`; the graph takes identity from there only.

Resource rules (a caller is the authenticated principal; admins are unfiltered):

- threads are owned: `owner`/`tenant` are stamped into the metadata on create (a different
  claimed owner is refused), and search/read/run/delete are filtered to the owner's threads;
- an eligible approver of a request pending on a thread may read it and send a resume-only run;
- `update_state` and metadata patches are admin only; so are `command.goto`/`command.update`;
- a run whose context claims another identity, raises `recursion_limit` above the operator's cap,
  or (non-admins) carries anything but user messages is refused before it is stored;
- assistants may be read by everyone, changed by admins; crons and the store are admin only;
- anything not handled here is denied (`@auth.on`), so a new server route fails closed. The one
  exception is the custom `/health` route (`graph/http.py`): custom routes are outside this
  handler, so it answers a caller without a key with statuses and counts only (docs/health.md).

Studio's own sign-in (`StudioUser`) is switched off (`disable_studio_auth`): in `langgraph dev`
it would make any request with `x-auth-scheme: langsmith` a user without a key. Studio users add
the `Authorization` header in Studio's connection settings instead (docs/studio.md).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from functools import cache
from typing import Any

from langgraph_sdk import Auth

from safe_agent.graph.server_input import protected_input
from safe_agent.policies.config import SafetyConfig
from safe_agent.policies.identity import ROLES, same_person
from safe_agent.policies.threads import Caller, check_run_request, may_resume_as_approver
from safe_agent.policies.verdict import Role, Verdict
from safe_agent.settings import data_paths, load_config
from safe_agent.stores.decisions import DecisionLedger
from safe_agent.stores.principals import PrincipalDirectory

auth = Auth()

_BEARER = "bearer "
READ_GRANT_S = 900.0
"""How long an approver who resumed a thread may keep reading it (to follow their run)."""
_read_grants: dict[tuple[str, str], float] = {}
_loaded_config: list[SafetyConfig] = []


@cache
def _principals() -> PrincipalDirectory:
    """Open the directory once per process, at the first request (the data folder is known then)."""
    return PrincipalDirectory(data_paths().principals)


@cache
def _ledger() -> DecisionLedger:
    return DecisionLedger(data_paths().safety)


async def _config() -> SafetyConfig:
    """Return the operator's config, read once per process (in a worker thread: it is a file)."""
    if not _loaded_config:
        _loaded_config.append(await asyncio.to_thread(load_config))
    return _loaded_config[0]


def _forbid(detail: str, status: int = 403) -> Auth.exceptions.HTTPException:
    return Auth.exceptions.HTTPException(status_code=status, detail=detail)


def _key_from(authorization: str | None, headers: Mapping[bytes, bytes]) -> str | None:
    """Take the key from `Authorization: Bearer KEY`, else from `x-api-key: KEY`."""
    if authorization and authorization[: len(_BEARER)].lower() == _BEARER:
        return authorization[len(_BEARER) :].strip() or None
    raw = headers.get(b"x-api-key")
    if not raw:
        return None
    return raw.decode(errors="replace").strip() or None


@auth.authenticate
def authenticate(
    authorization: str | None, headers: dict[bytes, bytes]
) -> Auth.types.MinimalUserDict:
    """Map the request's API key to its principal, or refuse with 401.

    A plain function: the server runs it in its thread pool, so the SQLite lookup never blocks
    the event loop.
    """
    key = _key_from(authorization, headers)
    record = _principals().authenticate(key) if key else None
    if record is None:
        raise _forbid("a valid API key is required (Authorization: Bearer <key>)", 401)
    return {
        "identity": record.id,
        "role": record.role,
        "tenant": record.tenant,
        "groups": list(record.groups),
        "permissions": [f"role:{record.role}"],
        "is_authenticated": True,
        "display_name": record.id,
    }


def _caller(ctx: Auth.types.AuthContext) -> Caller:
    """Return the principal behind the request; anyone else (StudioUser, anonymous) is refused."""
    user = ctx.user
    role = user.get("role") if hasattr(user, "get") else None
    if (
        not getattr(user, "is_authenticated", False)
        or role not in ROLES
        or f"role:{role}" not in (ctx.permissions or [])
        or user.get("kind") == "StudioUser"
    ):
        raise _forbid("no principal: authenticate with an API key", 401)
    return Caller(
        id=str(user.identity),
        role=Role(role),
        tenant=user.get("tenant"),
        groups=tuple(user.get("groups") or ()),
    )


def _is_admin(caller: Caller) -> bool:
    return caller.role.at_least(Role.ADMIN)


def _owner_filter(caller: Caller) -> Auth.types.FilterType:
    return {"owner": caller.id}


def _refuse_unless(verdict: Verdict) -> None:
    if not verdict.allowed:
        raise _forbid(f"{verdict.reason_code.value}: {verdict.detail}")


async def _approver_verdict(caller: Caller, thread_id: object) -> Verdict:
    """Ask the policy whether the caller may decide a request pending on this thread.

    The ledger is SQLite: read it in a worker thread, never on the server's event loop.
    """
    requests = await asyncio.to_thread(lambda: _ledger().open_requests(str(thread_id)))
    groups = (await _config()).approval.groups
    return may_resume_as_approver(
        requests=requests, caller=caller, group_members=groups, now=time.time()
    )


def _has_read_grant(caller: Caller, thread_id: object) -> bool:
    expires = _read_grants.get((str(thread_id), caller.id))
    return expires is not None and expires > time.time()


def _grant_read(caller: Caller, thread_id: object) -> None:
    """Let an approver follow the run they resumed.

    Expired grants are dropped so the map stays small.
    """
    now = time.time()
    for key in [k for k, expires in _read_grants.items() if expires <= now]:
        del _read_grants[key]
    _read_grants[(str(thread_id), caller.id)] = now + READ_GRANT_S


def _stamp_owner(caller: Caller, metadata: dict[str, Any]) -> None:
    """Write owner and tenant into new metadata; refuse a client's claim of someone else."""
    claimed_owner = metadata.get("owner")
    if claimed_owner is not None and not same_person(claimed_owner, caller.id):
        raise _forbid("metadata.owner must be you: threads are owned by whoever creates them")
    claimed_tenant = metadata.get("tenant")
    if claimed_tenant is not None and not same_person(claimed_tenant, caller.tenant):
        raise _forbid("metadata.tenant must be your tenant")
    metadata["owner"] = caller.id
    metadata["tenant"] = caller.tenant


@auth.on.threads.create
async def on_thread_create(
    ctx: Auth.types.AuthContext, value: Auth.types.on.threads.create.value
) -> Auth.types.FilterType | None:
    """Stamp the creator as the owner; an existing thread id is only reused by its owner."""
    caller = _caller(ctx)
    if value.get("metadata") is None:
        value["metadata"] = {}
    _stamp_owner(caller, value["metadata"])
    return None if _is_admin(caller) else _owner_filter(caller)


@auth.on.threads.read
async def on_thread_read(
    ctx: Auth.types.AuthContext, value: Auth.types.on.threads.read.value
) -> Auth.types.FilterType | None:
    """Let owners, admins and the eligible approvers of a pending request read a thread."""
    caller = _caller(ctx)
    if _is_admin(caller):
        return None
    thread_id = value.get("thread_id")
    if thread_id is not None and (
        _has_read_grant(caller, thread_id) or (await _approver_verdict(caller, thread_id)).allowed
    ):
        return None
    return _owner_filter(caller)


@auth.on.threads.search
async def on_thread_search(
    ctx: Auth.types.AuthContext, value: Auth.types.on.threads.search.value
) -> Auth.types.FilterType | None:
    """List only the caller's own threads (admins see all)."""
    caller = _caller(ctx)
    return None if _is_admin(caller) else _owner_filter(caller)


@auth.on.threads.update
async def on_thread_update(
    ctx: Auth.types.AuthContext, value: Auth.types.on.threads.update.value
) -> Auth.types.FilterType | None:
    """Refuse `update_state` and metadata patches to non-admins; owners may cancel their runs."""
    caller = _caller(ctx)
    if _is_admin(caller):
        return None
    if value.get("action") in ("interrupt", "rollback"):  # runs.cancel arrives as an update
        return _owner_filter(caller)
    raise _forbid("updating a thread's state or metadata is reserved to admins")


@auth.on.threads.delete
async def on_thread_delete(
    ctx: Auth.types.AuthContext, value: Auth.types.on.threads.delete.value
) -> Auth.types.FilterType | None:
    """Let only the owner (or an admin) delete a thread; others get 404, as if it did not exist."""
    caller = _caller(ctx)
    return None if _is_admin(caller) else _owner_filter(caller)


@auth.on.threads.create_run
async def on_run_create(
    ctx: Auth.types.AuthContext, value: Auth.types.on.threads.create_run.value
) -> Auth.types.FilterType | None:
    """Judge the run before the server stores it: identity, steering, recursion cap, input, thread.

    A non-owner's run on someone else's thread is filtered out (404), so their input never lands
    there, unless they are an eligible approver sending only a resume.
    """
    caller = _caller(ctx)
    run = value.get("kwargs") or {}
    config = await _config()
    _refuse_unless(check_run_request(caller=caller, run=run, recursion_cap=config.recursion_limit))
    if run.get("input") is not None:
        run["input"] = await protected_input(config, value.get("thread_id"), run["input"])
    if value.get("metadata") is None:
        value["metadata"] = {}
    _stamp_owner(caller, value["metadata"])  # becomes the metadata of a thread this run creates
    thread_id = value.get("thread_id")
    if _is_admin(caller) or thread_id is None:
        return None
    command = run.get("command") or {}
    if "resume" in command and (await _approver_verdict(caller, thread_id)).allowed:
        _refuse_unless(
            check_run_request(
                caller=caller, run=run, recursion_cap=config.recursion_limit, resume_only=True
            )
        )
        _grant_read(caller, thread_id)
        return None
    return _owner_filter(caller)


@auth.on.assistants
async def on_assistants(
    ctx: Auth.types.AuthContext, value: dict[str, Any]
) -> Auth.types.FilterType | None:
    """Let every principal read and search assistants; only admins create, change or delete them."""
    caller = _caller(ctx)
    if ctx.action in ("read", "search") or _is_admin(caller):
        return None
    raise _forbid("changing assistants is reserved to admins")


@auth.on.crons
async def on_crons(ctx: Auth.types.AuthContext, value: dict[str, Any]) -> None:
    """Reserve crons to admins: a cron runs later as whoever scheduled it."""
    if not _is_admin(_caller(ctx)):
        raise _forbid("crons are reserved to admins")


@auth.on.store
async def on_store(ctx: Auth.types.AuthContext, value: dict[str, Any]) -> None:
    """Reserve the long-term store to admins: the graph does not use it."""
    if not _is_admin(_caller(ctx)):
        raise _forbid("the store is reserved to admins")


@auth.on
async def deny_everything_else(ctx: Auth.types.AuthContext, value: Any) -> bool:
    """Deny any resource or action not handled above, so a new server route fails closed."""
    return False
