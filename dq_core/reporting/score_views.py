"""The report's "Quality scores" section: the run's overall score and one bar per dimension (docs/scores.md)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from markupsafe import Markup

from dq_core.reporting import charts
from dq_core.results.run import RunResult, scores_of
from dq_core.results.scores import ScoredDimension

GOOD_FROM: Final = 95.0  # a score from here is shown green
WARN_FROM: Final = 80.0  # from here amber, below it red


def tone(score: float | None) -> str:
    """``good``, ``warn`` or ``bad`` for a score; empty when there is none."""
    if score is None:
        return ""
    return "good" if score >= GOOD_FROM else ("warn" if score >= WARN_FROM else "bad")


def score_text(score: float | None) -> str:
    return "—" if score is None else f"{score:.2f}".rstrip("0").rstrip(".")


_COLOUR = {"good": charts.GOOD, "warn": charts.WARN, "bad": charts.BAD}


@dataclass(frozen=True)
class ScoreRow:
    dimension: str
    score: float | None
    text: str
    tone: str
    bar: Markup
    rules: int
    weight: int


@dataclass(frozen=True)
class ScoreSection:
    overall: float | None
    text: str
    tone: str
    bar: Markup
    rows: list[ScoreRow]


def score_section(result: RunResult) -> ScoreSection | None:
    """The section's view, or None when the run has no scores (it stopped before validating). A result written
    before runs carried scores is scored from its validation."""
    scores = scores_of(result)
    if scores is None:
        return None
    rows = []
    for dimension in ScoredDimension:
        entry = scores.dimensions.get(dimension.value)
        score = entry.score if entry else None
        kind = tone(score)
        bar = (
            charts.share_bar(score, f"{dimension.value} score {score_text(score)}", width=240, colour=_COLOUR[kind])
            if score is not None
            else Markup("")
        )
        rows.append(
            ScoreRow(
                dimension=dimension.value,
                score=score,
                text=score_text(score),
                tone=kind,
                bar=bar,
                rules=entry.rules if entry else 0,
                weight=entry.weight if entry else 0,
            )
        )
    overall = scores.overall
    kind = tone(overall)
    bar = (
        charts.share_bar(overall, f"overall score {score_text(overall)}", width=240, colour=_COLOUR[kind])
        if overall is not None
        else Markup("")
    )
    return ScoreSection(overall=overall, text=score_text(overall), tone=kind, bar=bar, rows=rows)
