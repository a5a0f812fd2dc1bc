"""After-sales tickets: the workflow (pure) and its store."""
