"""Knowledge base: articles with version history, Chinese/English full-text search, suggestions
for the call on the agent's screen, and the record of which articles agents open."""
