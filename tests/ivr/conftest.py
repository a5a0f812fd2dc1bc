"""The integration fixtures (a real PostgreSQL per test module) for the IVR's lookup tests."""

from tests.integration.conftest import db_url, new_database, pg_server_url, pool

__all__ = ["db_url", "new_database", "pg_server_url", "pool"]
