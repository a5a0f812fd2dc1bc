"""Agents: profiles (skills with levels, languages, phone), their states, and the agents file;
the service that changes their states and its storage live with routing."""
