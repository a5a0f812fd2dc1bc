"""Agents: profiles (skills with levels, languages, phone), states, their storage and service."""
