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
- ``example_gap``: the same, counting only the best project's resident-style questions: a need
  against a need, where a summary may share a near miss's topic words without its need;
- ``negative_share``: of the question's ten nearest resident-style questions (the projects'
  examples and the out-of-scope ones together), the share no project answers;
- ``negative_lexical``: how much more of the question's words the lexically closest topic no
  project covers shares than the best project does (冷蔵庫 is in no project's text, but is in the
  appliance-recycling topic's);
- ``named``: the question names the best project (its name or an alias, in any language);
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
    "example_gap",
    "negative_share",
    "negative_lexical",
    "named",
    "japanese",
)

FOLLOW_FEATURES: tuple[str, ...] = (
    "alone",
    "same_top",
    "previous_dense_gap",
    "previous_lexical",
    "context_gain",
    "content",
    "negative_vs_previous",
    "own_topic",
    "names_other",
    "names_previous",
    "refers",
    "aspect",
    "length",
    "negative_share",
)
"""Signals that a question in a conversation depends on the conversation's project (see :func:`follow_features`)."""

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
            float(retrieval.examples[top] - retrieval.negative) if retrieval.examples is not None else 0.0,
            retrieval.negative_share,
            retrieval.negative_lexical - float(retrieval.lexical[top]),
            float(retrieval.named[top]) if retrieval.named is not None else 0.0,
            float(japanese),
        ]
    )


def follow_features(
    alone: Retrieval,
    confidence: float,
    context: Retrieval,
    context_confidence: float,
    previous: int,
    *,
    refers: bool,
    aspect: bool,
    length: int,
) -> npt.NDArray[np.float64]:
    """How much a question leans on the conversation's project, in :data:`FOLLOW_FEATURES` order.

    - ``alone``: the question's confidence on its own (a confident question has a topic of its own);
    - ``same_top``: on its own, its best project is the conversation's;
    - ``previous_dense_gap`` / ``previous_lexical``: how close the conversation's project is to the
      question on its own, by meaning and by words;
    - ``context_gain``: how much surer the assistant becomes of the conversation's project when the
      question is read together with that project's name (minus the confidence alone if another
      project comes first then);
    - ``content``: how much searchable content the question carries (its BM25 ceiling, log scale);
    - ``negative_vs_previous``: how much closer the question is to a topic no project covers than to
      the conversation's project;
    - ``own_topic``: how much closer it is to anything else (another project, or a topic no project
      covers) than to the conversation's project;
    - ``names_other`` / ``names_previous``: it names its best project on its own, not the
      conversation's, or names the conversation's project;
    - ``refers``: it opens with a word pointing back (それ, その, there, it …);
    - ``aspect``: it asks an aspect (where, who, when, cost, contact, how to apply) and so may have
      elided its subject;
    - ``length``: its length in characters (log scale): follow-ups are short;
    - ``negative_share``: of its nearest resident-style questions, the share no project answers
      (thanks, the weather, a need of its own that no project covers).
    """
    top = alone.order[0]
    gain = context_confidence - confidence if context.order[0] == previous else -confidence
    others = np.delete(alone.dense, previous)
    named = alone.named if alone.named is not None else np.zeros(len(alone.dense))
    return np.array(
        [
            confidence,
            float(top == previous),
            float(alone.dense[previous] - alone.dense[top]),
            float(alone.lexical[previous]),
            gain,
            math.log1p(alone.ceiling),
            float(alone.negative - alone.dense[previous]) if alone.negative else 0.0,
            float(max(alone.negative, float(others.max())) - alone.dense[previous]),
            float(named[top] > 0 and top != previous),
            float(named[previous]),
            float(refers),
            float(aspect),
            math.log1p(length),
            alone.negative_share,
        ]
    )


class LogisticModel(BaseModel):
    """A fitted logistic regression over standardized features (fitted by scikit-learn, applied here).

    Inference needs only the stored coefficients, so serving never imports scikit-learn.
    """

    features: list[str]
    mean: list[float]
    scale: list[float]
    weights: list[float]
    bias: float

    def probability(self, x: npt.NDArray[np.float64]) -> float:
        """P(positive) for one feature vector."""
        z = (x - np.asarray(self.mean)) / np.asarray(self.scale)
        logit = float(z @ np.asarray(self.weights) + self.bias)
        return 1.0 / (1.0 + math.exp(-max(min(logit, 40.0), -40.0)))

    def probabilities(self, x: Matrix) -> npt.NDArray[np.float64]:
        """P(positive) for a matrix of feature rows."""
        return np.array([self.probability(row) for row in x])


ConfidenceModel = LogisticModel
"""The abstention model: P(some project answers the question) over :data:`FEATURES`."""


def fit_logistic(
    x: Matrix, y: npt.NDArray[np.float64], *, features: tuple[str, ...] = FEATURES, c: float = 1.0
) -> LogisticModel:
    """Fit a logistic regression with scikit-learn (standardized inputs, L2 penalty).

    Args:
        x: one row of ``features`` per example.
        y: 1 for positives (e.g. in-scope questions), 0 for negatives.
        features: the names of the columns, stored with the model.
        c: inverse regularisation strength.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler().fit(x)
    scale = np.where(scaler.scale_ == 0, 1.0, scaler.scale_)
    model = LogisticRegression(C=c, max_iter=1000).fit((x - scaler.mean_) / scale, y)
    return LogisticModel(
        features=list(features),
        mean=[float(v) for v in scaler.mean_],
        scale=[float(v) for v in scale],
        weights=[float(v) for v in model.coef_[0]],
        bias=float(model.intercept_[0]),
    )
