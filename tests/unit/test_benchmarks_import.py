"""Every benchmark module imports: a rename in the library cannot break `nox -s bench`
unnoticed (the benchmarks are not run by the suite)."""

from __future__ import annotations

import importlib
import pkgutil

import benchmarks
import pytest

MODULES = sorted(module.name for module in pkgutil.iter_modules(benchmarks.__path__))


def test_there_are_benchmarks() -> None:
    assert {"context", "hotpath", "locomo", "locomo_context"} <= set(MODULES)


@pytest.mark.parametrize("name", MODULES)
def test_the_benchmark_imports(name: str) -> None:
    importlib.import_module(f"benchmarks.{name}")
