"""PostgreSQL storage: the pool (external or embedded server), migrations, the event log.

Only this package knows how to reach the database; callers get a :class:`~.db.Database` from
:func:`~.db.open_database` and never see the URL's password.
"""
