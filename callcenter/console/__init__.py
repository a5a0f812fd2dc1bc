"""The agent console: the screen-pop while the phone rings, a per-agent event feed that a
reconnecting browser catches up on, and the /agent page."""
