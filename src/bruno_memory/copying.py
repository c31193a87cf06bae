"""Copying one store into another, verified: SQLite to PostgreSQL and back.

The source's records (one snapshot) are imported into the target in batches
(:mod:`bruno_memory.transfer.load`), then both stores are read again and each kind's count
and checksum compared (:mod:`bruno_memory.transfer.digest`). A copy that is interrupted
(a crash, a kill) resumes when run again: what landed is stored already, so it changes
nothing, and the rest follows; the target never holds a record twice. The target ends
identical to the source when it held nothing else: whatever else it holds shows in the
comparison.
"""

from __future__ import annotations

from typing import Any

from bruno_memory.errors import CopyVerificationError
from bruno_memory.memory import Memory
from bruno_memory.transfer.digest import digest
from bruno_memory.transfer.export import Progress
from bruno_memory.transfer.load import BATCH_SIZE
from bruno_memory.transfer.reports import CopyReport


async def copy_store(
    source_url: str,
    target_url: str,
    *,
    embeddings: bool = True,
    batch_size: int = BATCH_SIZE,
    verify: bool = True,
    progress: Progress | None = None,
    **options: Any,
) -> CopyReport:
    """Copy every record of the store at ``source_url`` into the one at ``target_url``
    (created and migrated if new), vectors too unless ``embeddings=False``; with
    ``verify``, compare both stores after and raise
    :class:`~bruno_memory.errors.CopyVerificationError` when they differ. ``options`` are
    settings of both stores (``create_memory``'s)."""
    source = Memory(source_url, embedder=None, **options)
    target = Memory(target_url, embedder=None, **options)
    async with source, target:
        imported = await target.import_records(
            source.export_records(embeddings=embeddings), batch_size=batch_size, progress=progress
        )
        if not verify:
            return CopyReport(imported=imported, source={}, target={})
        report = CopyReport(
            imported=imported,
            source=await digest(source.export_records(embeddings=embeddings)),
            target=await digest(target.export_records(embeddings=embeddings)),
        )
    if not report.verified:
        differing = sorted(
            kind
            for kind in set(report.source) | set(report.target)
            if report.source.get(kind) != report.target.get(kind)
        )
        raise CopyVerificationError(
            f"the target differs from the source in its {', '.join(differing)} records (did it "
            "hold other data, or was either written to during the copy?)",
            details={
                "differing": differing,
                "source": {k: v.model_dump() for k, v in report.source.items()},
                "target": {k: v.model_dump() for k, v in report.target.items()},
            },
        )
    return report
