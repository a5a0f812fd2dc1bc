"""The one-command demo: seed data, simulator, server and workers together."""
