"""Skill-based routing: a pure router (events in, decisions out), its policy as data, the AMI
offer adapter, live statistics and the what-if simulator."""
