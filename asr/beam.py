"""Beam search over Whisper's next-token log-probabilities (greedy is a beam of one).

Each step extends every live hypothesis by one token and keeps the best ``beams`` that did not
end; an ending that ranks among the best ``beams`` is a finished hypothesis. The search stops
once ``beams`` hypotheses have finished or none is left alive; the best is the one with the
highest mean log-probability per token.
"""

from __future__ import annotations

import math
from typing import Any

Hypothesis = tuple[list[int], list[float]]  # token ids, the log-probability of each


class BeamSearch:
    """Args:
        torch: the torch module (imported by the caller, which owns the model).
        beams: how many hypotheses stay alive.
        eot: the end-of-text token.
    """

    def __init__(self, torch: Any, beams: int, eot: int) -> None:
        self._torch = torch
        self.beams = beams
        self.eot = eot
        self.live: list[Hypothesis] = [([], [])] * beams
        self.scores = torch.full((beams,), -math.inf)  # each live hypothesis's summed score
        self.scores[0] = 0.0  # the beams start identical: only one is alive at first
        self.done: list[Hypothesis] = []
        self.keep: list[int] = []  # which previous beam each live hypothesis extends

    def advance(self, logp: Any) -> bool:
        """Extend the live hypotheses by one token (``logp``: beams x vocabulary).

        Returns False when the search is over (nothing is changed then).
        """
        total = (self.scores[:, None] + logp).reshape(-1)
        top_scores, top = self._torch.topk(total, 2 * self.beams)
        keep: list[int] = []
        live: list[Hypothesis] = []
        scores: list[float] = []
        vocab = logp.shape[-1]
        for rank, (score, flat) in enumerate(zip(top_scores.tolist(), top.tolist(), strict=True)):
            if score == -math.inf:
                break
            beam, token = divmod(int(flat), vocab)
            ids, lps = self.live[beam]
            hypothesis = ([*ids, token], [*lps, float(logp[beam, token])])
            if token == self.eot:
                if rank < self.beams:
                    self.done.append(hypothesis)
            elif len(live) < self.beams:
                live.append(hypothesis)
                scores.append(score)
                keep.append(beam)
        if len(self.done) >= self.beams or not live:
            return False
        while len(live) < self.beams:  # pad with dead copies
            live.append(live[0])
            scores.append(-math.inf)
            keep.append(keep[0])
        self.live, self.keep = live, keep
        self.scores = self._torch.tensor(scores)
        return True

    def last_tokens(self) -> list[list[int]]:
        """The next decoder input: each live hypothesis's last token."""
        return [[ids[-1]] for ids, _ in self.live]

    def best(self) -> Hypothesis:
        """The best finished hypothesis; out of budget, the best live one (a loop, cut later)."""
        done = self.done
        if not done:
            alive = [h for h, score in zip(self.live, self.scores.tolist(), strict=True) if score > -math.inf]
            done = alive[:1] or [([], [])]
        return max(done, key=lambda h: sum(h[1]) / max(1, len(h[1])))
