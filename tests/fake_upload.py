"""A stand-in for Streamlit's ``UploadedFile``: a name and the bytes."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class FakeUpload:
    name: str
    data: bytes

    @property
    def size(self) -> int:
        return len(self.data)

    def getvalue(self) -> bytes:
        return self.data
