"""Fixtures of the Python tests: a scratch database per test, on SQLite (a temporary
file) and on PostgreSQL (a schema of its own on the server that
PANGEO_FORGE_TEST_POSTGRES_URL names), and the objects built on it.

    pytest tests/python --backend=sqlite        # one backend
    pytest tests/python                         # SQLite, and PostgreSQL when configured

With PANGEO_FORGE_TEST_REQUIRE_POSTGRES set, a missing server fails instead of skipping.
"""

import os
import uuid
from urllib.parse import quote

import pytest

import pangeo_forge as pf
from fields import API_KEY, BAKERY, FEEDSTOCK


def pytest_addoption(parser):
    parser.addoption("--backend", action="append", choices=["sqlite", "postgresql"],
                     help="database backend to run the database tests on (repeatable)")


def pytest_configure(config):
    config.addinivalue_line("markers", "only_backend(name): the test is about one backend's behaviour")


def pytest_generate_tests(metafunc):
    if "backend" in metafunc.fixturenames:
        chosen = metafunc.config.getoption("backend") or ["sqlite", "postgresql"]
        only = metafunc.definition.get_closest_marker("only_backend")
        if only:
            chosen = [name for name in chosen if name in only.args]
        metafunc.parametrize("backend", chosen or [pytest.param("none", marks=pytest.mark.skip(
            reason="about another backend than the one chosen"))])


def postgres_server_url():
    url = os.environ.get("PANGEO_FORGE_TEST_POSTGRES_URL")
    if not url:
        if os.environ.get("PANGEO_FORGE_TEST_REQUIRE_POSTGRES"):
            pytest.fail("PANGEO_FORGE_TEST_POSTGRES_URL is not set; scripts/test.sh starts a server and sets it")
        pytest.skip("no PostgreSQL server: set PANGEO_FORGE_TEST_POSTGRES_URL")
    return url


@pytest.fixture
def database_url(backend, tmp_path):
    """A URL to an empty database of its own."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'forge.db'}"
        return
    server_url = postgres_server_url()
    schema = "pytest_" + uuid.uuid4().hex[:12]
    server = pf.Database(server_url, pool_size=1)
    server.execute(f"CREATE SCHEMA {schema}")
    separator = "&" if "?" in server_url else "?"
    yield f"{server_url}{separator}options={quote(f'-c search_path={schema}')}"
    server.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture
def database(database_url):
    return pf.Database(database_url)


@pytest.fixture
def migrations(database):
    return pf.Migrations(database)


@pytest.fixture
def forge(database, migrations):
    """An orchestrator on a database at head."""
    migrations.upgrade("head")
    return pf.Orchestrator(database)


@pytest.fixture
def router(forge):
    return pf.Router(forge, api_keys=[API_KEY, "another-key"])


@pytest.fixture
def stocked(forge):
    """The orchestrator with one bakery and one feedstock: (forge, bakery, feedstock)."""
    bakery = forge.create(pf.BakeryCreate(**BAKERY))
    feedstock = forge.create(pf.FeedstockCreate(**FEEDSTOCK))
    return forge, bakery, feedstock
