"""Order context: who is calling, their orders, items and shipments, and callback tickets.

:class:`~callcenter.orders.provider.OrderContextProvider` is the interface the IVR and the
screen-pop read through; :mod:`callcenter.orders.postgres` implements it over the shop tables of
migration 001. :mod:`callcenter.orders.tickets` writes the IVR's callback tickets.
"""
