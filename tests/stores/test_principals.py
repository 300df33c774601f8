"""The principal directory: keys are shown once, stored only as salted hashes, and fail closed."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from safe_agent.stores.principals import PrincipalDirectory, PrincipalError, PrincipalRecord

NOW = 1_800_000_000.0


@pytest.fixture
def directory(tmp_path: Path) -> PrincipalDirectory:
    return PrincipalDirectory(tmp_path / "home" / "principals.sqlite")


def test_principals_add_then_authenticate_returns_the_record(directory: PrincipalDirectory) -> None:
    record, key = directory.add("u-123", role="write", tenant="Acme", groups=["Finance"], now=NOW)
    assert key.startswith(f"sa_{record.key_id}_")
    assert record == PrincipalRecord(
        id="u-123",
        role="write",
        tenant="acme",
        groups=("finance",),
        status="active",
        created_at=NOW,
        key_id=record.key_id,
    )
    assert directory.authenticate(key) == record
    assert directory.get("U-123") == record
    assert directory.list() == [record]


def test_principals_to_dict_has_no_key_material(directory: PrincipalDirectory) -> None:
    record, key = directory.add("u-1", role="read", now=NOW)
    data = record.to_dict()
    assert set(data) == {"id", "role", "tenant", "groups", "status", "created_at", "key_id"}
    assert key.split("_", 2)[2] not in repr(data)


def test_principals_revoked_key_is_refused_at_once(directory: PrincipalDirectory) -> None:
    _, key = directory.add("u-1", role="write", now=NOW)
    assert directory.revoke("U-1", now=NOW + 1) is True
    assert directory.authenticate(key) is None
    assert directory.get("u-1").status == "revoked"
    assert directory.revoke("u-1", now=NOW + 2) is False
    with pytest.raises(PrincipalError) as exc:
        directory.rotate("u-1", now=NOW + 3)
    assert exc.value.reason_code == "principal_revoked"


def test_principals_rotate_refuses_the_old_key(directory: PrincipalDirectory) -> None:
    record, old = directory.add("u-1", role="write", now=NOW)
    new = directory.rotate("u-1", now=NOW + 1)
    assert new != old
    assert directory.authenticate(old) is None
    rotated = directory.authenticate(new)
    assert rotated is not None and rotated.id == "u-1" and rotated.key_id != record.key_id


def test_principals_unknown_id_is_named(directory: PrincipalDirectory) -> None:
    for change in (directory.revoke, directory.rotate):
        with pytest.raises(PrincipalError) as exc:
            change("nobody", now=NOW)
        assert exc.value.reason_code == "no_such_principal"
    assert directory.get("nobody") is None and directory.get("not an id!") is None


def test_principals_file_holds_no_secret_in_plain(directory: PrincipalDirectory) -> None:
    _, key = directory.add("u-1", role="admin", now=NOW)
    rotated = directory.rotate("u-1", now=NOW + 1)
    raw = b"".join(p.read_bytes() for p in Path(directory.path).parent.iterdir())
    for issued in (key, rotated):
        secret = issued.split("_", 2)[2]
        assert secret.encode() not in raw
        assert issued.encode() not in raw


def test_principals_file_mode_is_0600(directory: PrincipalDirectory) -> None:
    directory.add("u-1", role="read", now=NOW)
    for file in Path(directory.path).parent.iterdir():
        assert stat.S_IMODE(os.stat(file).st_mode) == 0o600, file.name


def test_principals_existing_file_is_tightened_to_0600(tmp_path: Path) -> None:
    path = tmp_path / "principals.sqlite"
    path.touch(mode=0o644)
    os.chmod(path, 0o644)
    PrincipalDirectory(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


@pytest.mark.parametrize(
    "variant",
    ["U-REQ", "ｕ-ｒｅｑ", " u-req ", "U-req"],
    ids=["upper", "fullwidth", "padded", "mixed"],
)
def test_principals_id_variants_are_one_principal(
    directory: PrincipalDirectory, variant: str
) -> None:
    record, _ = directory.add("u-req", role="write", now=NOW)
    assert directory.get(variant) == record
    with pytest.raises(PrincipalError) as exc:
        directory.add(variant, role="admin", now=NOW)
    assert exc.value.reason_code == "principal_exists"
    assert [r.id for r in directory.list()] == ["u-req"]


@pytest.mark.parametrize(
    "bad",
    ["", "   ", "a b", "u\u200b1", "x" * 200, "-lead"],
    ids=["empty", "blank", "space", "zero-width", "too-long", "leading-dash"],
)
def test_principals_invalid_id_is_refused(directory: PrincipalDirectory, bad: str) -> None:
    with pytest.raises(PrincipalError) as exc:
        directory.add(bad, role="read", now=NOW)
    assert exc.value.reason_code == "invalid_identity"
    assert directory.is_empty()


def test_principals_invalid_role_and_group_are_refused(directory: PrincipalDirectory) -> None:
    with pytest.raises(PrincipalError) as exc:
        directory.add("u-1", role="root", now=NOW)
    assert exc.value.reason_code == "invalid_role"
    with pytest.raises(PrincipalError) as exc:
        directory.add("u-1", role="read", groups=["bad group"], now=NOW)
    assert exc.value.reason_code == "invalid_identity"
    assert directory.is_empty()


def test_principals_bootstrap_only_while_empty(directory: PrincipalDirectory) -> None:
    assert directory.is_empty()
    record, key = directory.bootstrap("Ops-1", now=NOW)
    assert (record.id, record.role) == ("ops-1", "admin")
    assert directory.authenticate(key) == record
    with pytest.raises(PrincipalError) as exc:
        directory.bootstrap("ops-2", now=NOW)
    assert exc.value.reason_code == "directory_not_empty"
    directory.add("ops-3", role="admin", now=NOW)
    directory.revoke("ops-1", now=NOW)  # a revoked principal still counts: bootstrap stays closed
    with pytest.raises(PrincipalError):
        directory.bootstrap("ops-2", now=NOW)


def test_principals_bootstrap_race_has_exactly_one_winner(tmp_path: Path) -> None:
    path = tmp_path / "principals.sqlite"
    PrincipalDirectory(path)
    barrier = threading.Barrier(8)
    outcomes: list[str] = []

    def contender(n: int) -> None:
        directory = PrincipalDirectory(path)
        barrier.wait()
        try:
            directory.bootstrap(f"ops-{n}", now=NOW)
            outcomes.append("won")
        except PrincipalError as exc:
            outcomes.append(exc.reason_code)

    threads = [threading.Thread(target=contender, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["directory_not_empty"] * 7 + ["won"]
    assert len(PrincipalDirectory(path).list()) == 1


@pytest.mark.parametrize(
    "key",
    [None, "", "x" * 10_000_000, "sa_x_y", "sa_", 42, b"sa_0123456789ab_" + b"a" * 43],
    ids=["none", "empty", "10MB", "short", "prefix-only", "int", "bytes"],
)
def test_principals_malformed_key_is_none(directory: PrincipalDirectory, key: object) -> None:
    directory.add("u-1", role="admin", now=NOW)
    assert directory.authenticate(key) is None  # type: ignore[arg-type]


def test_principals_tampered_key_is_refused(directory: PrincipalDirectory) -> None:
    record, key = directory.add("u-1", role="admin", now=NOW)
    last = "B" if key[-1] != "B" else "C"
    assert directory.authenticate(key[:-1] + last) is None
    assert directory.authenticate(key + "x") is None
    assert directory.authenticate(f" {key}") is None
    other_id = "0" * 12 if record.key_id != "0" * 12 else "1" * 12
    assert directory.authenticate(key.replace(record.key_id, other_id)) is None


@pytest.fixture
def issued(directory: PrincipalDirectory) -> tuple[PrincipalDirectory, str, str]:
    record, key = directory.add("u-1", role="admin", now=NOW)
    return directory, key, record.key_id


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],  # one directory for all examples
)
@given(data=st.data())
def test_principals_authenticate_never_raises_nor_admits_a_guess(
    issued: tuple[PrincipalDirectory, str, str], data: st.DataObject
) -> None:
    directory, key, key_id = issued
    secret = st.from_regex(r"[A-Za-z0-9_-]{43}", fullmatch=True)
    guess = data.draw(
        st.one_of(
            st.none(),
            st.text(max_size=80),
            st.from_regex(r"sa_[0-9a-f]{12}_[A-Za-z0-9_-]{43}", fullmatch=True),
            secret.map(lambda s: f"sa_{key_id}_{s}"),  # the real key id: the hash decides
            st.text(max_size=3).map(lambda t: key[: len(key) - len(t)] + t),
        )
    )
    if guess == key:
        return
    assert directory.authenticate(guess) is None
    assert directory.authenticate(key) is not None  # the issued key still works


def test_the_last_active_admin_cannot_be_revoked(tmp_path) -> None:
    directory = PrincipalDirectory(tmp_path / "principals.sqlite")
    directory.bootstrap("ops-1", now=0.0)
    with pytest.raises(PrincipalError) as refused:
        directory.revoke("ops-1", now=1.0)
    assert refused.value.reason_code == "last_admin" and directory.get("ops-1").status == "active"
    directory.add("ops-2", role="admin", now=2.0)
    assert directory.revoke("ops-1", now=3.0) is True
    with pytest.raises(PrincipalError):
        directory.revoke("ops-2", now=4.0)
