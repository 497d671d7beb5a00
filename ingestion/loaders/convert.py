"""Legacy binary Office files (.doc, .ppt) converted by LibreOffice, one at a time, timed out."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import threading
from pathlib import Path

from rag.errors import LoaderError

CONVERT_TIMEOUT_SECONDS = 120
"""Longest one LibreOffice conversion may run before it is killed and the file refused."""

INSTALL_HINT = (
    "install LibreOffice to read it (Debian: apt-get install libreoffice-writer-nogui "
    "libreoffice-impress-nogui)"
)

_one_at_a_time = threading.Lock()
"""LibreOffice runs one conversion per user profile; concurrent ones wait or fail."""


def soffice() -> str | None:
    """Return the path of LibreOffice's ``soffice`` command, or None when it is not installed."""
    return shutil.which("soffice") or shutil.which("libreoffice")


def convert(path: Path, data: bytes, target: str) -> bytes:
    """Return ``data`` (the bytes of ``path``) converted by LibreOffice to format ``target``.

    ``target`` is an extension such as ``docx``. LibreOffice gets a private profile and no
    network; a conversion past ``CONVERT_TIMEOUT_SECONDS`` is killed.
    """
    command = soffice()
    kind = path.suffix.lower().lstrip(".").upper() or "file"
    if command is None:
        raise LoaderError(str(path), f"a {kind} file needs LibreOffice: {INSTALL_HINT}")
    with tempfile.TemporaryDirectory(prefix="laterag-convert-") as folder:
        work = Path(folder)
        source = work / f"input{path.suffix.lower()}"
        source.write_bytes(data)
        args = [
            command,
            f"-env:UserInstallation={(work / 'profile').as_uri()}",
            "--headless",
            "--norestore",
            "--convert-to",
            target,
            "--outdir",
            str(work / "out"),
            str(source),
        ]
        with _one_at_a_time:
            try:
                done = subprocess.run(
                    args,
                    stdin=subprocess.DEVNULL,
                    capture_output=True,
                    timeout=CONVERT_TIMEOUT_SECONDS,
                    check=False,
                )
            except subprocess.TimeoutExpired as e:
                raise LoaderError(
                    str(path), f"LibreOffice took over {CONVERT_TIMEOUT_SECONDS} s to convert it"
                ) from e
        result = work / "out" / f"input.{target}"
        if not result.is_file():
            said = " ".join(done.stderr.decode("utf-8", "replace").split())[:100]
            reason = f": {said}" if said else ""
            raise LoaderError(str(path), f"not a readable {kind} (LibreOffice failed{reason})")
        return result.read_bytes()
