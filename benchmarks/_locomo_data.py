"""LoCoMo conversations as messages, and their questions with normalized evidence.

LoCoMo (Maharana et al., ACL 2024, arXiv 2402.17753; CC BY-NC 4.0) is a list of samples, each
a long conversation between two people (``speaker_a``, ``speaker_b``) in sessions
``session_<n>`` dated by ``session_<n>_date_time`` ("1:56 pm on 8 May, 2023"), and questions
whose ``evidence`` names the turns (``dia_id``, e.g. ``D3:7``) that answer them.

How a sample becomes what an application would store:

- one user per sample (``locomo-<sample_id>``) and one conversation per sample;
- ``speaker_a`` is the ``user`` role and ``speaker_b`` the ``assistant`` role: the store
  models one user talking with a counterpart, and ``speaker_a`` is the person whose memory
  is being built (retrieval does not look at roles, so the choice does not change recall);
- content is ``"<speaker>: <text>"``, plus ``" [shares a photo of <caption>]"`` when the turn
  shared an image (its ``blip_caption``); the session date stays out of the text and goes to
  the timestamp: the session's date-time, plus one second per turn to keep the order;
- metadata: ``user_id`` (the owner, read by the store), ``dia_id``, ``speaker``, ``session``.

Evidence strings are normalized: ``'D8:6; D9:17'`` is split, ``'D:11:26'`` becomes ``D11:26``,
``'D30:05'`` becomes ``D30:5``; what names no turn of the conversation is dropped and
counted, and a question left without evidence is excluded and counted.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bruno_core.models.message import Message, MessageRole

#: The question categories scored: 1 multi-hop, 2 temporal, 3 open-domain, 4 single-hop
#: (5, adversarial, has no answer in the conversation).
CATEGORIES = {1: "multi-hop", 2: "temporal", 3: "open-domain", 4: "single-hop"}

_SESSION = re.compile(r"session_(\d+)")
_EVIDENCE = re.compile(r"D:?(\d+):(\d+)")
_SEPARATORS = re.compile(r"[;,\s]+")
_CAPTION_LEAD = re.compile(r"^(?:a|an)\s+(?:photo|photograph|photography|picture|image)\s+of\s+")
_DATE_FORMAT = "%I:%M %p on %d %B, %Y"
_ID_NAMESPACE = uuid.UUID("0c9a3a4e-5b7d-4d52-9f0e-7c1c5f0d2a61")


@dataclass(frozen=True)
class Turn:
    """One turn of a conversation."""

    dia_id: str
    speaker: str
    text: str
    caption: str | None
    session: int
    timestamp: dt.datetime


@dataclass(frozen=True)
class Question:
    """A scored question and the turns that answer it (normalized, all present)."""

    index: int  # position in the sample's ``qa`` list
    text: str
    category: int
    evidence: tuple[str, ...]


@dataclass
class Sample:
    """One conversation and its scored questions."""

    sample_id: str
    speaker_a: str
    speaker_b: str
    turns: list[Turn]
    questions: list[Question]
    quirks: Counter[str] = field(default_factory=Counter)
    dropped_evidence: list[str] = field(default_factory=list)

    @property
    def user_id(self) -> str:
        """The user owning the sample's conversation."""
        return f"locomo-{self.sample_id}"

    @property
    def conversation_id(self) -> str:
        """The sample's conversation."""
        return f"locomo-{self.sample_id}"

    def sessions(self) -> list[list[Message]]:
        """The conversation as messages, one list per session, in order."""
        grouped: dict[int, list[Message]] = {}
        for turn in self.turns:
            grouped.setdefault(turn.session, []).append(self._message(turn))
        return [grouped[number] for number in sorted(grouped)]

    def _message(self, turn: Turn) -> Message:
        content = f"{turn.speaker}: {turn.text}"
        if turn.caption:
            content += f" [shares a photo of {_CAPTION_LEAD.sub('', turn.caption.strip())}]"
        return Message(
            id=uuid.uuid5(_ID_NAMESPACE, f"{self.sample_id}:{turn.dia_id}"),
            role=MessageRole.USER if turn.speaker == self.speaker_a else MessageRole.ASSISTANT,
            content=content,
            timestamp=turn.timestamp,
            metadata={
                "user_id": self.user_id,
                "dia_id": turn.dia_id,
                "speaker": turn.speaker,
                "session": turn.session,
            },
        )


def load(path: Path, categories: tuple[int, ...] = tuple(CATEGORIES)) -> list[Sample]:
    """The samples of a LoCoMo JSON file, with the questions of ``categories``."""
    return [_sample(raw, categories) for raw in json.loads(path.read_text())]


def parse_session_time(text: str) -> dt.datetime:
    """``"1:56 pm on 8 May, 2023"`` as an aware UTC datetime (LoCoMo gives no time zone)."""
    parsed = dt.datetime.strptime(" ".join(text.split()), _DATE_FORMAT)
    return parsed.replace(tzinfo=dt.timezone.utc)


def normalize_dia_id(text: str) -> str | None:
    """``D3:7`` for ``D3:7``, ``D:3:7`` or ``D03:07``; None for anything else."""
    match = _EVIDENCE.fullmatch(text.strip())
    return f"D{int(match[1])}:{int(match[2])}" if match else None


def normalize_evidence(raw: list[Any], known: set[str]) -> tuple[list[str], int, list[str]]:
    """The evidence ids naming turns in ``known`` (deduplicated), how many malformed strings
    were repaired, and the pieces dropped (malformed beyond repair or naming no turn)."""
    kept: dict[str, None] = {}
    repaired = 0
    dropped: list[str] = []
    for entry in raw:
        if entry in known:
            kept.setdefault(entry, None)
            continue
        valid = 0
        for piece in _SEPARATORS.split(str(entry)):
            dia_id = normalize_dia_id(piece) if piece else None
            if dia_id is not None and dia_id in known:
                kept.setdefault(dia_id, None)
                valid += 1
            elif piece:
                dropped.append(piece)
        repaired += valid > 0
    return list(kept), repaired, dropped


def _sample(raw: dict[str, Any], categories: tuple[int, ...]) -> Sample:
    conversation = raw["conversation"]
    turns: list[Turn] = []
    for key in sorted(
        (k for k in conversation if _SESSION.fullmatch(k)), key=lambda k: int(k.split("_")[1])
    ):
        number = int(key.split("_")[1])
        start = parse_session_time(conversation[f"{key}_date_time"])
        for position, turn in enumerate(conversation[key]):
            turns.append(
                Turn(
                    dia_id=normalize_dia_id(turn["dia_id"]) or turn["dia_id"],
                    speaker=turn["speaker"],
                    text=turn["text"],
                    caption=turn.get("blip_caption"),
                    session=number,
                    timestamp=start + dt.timedelta(seconds=position),
                )
            )
    known = {turn.dia_id for turn in turns}
    quirks: Counter[str] = Counter()
    dropped_ids: list[str] = []
    questions: list[Question] = []
    for index, qa in enumerate(raw["qa"]):
        if qa.get("category") not in categories:
            continue
        evidence, repaired, dropped = normalize_evidence(qa.get("evidence", []), known)
        quirks["evidence_strings_repaired"] += repaired
        quirks["evidence_ids_dropped"] += len(dropped)
        dropped_ids += dropped
        if not evidence:
            quirks["questions_without_valid_evidence"] += 1
            continue
        questions.append(Question(index, qa["question"], int(qa["category"]), tuple(evidence)))
    return Sample(
        sample_id=str(raw.get("sample_id", len(turns))),
        speaker_a=conversation["speaker_a"],
        speaker_b=conversation["speaker_b"],
        turns=turns,
        questions=questions,
        quirks=quirks,
        dropped_evidence=dropped_ids,
    )
