"""The server: builds the parts, supervises their loops, serves HTTP and leads call control.

``build.build_server`` opens the database and starts everything (``parts``); ``callpath`` wires
the way of a call from the AMI link to routing, the console and recording; ``resync`` rebuilds the
live calls after (re)connecting; ``health`` says what ``/healthz`` checks; ``leadership`` keeps one
controller among several instances; ``replay`` runs an AMI capture through the tracker offline.
"""
