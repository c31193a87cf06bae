"""URLs, settings, optional extras and SQLite connection setup."""

from __future__ import annotations

import re
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr, ValidationError

from bruno_memory import (
    CacheSettings,
    ConfigurationError,
    DatabaseSettings,
    MissingDependencyError,
    VectorSettings,
    bootstrap,
    create_memory,
    register_vector_store,
)
from bruno_memory.adapters.embeddings import HashingEmbedder
from bruno_memory.adapters.redis.settings import RedisSearchOptions, RedisSettings
from bruno_memory.adapters.vector.exact import ExactVectorIndex
from bruno_memory.db.engine import create_engine, normalize_url
from bruno_memory.ports.vector import VectorFilter
from bruno_memory.settings import (
    DEPRECATED_OPTIONS,
    NOT_FROM_ENVIRONMENT,
    SECTIONS,
    MemorySettings,
    deprecated_variables,
    env_name,
)
from tests.conformance.helpers import user_message


@pytest.mark.parametrize(
    ("given", "driver"),
    [
        ("sqlite:///x.db", "sqlite+aiosqlite"),
        ("sqlite+aiosqlite://", "sqlite+aiosqlite"),
        ("postgresql://u@h/db", "postgresql+asyncpg"),
        ("postgres://u@h/db", "postgresql+asyncpg"),
        ("postgresql+psycopg://u@h/db", "postgresql+asyncpg"),
    ],
)
def test_urls_get_the_async_driver(given: str, driver: str) -> None:
    """Plain and other-driver URLs are given the library's async driver."""
    assert normalize_url(given).drivername == driver


@pytest.mark.parametrize("url", ["mysql://u@h/db", "not a url", "oracle://x"])
def test_unsupported_urls_are_configuration_errors(url: str) -> None:
    """A URL of an unsupported database raises ConfigurationError."""
    with pytest.raises(ConfigurationError):
        create_memory(url)


def test_missing_driver_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without asyncpg, a PostgreSQL URL raises MissingDependencyError naming the extra."""
    monkeypatch.setitem(sys.modules, "asyncpg", None)
    with pytest.raises(MissingDependencyError, match=r"bruno-memory\[postgresql\]"):
        create_memory("postgresql+asyncpg://u@localhost/db")


def test_base_install_imports_without_optional_drivers() -> None:
    """`import bruno_memory` and an in-memory store work with the optional drivers absent."""
    script = """
import asyncio, sys
for name in ("asyncpg", "pgvector", "redis", "qdrant_client", "onnxruntime", "tokenizers"):
    sys.modules[name] = None
import bruno_memory
from bruno_core.models.message import Message
async def main():
    async with bruno_memory.create_memory("sqlite+aiosqlite://") as memory:
        await memory.store_message(Message(role="user", content="hi"), "c")
        print(len(await memory.retrieve_messages("c")))
asyncio.run(main())
"""
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "1"


def test_settings_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """BRUNO_MEMORY_* variables configure the store; keyword arguments win over them."""
    monkeypatch.setenv("BRUNO_MEMORY_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'env.db'}")
    monkeypatch.setenv("BRUNO_MEMORY_CONTEXT_WINDOW", "7")
    store = create_memory()
    assert store.context_window == 7
    assert store.storage.settings.database.url.endswith("env.db")
    assert create_memory(context_window=3).context_window == 3


def test_unknown_option_is_refused() -> None:
    """A misspelt option raises instead of being ignored."""
    with pytest.raises(ConfigurationError, match="contxt_window"):
        create_memory("sqlite+aiosqlite://", contxt_window=3)


async def test_default_database_is_a_file_in_the_working_directory(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """With no URL anywhere, the store is a SQLite file named bruno_memory.db in the cwd."""
    monkeypatch.delenv("BRUNO_MEMORY_DATABASE_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    async with create_memory() as memory:
        await memory.store_message(user_message("persisted"), "c")
    assert (tmp_path / "bruno_memory.db").is_file()
    async with create_memory() as memory:
        assert [m.content for m in await memory.retrieve_messages("c")] == ["persisted"]


async def test_sqlite_file_connections_use_wal_and_foreign_keys(tmp_path: Path) -> None:
    """File databases run in WAL mode with foreign keys enforced and a busy timeout."""
    engine = create_engine(
        MemorySettings(
            database_url=f"sqlite+aiosqlite:///{tmp_path / 'p.db'}",
            database_sqlite_busy_timeout_ms=1234,
        )
    )
    try:
        async with engine.connect() as connection:
            pragma = lambda name: connection.exec_driver_sql(f"PRAGMA {name}")  # noqa: E731
            assert (await pragma("journal_mode")).scalar() == "wal"
            assert (await pragma("foreign_keys")).scalar() == 1
            assert (await pragma("busy_timeout")).scalar() == 1234
    finally:
        await engine.dispose()


async def test_reopening_a_closed_store(tmp_path: Path) -> None:
    """close() releases connections; the store reopens on next use."""
    store = create_memory(f"sqlite+aiosqlite:///{tmp_path / 'r.db'}")
    await store.store_message(user_message("one"), "c")
    await store.close()
    await store.store_message(user_message("two"), "c")
    assert len(await store.retrieve_messages("c")) == 2
    await store.close()


async def test_unreachable_server_is_a_storage_error() -> None:
    """A PostgreSQL server that does not answer raises StorageError, not a driver error."""
    from bruno_memory import StorageError

    store = create_memory("postgresql+asyncpg://nobody@127.0.0.1:1/none", database_pool_timeout=2)
    with pytest.raises(StorageError):
        await store.retrieve_messages("c")
    await store.close()


# -- settings by section: names, deprecations, one meaning per environment variable ------


def _value(section: str, field: str) -> Any:
    """A valid value of a field that is not its default."""
    special: dict[tuple[str, str], Any] = {
        ("database", "url"): "sqlite+aiosqlite:///elsewhere.db",
        ("cache", "url"): "redis://cache.example:6379/0",
        ("cache", "key_prefix"): "other",
        ("vector", "url"): "qdrant+local://",
        ("vector", "api_key"): "secret",
    }
    if (section, field) in special:
        return special[(section, field)]
    default = getattr(SECTIONS[section](), field)
    if isinstance(default, bool):
        return not default
    if isinstance(default, int):
        return default + 1
    if isinstance(default, float):
        return default + 0.5
    raise AssertionError(f"no test value for {section}.{field}")


def _read(settings: MemorySettings, section: str, field: str) -> Any:
    value = getattr(getattr(settings, section), field)
    return value.get_secret_value() if isinstance(value, SecretStr) else value


ALL_FIELDS = [
    (section, field) for section, model in SECTIONS.items() for field in model.model_fields
]


@pytest.mark.parametrize(("section", "field"), ALL_FIELDS)
def test_each_variable_sets_its_field(
    monkeypatch: pytest.MonkeyPatch, section: str, field: str
) -> None:
    """BRUNO_MEMORY_<SECTION>_<FIELD> sets settings.<section>.<field>, and so do the keyword
    <section>_<field> and the section as a dict; keywords win over the environment."""
    value = _value(section, field)
    monkeypatch.setenv(f"BRUNO_MEMORY_{section.upper()}_{field.upper()}", str(value))
    assert _read(MemorySettings(), section, field) == value
    monkeypatch.delenv(f"BRUNO_MEMORY_{section.upper()}_{field.upper()}")
    assert _read(MemorySettings(**{f"{section}_{field}": value}), section, field) == value
    assert _read(MemorySettings(**{section: {field: value}}), section, field) == value


def test_the_documented_variable_names(monkeypatch: pytest.MonkeyPatch) -> None:
    """The names in the README's table, each to its field."""
    names = {
        "BRUNO_MEMORY_DATABASE_URL": ("database", "url", "sqlite+aiosqlite://"),
        "BRUNO_MEMORY_DATABASE_POOL_SIZE": ("database", "pool_size", 3),
        "BRUNO_MEMORY_DATABASE_AUTO_MIGRATE": ("database", "auto_migrate", False),
        "BRUNO_MEMORY_CACHE_URL": ("cache", "url", "redis://h:6379/0"),
        "BRUNO_MEMORY_CACHE_KEY_PREFIX": ("cache", "key_prefix", "k"),
        "BRUNO_MEMORY_VECTOR_URL": ("vector", "url", "qdrant://h:6333"),
        "BRUNO_MEMORY_VECTOR_API_KEY": ("vector", "api_key", "s3cret"),
        "BRUNO_MEMORY_VECTOR_CACHE_MAX_VECTORS": ("vector", "cache_max_vectors", 7),
        "BRUNO_MEMORY_EMBEDDING_BATCH_SIZE": ("embedding", "batch_size", 8),
        "BRUNO_MEMORY_SEARCH_RRF_K": ("search", "rrf_k", 60),
        "BRUNO_MEMORY_CONTEXT_WINDOW": ("context", "window", 9),
    }
    for name, (_, _, value) in names.items():
        monkeypatch.setenv(name, str(value))
    settings = MemorySettings()
    assert {name: _read(settings, s, f) for name, (s, f, _) in names.items()} == {
        name: value for name, (_, _, value) in names.items()
    }
    assert "s3cret" not in repr(settings)


def test_sections_merge_with_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """A section given as a dict or a model sets its fields; the environment fills the rest."""
    monkeypatch.setenv("BRUNO_MEMORY_DATABASE_URL", "sqlite+aiosqlite:///env.db")
    monkeypatch.setenv("BRUNO_MEMORY_DATABASE_POOL_SIZE", "4")
    store = create_memory(database={"max_overflow": 2}, embedder=None)
    database = store.storage.settings.database
    assert (database.url, database.pool_size, database.max_overflow) == (
        "sqlite+aiosqlite:///env.db",
        4,
        2,
    )
    store = create_memory(database=DatabaseSettings(pool_size=3), embedder=None)
    assert store.storage.settings.database.url == "sqlite+aiosqlite:///env.db"
    assert store.storage.settings.database.pool_size == 3
    base = MemorySettings(context_window=4, search={"rrf_k": 9})
    store = create_memory("sqlite+aiosqlite://", settings=base, search_stop_words=False)
    search = store.storage.settings.search
    assert (store.context_window, search.rrf_k, search.stop_words) == (4, 9, False)
    assert store.storage.settings.database.url == "sqlite+aiosqlite://"


@pytest.mark.parametrize(
    "options",
    [
        {"context_window": 0},
        {"database": {"pool_size": 0}},
        {"database_pool_size": "many"},
        {"search": {"rrf_k": 0}},
        {"search": {"rrf": 3}},
        {"database": "sqlite://"},
        {"cache_key_prefix": ""},
        {"vector_store": "pinecone"},
    ],
)
def test_invalid_settings_are_configuration_errors(options: dict[str, Any]) -> None:
    """Whatever is wrong, the error is the library's ConfigurationError, not pydantic's."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        with pytest.raises(ConfigurationError) as caught:
            create_memory("sqlite+aiosqlite://", **options)
    assert not isinstance(caught.value, ValidationError)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        with pytest.raises(ConfigurationError):
            MemorySettings(**options)


def test_an_invalid_variable_is_a_configuration_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """A variable that cannot be read (or a field a section does not have) is refused."""
    monkeypatch.setenv("BRUNO_MEMORY_CONTEXT_WINDOW", "wide")
    with pytest.raises(ConfigurationError, match="window"):
        MemorySettings()
    monkeypatch.delenv("BRUNO_MEMORY_CONTEXT_WINDOW")
    monkeypatch.setenv("BRUNO_MEMORY_DATABASE_POOLSIZE", "3")
    with pytest.raises(ConfigurationError, match="poolsize"):
        MemorySettings()
    monkeypatch.delenv("BRUNO_MEMORY_DATABASE_POOLSIZE")
    with pytest.raises(ConfigurationError, match="key_prefix"):
        RedisSettings(key_prefix="a:b")


DEPRECATED_WITH_VALUES: list[tuple[str, Any, str, Any]] = [
    ("auto_migrate", False, "database.auto_migrate", False),
    ("echo", True, "database.echo", True),
    ("pool_size", 3, "database.pool_size", 3),
    ("max_overflow", 1, "database.max_overflow", 1),
    ("pool_timeout", 2.5, "database.pool_timeout", 2.5),
    ("pool_pre_ping", False, "database.pool_pre_ping", False),
    ("sqlite_busy_timeout_ms", 10, "database.sqlite_busy_timeout_ms", 10),
    ("batch_size", 7, "database.batch_size", 7),
    ("redis_url", "redis://h:6379/0", "cache.url", "redis://h:6379/0"),
    ("redis_key_prefix", "old", "cache.key_prefix", "old"),
    ("redis_streams", False, "cache.streams", False),
    ("qdrant_api_key", "k", "vector.api_key", "k"),
]


def _at(settings: MemorySettings, path: str) -> Any:
    section, field = path.split(".")
    return _read(settings, section, field)


def test_the_translation_table_is_what_the_tests_cover() -> None:
    """Every deprecated name is tested below (a new entry needs a test)."""
    covered = {old for old, *_ in DEPRECATED_WITH_VALUES} | {
        "cache_session_ttl_seconds",
        "cache_user_ttl_seconds",
        "vector_store",
        "qdrant_url",
        "qdrant_path",
    }
    assert covered == set(DEPRECATED_OPTIONS)


@pytest.mark.parametrize(("old", "value", "path", "expected"), DEPRECATED_WITH_VALUES)
def test_deprecated_keywords_warn_and_still_work(
    old: str, value: Any, path: str, expected: Any
) -> None:
    """A name of the previous release works, with a DeprecationWarning naming the new one."""
    new = DEPRECATED_OPTIONS[old]
    assert new is not None
    with pytest.warns(DeprecationWarning, match=f"{old}= is deprecated: use {new}="):
        settings = MemorySettings(**{old: value})
    assert _at(settings, path) == expected


@pytest.mark.parametrize(("old", "value", "path", "expected"), DEPRECATED_WITH_VALUES)
def test_deprecated_variables_warn_and_still_work(
    monkeypatch: pytest.MonkeyPatch, old: str, value: Any, path: str, expected: Any
) -> None:
    """BRUNO_MEMORY_<OLD NAME> works too (but the Redis storage's key prefix), naming the new
    variable; the new variable and keywords win over it."""
    variable = f"BRUNO_MEMORY_{old.upper()}"
    monkeypatch.setenv(variable, str(value))
    if old in NOT_FROM_ENVIRONMENT:
        with warnings.catch_warnings():
            warnings.simplefilter("error", DeprecationWarning)
            assert _at(MemorySettings(), path) != expected
        return
    new = DEPRECATED_OPTIONS[old]
    assert new is not None
    with pytest.warns(DeprecationWarning, match=f"{variable} is deprecated: use {env_name(new)}"):
        assert _at(MemorySettings(), path) == expected
    section, field = path.split(".")
    other = _value(section, field)
    other = other if other != expected else getattr(SECTIONS[section](), field)
    monkeypatch.setenv(f"BRUNO_MEMORY_{section.upper()}_{field.upper()}", str(other))
    with pytest.warns(DeprecationWarning, match=variable):
        assert _at(MemorySettings(), path) == other
    monkeypatch.delenv(f"BRUNO_MEMORY_{section.upper()}_{field.upper()}")
    with pytest.warns(DeprecationWarning, match=variable):
        assert _at(MemorySettings(**{f"{section}_{field}": other}), path) == other


@pytest.mark.parametrize("old", ["cache_session_ttl_seconds", "cache_user_ttl_seconds"])
def test_unused_cache_ttls_are_accepted_warned_and_ignored(
    monkeypatch: pytest.MonkeyPatch, old: str
) -> None:
    """The TTLs of caches that never existed: accepted, warned about, without effect."""
    with pytest.warns(DeprecationWarning, match=f"{old}= is deprecated and ignored"):
        assert MemorySettings(**{old: 5}) == MemorySettings()
    monkeypatch.setenv(f"BRUNO_MEMORY_{old.upper()}", "5")
    with pytest.warns(DeprecationWarning, match="is deprecated: it is ignored"):
        assert MemorySettings().cache == CacheSettings()


@pytest.mark.parametrize(
    ("old", "url"),
    [
        ({"vector_store": "sql"}, None),
        ({"vector_store": "qdrant"}, "qdrant+local://"),
        ({"vector_store": "qdrant", "qdrant_path": ":memory:"}, "qdrant+local://"),
        ({"vector_store": "qdrant", "qdrant_path": "vectors"}, "qdrant+local:///vectors"),
        ({"vector_store": "qdrant", "qdrant_path": "/srv/vectors"}, "qdrant+local:////srv/vectors"),
        ({"vector_store": "qdrant", "qdrant_url": "http://q:6333"}, "qdrant://q:6333"),
        ({"vector_store": "qdrant", "qdrant_url": "https://q.cloud"}, "qdrant+https://q.cloud"),
        ({"qdrant_url": "http://q:6333"}, None),  # without vector_store it never counted
    ],
)
def test_deprecated_vector_options_become_a_vector_url(
    old: dict[str, str], url: str | None
) -> None:
    """vector_store, qdrant_url and qdrant_path map to the vector_url they meant."""
    with pytest.warns(DeprecationWarning, match=re.escape(f"use vector_url={url!r}")):
        assert MemorySettings(**old).vector.url == url


def test_deprecated_vector_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    """BRUNO_MEMORY_VECTOR_STORE and BRUNO_MEMORY_QDRANT_* still work, each naming its
    replacement; BRUNO_MEMORY_VECTOR_URL wins over them."""
    monkeypatch.setenv("BRUNO_MEMORY_VECTOR_STORE", "qdrant")
    monkeypatch.setenv("BRUNO_MEMORY_QDRANT_URL", "http://q:6333")
    monkeypatch.setenv("BRUNO_MEMORY_QDRANT_API_KEY", "k")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        settings = MemorySettings()
    assert sorted(str(warning.message) for warning in caught) == [
        f"the environment variable BRUNO_MEMORY_{old} is deprecated: use BRUNO_MEMORY_{new}"
        for old, new in [
            ("QDRANT_API_KEY", "VECTOR_API_KEY"),
            ("QDRANT_URL", "VECTOR_URL"),
            ("VECTOR_STORE", "VECTOR_URL"),
        ]
    ]
    assert {w.category for w in caught} == {DeprecationWarning}
    assert (settings.vector.url, _read(settings, "vector", "api_key")) == ("qdrant://q:6333", "k")
    monkeypatch.setenv("BRUNO_MEMORY_VECTOR_URL", "qdrant+local://")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        assert MemorySettings().vector.url == "qdrant+local://"


def _memory_variables() -> set[str]:
    """Every variable MemorySettings reads, the deprecated ones included."""
    current = {
        f"BRUNO_MEMORY_{section}_{field}".upper()
        for section, model in SECTIONS.items()
        for field in model.model_fields
    }
    return current | set(deprecated_variables())


def _redis_variables() -> set[str]:
    """Every variable RedisSettings reads."""
    prefix = RedisSettings.model_config.get("env_prefix", "")
    names: set[str] = set()
    for name, info in RedisSettings.model_fields.items():
        if name == "search":
            names |= {
                f"{prefix}SEARCH_{field}".upper() for field in RedisSearchOptions.model_fields
            }
        elif isinstance(info.validation_alias, str):
            names.add(info.validation_alias.upper())
        else:
            names.add(f"{prefix}{name}".upper())
    return names


SHARED = {"BRUNO_MEMORY_DATABASE_URL", "BRUNO_MEMORY_CONTEXT_WINDOW"}


def test_no_variable_means_two_things() -> None:
    """The SQL store's settings and the Redis storage's share two variables, the database's
    URL and the context window, which mean the same for both; no other name."""
    assert _memory_variables() & _redis_variables() == SHARED
    assert "BRUNO_MEMORY_REDIS_URL" not in _redis_variables()
    assert "BRUNO_MEMORY_CACHE_URL" in _memory_variables()


def test_each_class_ignores_the_others_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    """Checked by reading, not by listing: every variable only the other class reads is set
    to something neither could parse, and each class still builds with its defaults."""
    for name in _redis_variables() - SHARED:
        monkeypatch.setenv(name, "{not a value")
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        assert MemorySettings() == MemorySettings(_env_prefix="BRUNO_MEMORY_NONE_")
    for name in _redis_variables() - SHARED:
        monkeypatch.delenv(name)
    for name in _memory_variables() - SHARED:
        monkeypatch.setenv(name, "{not a value")
    assert RedisSettings() == RedisSettings(_env_prefix="BRUNO_MEMORY_NONE_")


# -- vector stores by URL ------------------------------------------------------------------


async def test_vector_url_qdrant_in_memory_serves_hybrid_search() -> None:
    """vector_url="qdrant+local://" puts the vectors in an in-memory Qdrant; hybrid search
    fuses its semantic hits with full text."""
    pytest.importorskip("qdrant_client")
    from bruno_memory.adapters.vector.qdrant import QdrantVectorIndex

    async with create_memory(
        "sqlite+aiosqlite://", embedder=HashingEmbedder(), vector_url="qdrant+local://"
    ) as memory:
        assert isinstance(memory.storage._external_index, QdrantVectorIndex)
        await memory.store_messages(
            [user_message("tenor saxophone solo"), user_message("saxophone solo tonight")], "c"
        )
        await memory.wait_for_embeddings()
        hits = await memory.search("tenor saxophone", conversation_id="c")
        assert hits[0].content == "tenor saxophone solo"
        assert set(hits[0].signals) == {"fulltext", "semantic"}
        count = await memory.storage._external_index.count(VectorFilter())
        assert count == 2


async def test_vector_url_qdrant_local_folder(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """qdrant+local:///folder is a folder relative to the working directory (as sqlite:///),
    qdrant+local:////folder an absolute one."""
    pytest.importorskip("qdrant_client")
    monkeypatch.chdir(tmp_path)
    for url, folder in [
        ("qdrant+local:///relative", tmp_path / "relative"),
        (f"qdrant+local:///{tmp_path / 'absolute'}", tmp_path / "absolute"),
    ]:
        async with create_memory(
            "sqlite+aiosqlite://", embedder=HashingEmbedder(), vector_url=url
        ) as memory:
            await memory.store_message(user_message("kept on disk"), "c")
            await memory.wait_for_embeddings()
        assert folder.is_dir()


def test_vector_url_qdrant_server(monkeypatch: pytest.MonkeyPatch) -> None:
    """qdrant://host:port is a server over HTTP (qdrant+https:// over TLS), with the
    vector section's API key and an optional collection prefix."""
    pytest.importorskip("qdrant_client")
    from bruno_memory.adapters.vector.qdrant import QdrantVectorIndex

    calls: list[tuple[Any, ...]] = []

    def server(url: str, api_key: str | None = None, **options: Any) -> ExactVectorIndex:
        calls.append((url, api_key, options))
        return ExactVectorIndex()

    monkeypatch.setattr(QdrantVectorIndex, "server", server)
    create_memory("sqlite+aiosqlite://", vector_url="qdrant://q:6333", vector_api_key="k")
    create_memory("sqlite+aiosqlite://", vector_url="qdrant+https://q.cloud?prefix=team-a")
    assert calls == [
        ("http://q:6333", "k", {}),
        ("https://q.cloud", None, {"prefix": "team-a"}),
    ]
    with pytest.raises(ConfigurationError, match="host"):
        create_memory("sqlite+aiosqlite://", vector_url="qdrant://")
    with pytest.raises(ConfigurationError, match="unknown option"):
        create_memory("sqlite+aiosqlite://", vector_url="qdrant://q:6333?colection=x")


def test_unknown_vector_scheme_lists_the_known_ones() -> None:
    """A vector_url of a scheme nobody registered raises, naming those that exist."""
    with pytest.raises(ConfigurationError, match=r"qdrant://, qdrant\+https://, qdrant\+local://"):
        create_memory("sqlite+aiosqlite://", vector_url="pinecone://index")


def test_vector_url_and_vector_index_exclude_each_other() -> None:
    """Both at once is ambiguous; the Redis storage has no vector store at all."""
    with pytest.raises(ConfigurationError, match="not both"):
        create_memory(
            "sqlite+aiosqlite://", vector_index=ExactVectorIndex(), vector_url="qdrant+local://"
        )
    with pytest.raises(ConfigurationError):
        create_memory("redis://127.0.0.1:6379/0", embedder=None, vector_url="qdrant+local://")


async def test_register_vector_store(monkeypatch: pytest.MonkeyPatch) -> None:
    """A third party's scheme builds its index from the URL and the vector section."""
    monkeypatch.setattr(bootstrap, "VECTOR_SCHEMES", dict(bootstrap.VECTOR_SCHEMES))
    built: list[tuple[str, VectorSettings]] = []

    def factory(url: str, settings: VectorSettings) -> ExactVectorIndex:
        built.append((url, settings))
        return ExactVectorIndex()

    register_vector_store("memory+test", factory)
    async with create_memory(
        "sqlite+aiosqlite://",
        embedder=HashingEmbedder(),
        vector_url="memory+test://anything",
        vector_api_key="k",
    ) as memory:
        assert isinstance(memory.storage._external_index, ExactVectorIndex)
        await memory.store_message(user_message("registered"), "c")
        await memory.wait_for_embeddings()
        assert [hit.content for hit in await memory.search("registered", mode="semantic")] == [
            "registered"
        ]
    [(url, settings)] = built
    assert url == "memory+test://anything"
    assert settings.api_key is not None
    assert settings.api_key.get_secret_value() == "k"
    with pytest.raises(ConfigurationError):
        register_vector_store("Bad:", factory)
