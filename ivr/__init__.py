"""IVR: flow model, validator, interpreter and the AsyncAGI runner."""
