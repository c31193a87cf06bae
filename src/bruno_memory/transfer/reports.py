"""What an export, an import or a copy did, kind by kind."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field


class LoadCounts(BaseModel):
    """What an import did with the records of one kind."""

    inserted: int = 0
    replaced: int = 0
    unchanged: int = 0
    kept: int = Field(default=0, description="Stored rows that changed after the record did.")

    def __add__(self, other: LoadCounts) -> LoadCounts:
        return LoadCounts(
            inserted=self.inserted + other.inserted,
            replaced=self.replaced + other.replaced,
            unchanged=self.unchanged + other.unchanged,
            kept=self.kept + other.kept,
        )

    @property
    def total(self) -> int:
        return self.inserted + self.replaced + self.unchanged + self.kept


class ExportReport(BaseModel):
    """An export: how many records of each kind it wrote, and its watermark (give it as
    ``since`` to the next incremental export)."""

    model_config = ConfigDict(frozen=True)

    records: dict[str, int]
    exported_at: dt.datetime
    since: dt.datetime | None = None


class ImportReport(BaseModel):
    """An import: per kind, what happened to its records."""

    model_config = ConfigDict(frozen=True)

    kinds: dict[str, LoadCounts]
    records: int

    @property
    def changed(self) -> int:
        """Records that were inserted or replaced (0: the import changed nothing)."""
        return sum(counts.inserted + counts.replaced for counts in self.kinds.values())


class KindDigest(BaseModel):
    """The records of one kind in a store: how many, and a checksum of their content that
    does not depend on their order (:mod:`bruno_memory.transfer.digest`)."""

    model_config = ConfigDict(frozen=True)

    count: int
    checksum: str


class CopyReport(BaseModel):
    """A copy: what the import did, and the digests of both stores after it (equal when
    ``verified``)."""

    model_config = ConfigDict(frozen=True)

    imported: ImportReport
    source: dict[str, KindDigest]
    target: dict[str, KindDigest]

    @property
    def verified(self) -> bool:
        return self.source == self.target
