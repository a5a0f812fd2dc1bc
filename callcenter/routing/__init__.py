"""Skill-based routing: a pure router (events in, decisions out), its policy as data, the engine
that runs it, the agents' service and its storage, the IVR's hand-off, the AMI offer adapter,
live statistics and the what-if simulator."""
