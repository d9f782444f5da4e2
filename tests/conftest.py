"""Test-wide guards: no network but loopback, no model hub."""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.pop("MEDLENS_RUN__TASKS", None)

_real_connect = socket.socket.connect


def _loopback_only(self: socket.socket, address: Any) -> Any:
    host = address[0] if isinstance(address, tuple) else None
    if host is not None and self.family in (socket.AF_INET, socket.AF_INET6):
        try:
            allowed = ipaddress.ip_address(host).is_loopback
        except ValueError:
            allowed = host == "localhost"
        if not allowed:
            raise RuntimeError(f"tests must not reach the network (tried {host})")
    return _real_connect(self, address)


@pytest.fixture(autouse=True, scope="session")
def _no_network() -> Iterator[None]:
    socket.socket.connect = _loopback_only  # type: ignore[method-assign]
    yield
    socket.socket.connect = _real_connect  # type: ignore[method-assign]


# --- databases: every storage test runs on SQLite and on a real PostgreSQL ------------------------------------------
# PostgreSQL: ``MEDLENS_TEST_PG_URL`` if set (its public schema is reset per test), else one throwaway cluster per run
# started from the Debian binaries (a fresh database per test). Without the binaries the PostgreSQL cases are skipped,
# unless ``MEDLENS_REQUIRE_PG=1`` (set by the README test command), which makes them fail.


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Any]:
    from medlens.store.pgcluster import TemporaryPostgres, find_pg_bin

    external = os.environ.get("MEDLENS_TEST_PG_URL")
    if external:
        yield external
        return
    if find_pg_bin() is None:
        if os.environ.get("MEDLENS_REQUIRE_PG") == "1":
            pytest.fail("MEDLENS_REQUIRE_PG=1 but no /usr/lib/postgresql/*/bin/initdb: apt-get install -y postgresql")
        yield None
        return
    with TemporaryPostgres() as cluster:
        yield cluster


def _reset_schema(url: str) -> None:
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP SCHEMA public CASCADE")
        conn.exec_driver_sql("CREATE SCHEMA public")
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path, pg_cluster: Any) -> Iterator[str]:
    from sqlalchemy.engine import make_url

    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'medlens.db'}"
        return
    if pg_cluster is None:
        pytest.skip("PostgreSQL binaries not installed (set MEDLENS_REQUIRE_PG=1 to fail instead)")
    if isinstance(pg_cluster, str):
        _reset_schema(pg_cluster)
        yield pg_cluster
        return
    url = pg_cluster.create_database()
    yield url
    pg_cluster.drop_database(str(make_url(url).database))
