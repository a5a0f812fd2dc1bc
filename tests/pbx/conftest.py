"""Fixtures of the real-PBX tests: the real-PostgreSQL fixtures of the integration tests, and
``bundle`` (skips on a developer's machine without the Asterisk bundle, fails on CI)."""

from __future__ import annotations

import pytest

from tests.integration.conftest import db_url, new_database, pg_server_url, pool
from tests.pbx.bundle import Bundle
from tests.pbx.bundle import bundle as locate_bundle

__all__ = ["db_url", "new_database", "pg_server_url", "pool"]


@pytest.fixture(scope="session")
def bundle() -> Bundle:
    return locate_bundle()
