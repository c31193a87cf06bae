"""A user's context (name, profile, preferences, metadata) is written, merged and read back
by get_context and build_context, on every storage."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bruno_memory import InvalidInputError, Memory
from bruno_memory.user_context import merge_patch


async def test_a_user_never_written_has_an_empty_context(memory: Memory, uid: str) -> None:
    context = await memory.get_user_context(uid)
    assert context.user_id == uid
    assert (context.name, context.profile, context.preferences) == (None, {}, {})


async def test_updates_merge_and_reach_the_context_of_a_turn(memory: Memory, uid: str) -> None:
    await memory.update_user_context(
        uid, name="Ana", profile={"city": "Lyon", "job": {"title": "nurse", "since": 2019}}
    )
    stored = await memory.update_user_context(
        uid,
        profile={"city": None, "job": {"since": 2021}},
        preferences={"language": "fr"},
        metadata={"plan": "pro"},
    )
    assert stored.name == "Ana"
    assert stored.profile == {"job": {"title": "nurse", "since": 2021}}
    assert stored.preferences == {"language": "fr"}
    assert stored.metadata == {"plan": "pro"}
    assert await memory.get_user_context(uid) == stored
    session = await memory.create_session(uid)
    context = await memory.get_context(uid, session.session_id)
    assert context.user.profile == stored.profile
    assert context.user.name == "Ana"
    window = await memory.build_context(uid, session.session_id)
    assert window.user_context.preferences == {"language": "fr"}


async def test_concurrent_updates_of_different_keys_all_land(memory: Memory, uid: str) -> None:
    await asyncio.gather(
        *(memory.update_user_context(uid, preferences={f"k{n}": n}) for n in range(8))
    )
    stored = await memory.get_user_context(uid)
    assert stored.preferences == {f"k{n}": n for n in range(8)}


async def test_delete_user_forgets_the_context(memory: Memory, uid: str) -> None:
    await memory.update_user_context(uid, name="Ana", profile={"city": "Lyon"})
    await memory.delete_user(uid)
    context = await memory.get_user_context(uid)
    assert (context.name, context.profile) == (None, {})


@pytest.mark.parametrize(
    "fields",
    [{"profile": ["not", "a", "dict"]}, {"name": "   "}, {"preferences": {"x": float("nan")}}],
)
async def test_bad_updates_are_refused_and_change_nothing(
    memory: Memory, uid: str, fields: dict[str, object]
) -> None:
    await memory.update_user_context(uid, profile={"kept": True})
    with pytest.raises(InvalidInputError):
        await memory.update_user_context(uid, **fields)  # type: ignore[arg-type]
    assert (await memory.get_user_context(uid)).profile == {"kept": True}


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: st.dictionaries(st.text(max_size=3), inner, max_size=3),
    max_leaves=10,
)


@given(
    st.dictionaries(st.text(max_size=3), JSON, max_size=4),
    st.dictionaries(st.text(max_size=3), JSON, max_size=4),
)
def test_merge_patch_follows_rfc_7386(target: dict[str, object], patch: dict[str, object]) -> None:
    merged = merge_patch(target, patch)
    for key, value in patch.items():
        if value is None:
            assert key not in merged
        elif not isinstance(value, dict):
            assert merged[key] == value
    for key in target.keys() - patch.keys():
        assert merged[key] == target[key]
    assert merge_patch(merged, patch) == merged  # applying a patch twice changes nothing
