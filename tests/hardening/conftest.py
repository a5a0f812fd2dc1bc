"""Re-exports the real-PostgreSQL fixtures of the integration tests."""

from tests.integration.conftest import db_url, fresh_pool, new_database, pg_server_url, pool

__all__ = ["db_url", "fresh_pool", "new_database", "pg_server_url", "pool"]
