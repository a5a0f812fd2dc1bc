"""Background work (speech-to-text, QA) through a durable job queue in PostgreSQL.

    queue    claims under a lease, retries with backoff, completion only while the lease is ours
    worker   the runtime a worker process shares: claim, heartbeat, retries, metrics, signals
    stats    the queue seen from the server: depth, oldest job, expired leases, stalled kinds
"""
