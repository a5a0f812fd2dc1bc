"""Recording: when calls are recorded, where the files go, and their registry."""
