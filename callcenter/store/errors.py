"""Storage errors. Messages name the server (host, port, database), never a password.

    StoreError
     ├── DatabaseUnavailable   cannot connect, or the link broke: retrying later may work
     ├── MigrationError        the migration files or the recorded schema history disagree
     └── BufferFull            the event log buffer is full (the database has been away too long)
"""

from __future__ import annotations


class StoreError(Exception):
    """Base class of every error the storage layer raises."""


class DatabaseUnavailable(StoreError):
    """The database cannot be reached (refused, timed out, restarting, wrong credentials)."""


class MigrationError(StoreError):
    """A migration is missing, unknown to this program, edited after being applied, or failed."""


class BufferFull(StoreError):
    """The event log writer holds ``max_buffer`` rows already; the new row was not taken."""
