"""Quality assurance: sentiment, scorecards and the QA worker."""
