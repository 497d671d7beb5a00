"""What every store shares about its lifetime: ``with store:`` opens it and closes it."""

from __future__ import annotations

from typing import Self


class OpenedInWith:
    """Mixin for classes with ``open()`` and ``close()``: usable as a with-block."""

    def open(self) -> None:
        """Acquire the resource."""
        raise NotImplementedError

    def close(self) -> None:
        """Release the resource."""
        raise NotImplementedError

    def __enter__(self) -> Self:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
