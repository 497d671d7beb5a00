"""What a test does when something it needs is missing: fail in CI, skip elsewhere."""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def unavailable(message: str) -> NoReturn:
    """Fail the test under CI (a missing input is a broken set-up there), else skip it."""
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)
