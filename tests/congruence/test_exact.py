"""What only the exact index promises: ties broken by ``(kind, item_id)``, in any load order."""

from __future__ import annotations

import random
import uuid
from dataclasses import replace

import numpy as np

from bruno_memory.adapters.vector.exact import ExactVectorIndex
from bruno_memory.ports.vector import ItemKind, VectorFilter
from tests.congruence.dataset import UNIFORM, Dataset
from tests.congruence.reference import keys


async def test_ties_are_ordered_by_kind_then_item_id(small_dataset: Dataset) -> None:
    template = small_dataset.of_model(UNIFORM)[0]
    kinds: list[ItemKind] = ["message", "memory"]
    twins = [
        replace(template, kind=kind, item_id=uuid.UUID(int=random.Random(n).getrandbits(128)))
        for n, kind in enumerate(kinds * 10)
    ]
    expected = sorted((record.kind, record.item_id) for record in twins)
    for seed in range(3):
        shuffled = random.Random(seed).sample(twins, len(twins))
        index = ExactVectorIndex()
        await index.upsert(shuffled)
        found = await index.search(template.vector, VectorFilter(model_key=UNIFORM), 5)
        assert keys(found) == expected[:5]
        assert np.allclose([match.score for match in found], 1.0)
