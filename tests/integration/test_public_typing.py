"""A user's code on the public API type-checks under ``mypy --strict``."""

from __future__ import annotations

from pathlib import Path

import pytest

mypy_api = pytest.importorskip("mypy.api", reason="mypy is part of the test dependency group")

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
#: What a user's own configuration needs: strict, and bruno-core read although it ships no
#: py.typed marker (bruno-core 0.1.0).
USER_CONFIG = """\
[mypy]
strict = True

[mypy-bruno_core.*]
follow_untyped_imports = True
"""


def test_examples_pass_mypy_strict(tmp_path: Path) -> None:
    """The quick start and the sync script (public API only) pass mypy --strict with a
    user's configuration: create_memory returns Memory whatever the URL."""
    config = tmp_path / "mypy.ini"
    config.write_text(USER_CONFIG)
    cache = tmp_path / "cache"
    out, err, status = mypy_api.run(
        ["--config-file", str(config), "--cache-dir", str(cache), str(EXAMPLES)]
    )
    assert status == 0, out + err
