"""The durable job queue in PostgreSQL (speech-to-text and QA work)."""

from callcenter.jobs.queue import Job, JobQueue

__all__ = ["Job", "JobQueue"]
