"""Developer sessions: `nox` runs lint, typing and the suite on every backend.

- `nox -s tests`                 the suite on SQLite, PostgreSQL and Redis, in one run
- `nox -s tests -- --backend=sqlite` one backend (any other pytest options after `--` too)
- `nox -s migrations`            the migration tests on both dialects
- `nox -s lint` / `nox -s typing`
- `nox -s bench`                 foundation, semantic, cache, hot-path, context, transfer
- `nox -s bench-locomo`          LoCoMo retrieval recall and context share (LOCOMO_PATH)

PostgreSQL: set BRUNO_MEMORY_TEST_POSTGRES_URL to test an existing server too; a throwaway
PostgreSQL 16 with pgvector (PyPI `pgserver`) is always started.
"""

from __future__ import annotations

import nox

nox.options.sessions = ["lint", "typing", "tests"]
nox.options.reuse_venv = "yes"
nox.options.error_on_missing_interpreters = True

PYPROJECT = nox.project.load_toml("pyproject.toml")


def install(session: nox.Session, *requirements: str, groups: tuple[str, ...] = ()) -> None:
    """Install ``requirements`` (e.g. ``".[all]"``) and the project's dependency groups
    (PEP 735) into the session in one pip run: one resolution, not one per group."""
    for group in groups:
        requirements += tuple(nox.project.dependency_groups(PYPROJECT, group))
    session.install(*requirements)


@nox.session
def tests(session: nox.Session) -> None:
    """The whole suite on every backend, against the installed wheel (every extra).

    One run and one virtualenv for all backends: the tests that do not depend on a backend
    (unit, congruence, configuration) run once, and the install (over a minute from a
    clean clone) is paid once. `-- --backend=sqlite` (or postgres, redis) runs one backend.
    """
    install(session, ".[all]", groups=("test",))
    session.run("pytest", *session.posargs)


@nox.session
def migrations(session: nox.Session) -> None:
    """Upgrade, drift check, downgrade and upgrade again, on SQLite and PostgreSQL."""
    install(session, ".[postgresql]", groups=("test",))
    session.run("pytest", "tests/integration/test_migrations.py", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff check and ruff format --check."""
    install(session, groups=("lint",))
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def typing(session: nox.Session) -> None:
    """mypy --strict on src/."""
    install(session, ".[all]", groups=("typing",))
    session.run("mypy")


@nox.session
def bench(session: nox.Session) -> None:
    """Foundation (beside raw drivers), semantic and cache benchmarks; `-- --quick`: smoke run."""
    install(session, ".[all]", groups=("bench",))
    session.run("python", "-m", "benchmarks.foundation", *session.posargs)
    session.run("python", "-m", "benchmarks.semantic", *session.posargs)
    session.run("python", "-m", "benchmarks.cache", *session.posargs)
    session.run("python", "-m", "benchmarks.hotpath", *session.posargs)
    session.run("python", "-m", "benchmarks.branches", *session.posargs)
    session.run("python", "-m", "benchmarks.context", *session.posargs)
    session.run("python", "-m", "benchmarks.transfer", *session.posargs)


@nox.session(name="bench-locomo")
def bench_locomo(session: nox.Session) -> None:
    """LoCoMo evidence recall@k of search() and evidence inside build_context (data:
    LOCOMO_PATH or ../shared/data/locomo)."""
    install(session, ".[all]", groups=("bench",))
    session.run("python", "-m", "benchmarks.locomo", *session.posargs)
    session.run("python", "-m", "benchmarks.locomo_context", *session.posargs)
