"""Staffing: how many agents an interval needs (Erlang C)."""
