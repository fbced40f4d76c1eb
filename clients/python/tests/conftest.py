"""The tests run against a real `retune serve`, which the Go test TestPythonClient
(cmd/retune) starts on SQLite and on PostgreSQL, passing:

    RETUNE_TEST_URL          the server's base URL
    RETUNE_TEST_ADMIN_TOKEN  an admin token (creates studies)
    RETUNE_TEST_RUN_TOKEN    a run token
    RETUNE_TEST_BIN          the retune binary (for retune run)

Without them every test skips, saying so."""

import os
import uuid

import pytest


def _env(name):
    v = os.environ.get(name)
    if not v:
        pytest.skip(f"{name} is not set: run these tests through `go test ./cmd/retune -run TestPythonClient`")
    return v


@pytest.fixture(scope="session")
def url():
    return _env("RETUNE_TEST_URL")


@pytest.fixture(scope="session")
def admin_token():
    return _env("RETUNE_TEST_ADMIN_TOKEN")


@pytest.fixture(scope="session")
def run_token():
    return _env("RETUNE_TEST_RUN_TOKEN")


@pytest.fixture(scope="session")
def retune_bin():
    return _env("RETUNE_TEST_BIN")


@pytest.fixture
def client(url, admin_token):
    import retune

    return retune.connect(url, token=admin_token, retry_for=10)


@pytest.fixture
def name():
    return "py-" + uuid.uuid4().hex[:10]
