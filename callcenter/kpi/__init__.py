"""Service KPIs computed from the stored calls and tickets (see :mod:`callcenter.kpi.report`)."""
