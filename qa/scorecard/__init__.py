"""Scorecards as data: weighted items over a call's transcript, each with its evidence."""

from qa.scorecard.loader import ScorecardError, load_scorecard, load_scorecards
from qa.scorecard.model import CallFacts, Evidence, ItemResult, Scorecard, Utt
from qa.scorecard.score import CardResult, score_call

__all__ = ["CallFacts", "CardResult", "Evidence", "ItemResult", "Scorecard", "ScorecardError", "Utt",
           "load_scorecard", "load_scorecards", "score_call"]
