"""Evidence recall@k: the share of a question's evidence turns found in its top k hits."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

#: The cut-offs reported.
KS = (5, 10, 20)


@dataclass(frozen=True)
class Answered:
    """One question's evidence and the turns the search returned, best first."""

    sample_id: str
    index: int
    category: int
    evidence: tuple[str, ...]
    found: tuple[str, ...]

    def recall(self, k: int) -> float:
        """Share of the evidence among the first ``k`` hits."""
        top = set(self.found[:k])
        return sum(dia_id in top for dia_id in self.evidence) / len(self.evidence)

    def ranks(self) -> list[int | None]:
        """The 1-based rank of each evidence turn in the hits (None: not returned)."""
        positions = {dia_id: rank for rank, dia_id in enumerate(self.found, start=1)}
        return [positions.get(dia_id) for dia_id in self.evidence]


def mean_recall(answered: Iterable[Answered], ks: Sequence[int] = KS) -> dict[str, float | int]:
    """Recall@k averaged over questions (``n``: how many), rounded to 4 places."""
    chosen = list(answered)
    summary: dict[str, float | int] = {"n": len(chosen)}
    for k in ks:
        value = sum(a.recall(k) for a in chosen) / len(chosen) if chosen else 0.0
        summary[f"r@{k}"] = round(value, 4)
    return summary


def recall_report(answered: Sequence[Answered]) -> dict[str, dict[str, float | int]]:
    """Recall overall and per category (keys ``overall`` and the category numbers)."""
    report = {"overall": mean_recall(answered)}
    for category in sorted({a.category for a in answered}):
        report[str(category)] = mean_recall(a for a in answered if a.category == category)
    return report
