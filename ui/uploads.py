"""Files dropped in the app, checked by the one upload policy (``rag.uploads``)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ingestion.loaders import SNIFF_BYTES
from ingestion.pipeline import FileResult
from rag.access import Principal
from rag.protocols import Upload
from rag.upload_area import UploadArea
from rag.uploads import UploadError, check_content, check_name, check_size


def check_uploads(
    files: Sequence[Upload], max_bytes: int
) -> tuple[list[tuple[Upload, str]], list[FileResult]]:
    """Split ``files`` into the accepted (with their names) and a failure naming each refusal.

    A name is never rewritten: one the policy refuses (a path, hidden, control or bidirectional
    characters, too long, an unsupported type), a name dropped twice, a file over ``max_bytes``
    or whose content does not fit its type gets its reason and the rest go on.
    """
    accepted: list[tuple[Upload, str]] = []
    refused: list[FileResult] = []
    taken: set[str] = set()
    for upload in files:
        try:
            name = check_name(upload.name)
            if name in taken:
                raise UploadError(f"upload {ascii(name)} is dropped twice: drop each name once")
            check_size(name, upload.size, max_bytes)
            check_content(name, upload.getvalue()[:SNIFF_BYTES])
        except UploadError as e:
            refused.append(FileResult(upload.name, "failed", error=str(e)))
            continue
        taken.add(name)
        accepted.append((upload, name))
    return accepted, refused


def prepare_uploads(
    files: Sequence[Upload], area: UploadArea, principal: Principal, max_bytes: int
) -> tuple[list[tuple[Path, bytes]], list[FileResult]]:
    """The acceptable files as (where ``principal``'s copy goes, its bytes), and the refusals.

    Nothing is written: ``Workspace.ingest_uploads`` saves and ingests them in one hold.
    """
    accepted, refused = check_uploads(files, max_bytes)
    return [(area.path(principal, name), upload.getvalue()) for upload, name in accepted], refused
