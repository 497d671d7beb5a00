"""Mail: EML and MSG through unstructured; headers as metadata and text, attachments as documents.

The text starts with a short header (From, To, Cc, Date, Subject; the subject is the
document's heading), then the body. Each attachment of a supported type becomes a document
of its own, ``MAIL#NAME``, linked to the mail by ``metadata["attached_to"]``; one that cannot be
read is reported as failed under that name, and the mail goes in. Attachments of attachments
are not followed.
"""

from __future__ import annotations

import email
import email.policy
import io
import logging
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import replace
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from ingestion.loaders.common import read_source
from ingestion.loaders.elements import TextBuilder, add_elements, build
from ingestion.loaders.packages import check_compound
from ingestion.loaders.partition import partition
from rag.errors import LoaderError
from rag.types import ATTACHED_TO, Document, document_id

logger = logging.getLogger(__name__)

HEADER_FIELDS = ("from", "to", "cc", "date", "subject")
"""Mail headers kept as metadata and written, in this order, above the body."""

MAX_ATTACHMENTS = 100
"""Most attachments of one mail that are read; the rest are reported as skipped."""

LoadFile = Callable[[Path], Document]
Attachment = tuple[str, bytes]


def header_block(headers: dict[str, str | None]) -> list[str]:
    """The header lines written above the body, e.g. ``Subject: Kiln firing``."""
    return [f"{k.capitalize()}: {v}" for k in HEADER_FIELDS if (v := headers.get(k))]


def _plain(value: object) -> str | None:
    if isinstance(value, list | tuple):
        value = ", ".join(str(v) for v in value)
    text = " ".join(str(value).split()) if value else ""
    return text or None


def eml_parts(data: bytes) -> tuple[dict[str, str | None], list[Attachment]]:
    """Return the headers and the attached files (name, bytes) of an RFC 822 message."""
    message = email.message_from_bytes(data, policy=email.policy.default)
    headers = {k: _plain(message.get(k)) for k in HEADER_FIELDS}
    files: list[Attachment] = []
    if isinstance(message, EmailMessage):
        for part in message.iter_attachments():
            name = part.get_filename()
            content = part.get_payload(decode=True)
            if name and isinstance(content, bytes):
                files.append((name, content))
    return headers, files


def msg_parts(elements: list[Any], data: bytes) -> tuple[dict[str, str | None], list[Attachment]]:
    """Return the headers (from the elements' metadata) and attached files of an Outlook .msg."""
    from oxmsg import Message  # installed with unstructured

    meta = elements[0].metadata if elements else None
    message = Message.load(io.BytesIO(data))
    headers = {
        "from": _plain(getattr(meta, "sent_from", None)) or _plain(message.sender),
        "to": _plain(getattr(meta, "sent_to", None)),
        "cc": _plain(getattr(meta, "cc_recipient", None)),
        "date": _plain(message.sent_date.isoformat() if message.sent_date else None),
        "subject": _plain(message.subject),
    }
    files = [
        (a.file_name, a.file_bytes) for a in message.attachments if a.file_name and a.file_bytes
    ]
    return headers, files


def _safe_name(name: str, taken: set[str]) -> str:
    """The attachment's base name, made unique within its mail."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1].strip().lstrip(".") or "attachment"
    unique, n = base, 1
    while unique in taken:
        n += 1
        stem, dot, suffix = base.rpartition(".")
        unique = f"{stem} ({n}).{suffix}" if dot else f"{base} ({n})"
    taken.add(unique)
    return unique


def load_attachments(
    mail: Document, files: Iterable[Attachment], load: LoadFile, supported: Iterable[str]
) -> Document:
    """Return ``mail`` with its attachments loaded as linked documents (and the failures)."""
    kinds = set(supported)
    loaded: list[Document] = []
    failed: list[tuple[str, str]] = []
    names: list[str] = []
    taken: set[str] = set()
    with tempfile.TemporaryDirectory(prefix="laterag-mail-") as folder:
        for index, (raw, content) in enumerate(files):
            name = _safe_name(raw, taken)
            names.append(name)
            if Path(name).suffix.lower() not in kinds:
                logger.info("%s: attachment %s is not a supported type; skipped", mail.source, name)
                continue
            if index >= MAX_ATTACHMENTS:
                failed.append((name, f"skipped: over {MAX_ATTACHMENTS} attachments"))
                continue
            target = Path(folder) / f"{index}{Path(name).suffix.lower()}"
            target.write_bytes(content)
            try:
                document = load(target)
            except LoaderError as e:
                failed.append((name, e.reason))
                continue
            source = f"{mail.source}#{name}"
            meta = {**document.metadata, "name": name, ATTACHED_TO: mail.id}
            loaded.append(
                replace(
                    document,
                    id=document_id(source),
                    source=source,
                    metadata=meta,
                    attachments=(),  # attachments of attachments are not followed
                    failed=(),
                )
            )
    meta = {**mail.metadata, "attachments": names} if names else dict(mail.metadata)
    return replace(mail, metadata=meta, attachments=tuple(loaded), failed=tuple(failed))


def mail_document(
    path: Path, data: bytes, elements: list[Any], headers: dict[str, str | None], fmt: str
) -> Document:
    """The mail's text: its header lines (the subject as heading), then the body blocks."""
    out = TextBuilder()
    out.heading(headers.get("subject") or "(no subject)", 1, block=header_block(headers))
    add_elements(out, elements, heading_rule=lambda _: None)
    return build(out, path, data, fmt=fmt, **{k: v for k, v in headers.items() if v})


class MailLoader:
    """Loads ``.eml`` and Outlook ``.msg`` mails; ``load`` reads an attachment's file."""

    extensions: tuple[str, ...] = (".eml", ".msg")

    def __init__(self, load: LoadFile, supported: Callable[[], Iterable[str]]) -> None:
        self._load = load
        self._supported = supported

    def load(self, path: Path) -> Document:
        """Read ``path`` into a mail document with its attachments."""
        data = read_source(path)
        if path.suffix.lower() == ".msg":
            check_compound(path, data, "MSG")
            options = {"process_attachments": False}
            elements = partition(path, data, "MSG", "msg", "partition_msg", **options)
            if not elements:
                raise LoaderError(str(path), "no text found (an encrypted or empty message?)")
            headers, files = msg_parts(elements, data)
            fmt = "msg"
        else:
            if b"\x00" in data:
                raise LoaderError(str(path), "binary data, not a mail")
            headers, files = eml_parts(data)
            if not any(headers.get(k) for k in ("from", "to", "date", "subject")):
                raise LoaderError(str(path), "not a mail (no From, To, Date or Subject header)")
            elements = partition(
                path, data, "EML", "email", "partition_email", process_attachments=False
            )
            fmt = "eml"
        mail = mail_document(path, data, elements, headers, fmt)
        return load_attachments(mail, files, self._load, self._supported())
