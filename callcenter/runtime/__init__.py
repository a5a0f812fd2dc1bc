"""Running long-lived work: the supervisor of the server's loops, ``periodic()`` turns and the
watchdog that tells ``/healthz`` whether every part still makes progress.

Imports nothing of the product but :mod:`callcenter.metrics`, so every package may use it.
"""
