"""``python -m callcenter`` runs the ``callcenter`` command (:mod:`callcenter.cli`).

It is run by name, not imported: the top-level modules (settings, clock, logging, metrics) sit
below every package, and the command sits above them all.
"""

import runpy

runpy.run_module("callcenter.cli", run_name="__main__", alter_sys=True)
