"""How sure the assistant is that some project answers the question, and when to abstain.

The top dense score alone separates in-scope from out-of-scope questions poorly: an
out-of-scope question (「燃えるごみの収集日は？」) can sit as close to a project as a vague
in-scope one. So the confidence combines several signals of one retrieval:

- ``dense_top``: the best passage cosine of the best project;
- ``lexical_top``: how much of the question the best project covers lexically (0–1);
- ``fused_margin`` / ``dense_margin``: how far the best project stands ahead of the next;
- ``agree``: whether dense and lexical retrieval put the same project first;
- ``negative_gap``: how much closer the best project is than the closest example of a topic
  no project covers (``corpus/out_of_scope.yaml``: garbage days, resident certificates …);
- ``japanese``: the question is Japanese (lexical matches weigh differently).

A logistic regression over these, fitted on ``eval/tuning/`` by ``assistant tune``, gives a
probability; below the tuned threshold the assistant abstains.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel

from assistant.search.retrievers import Retrieval

FEATURES: tuple[str, ...] = (
    "dense_top",
    "lexical_top",
    "fused_margin",
    "dense_margin",
    "agree",
    "negative_gap",
    "japanese",
)

Matrix = npt.NDArray[np.float64]


def features(retrieval: Retrieval, *, japanese: bool) -> npt.NDArray[np.float64]:
    """The confidence signals of one retrieval, in :data:`FEATURES` order.

    ``japanese`` says the question is Japanese: lexical coverage means more for Japanese
    questions (the corpus is mostly Japanese), so the model learns a separate baseline.
    """
    top = retrieval.order[0]
    fused = np.sort(retrieval.fused)[::-1]
    dense = np.sort(retrieval.dense)[::-1]
    agree = float(int(np.argmax(retrieval.dense)) == int(np.argmax(retrieval.lexical)) and retrieval.lexical.max() > 0)
    return np.array(
        [
            float(retrieval.dense[top]),
            float(retrieval.lexical[top]),
            float(fused[0] - fused[1]),
            float(dense[0] - dense[1]),
            agree,
            float(retrieval.dense[top] - retrieval.negative) if retrieval.negative else 0.0,
            float(japanese),
        ]
    )


class ConfidenceModel(BaseModel):
    """A fitted logistic regression over standardized :data:`FEATURES`."""

    features: list[str]
    mean: list[float]
    scale: list[float]
    weights: list[float]
    bias: float

    def probability(self, x: npt.NDArray[np.float64]) -> float:
        """P(in scope) for one feature vector."""
        z = (x - np.asarray(self.mean)) / np.asarray(self.scale)
        logit = float(z @ np.asarray(self.weights) + self.bias)
        return 1.0 / (1.0 + math.exp(-max(min(logit, 40.0), -40.0)))

    def probabilities(self, x: Matrix) -> npt.NDArray[np.float64]:
        """P(in scope) for a matrix of feature rows."""
        return np.array([self.probability(row) for row in x])


def fit_logistic(x: Matrix, y: npt.NDArray[np.float64], *, l2: float = 1.0, iterations: int = 50) -> ConfidenceModel:
    """Fit a logistic regression by Newton's method with an L2 penalty.

    Args:
        x: one row of :data:`FEATURES` per question.
        y: 1 for in-scope questions, 0 for those that must be abstained on.
        l2: ridge penalty on the (standardized) weights.
        iterations: Newton steps (it converges in a handful at this size).
    """
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale == 0] = 1.0
    z = np.hstack([(x - mean) / scale, np.ones((len(x), 1))])
    w = np.zeros(z.shape[1])
    penalty = np.eye(z.shape[1]) * l2
    penalty[-1, -1] = 0.0  # no penalty on the bias
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-np.clip(z @ w, -40, 40)))
        gradient = z.T @ (p - y) + penalty @ w
        hessian = (z.T * (p * (1 - p))) @ z + penalty
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return ConfidenceModel(
        features=list(FEATURES),
        mean=[float(v) for v in mean],
        scale=[float(v) for v in scale],
        weights=[float(v) for v in w[:-1]],
        bias=float(w[-1]),
    )
