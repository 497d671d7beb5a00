"""Parse time of each office format, and what unstructured adds to start-up and to the first file.

Usage: python bench/office_formats.py [--repeats 3] [--scale 1.0]

Builds one small and one large file per format (the test suite's sample builders), loads
each with LateRAG's loader ``--repeats`` times in one process after a warm-up and prints the
median (files, MB, s). Then, in fresh processes: ``import rag.cli`` (what every ``rag``
command pays), the same with torch (which an ingest loads for its model anyway), and that
plus the first office file of a run (unstructured imported, then one small parse).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]

import office_samples as samples  # noqa: E402  (the builders the tests use)

from ingestion.loaders import load_document  # noqa: E402
from ingestion.loaders.convert import soffice  # noqa: E402


def files(scale: float) -> dict[str, tuple[bytes, bytes]]:
    """Per format: (small sample, large file) bytes."""
    big = max(1, int(2000 * scale))
    made = {
        "pptx": (samples.deck_bytes(), samples.deck_bytes(extra_slides=big // 20)),
        "xlsx": (samples.workbook_bytes(), samples.workbook_bytes(rows=big * 5)),
        "csv": (
            samples.csv_text().encode(),
            ("a,b,c\n" + "".join(f"r{i},{i},{i * 7}\n" for i in range(big * 5))).encode(),
        ),
        "eml": (samples.mail_bytes(), samples.mail_bytes(paragraphs=big)),
        "epub": (samples.epub_bytes(), samples.epub_bytes(paragraphs=big)),
        "odt": (samples.odt_bytes(), samples.odt_bytes(paragraphs=big)),
        "rtf": (samples.RTF_TEXT.encode(), samples.rtf_text(paragraphs=big).encode()),
    }
    return made


def legacy(folder: Path, made: dict[str, tuple[bytes, bytes]]) -> None:
    """Add .ppt files, converted by LibreOffice from the decks, when it is installed."""
    if soffice() is None:
        print("LibreOffice not installed: no .ppt rows", file=sys.stderr)
        return
    small = samples.legacy_bytes(folder, made["pptx"][0], ".pptx", "ppt")
    large = samples.legacy_bytes(folder, made["pptx"][1], ".pptx", "ppt")
    assert small is not None and large is not None
    made["ppt"] = (small, large)


def timed(path: Path, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        load_document(path)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def fresh(code: str, repeats: int) -> float:
    """Median wall time of ``python -c code`` in a fresh interpreter."""
    times = []
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    for _ in range(repeats):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True, env=env, cwd=REPO)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--scale", type=float, default=1.0, help="size of the large files")
    args = parser.parse_args()
    load = os.getloadavg()
    print(f"{date.today()} {platform.machine()} {os.cpu_count()} cores, load {load[0]:.1f}")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        made = files(args.scale)
        legacy(folder, made)
        paths = {}
        for fmt, (small, large) in made.items():
            for size, data in (("small", small), ("large", large)):
                path = folder / f"{size}.{fmt}"
                path.write_bytes(data)
                paths[fmt, size] = path
        first = next(iter(paths.values()))
        load_document(first)  # imports unstructured once; not counted below
        print("\n| format | file | MB | chars | s (median) | MB/s |")
        print("|---|---|---:|---:|---:|---:|")
        for (fmt, size), path in paths.items():
            print(f"parsing {path.name}", file=sys.stderr)
            seconds = timed(path, args.repeats)
            mb = path.stat().st_size / 2**20
            chars = len(load_document(path).text)
            print(f"| {fmt} | {size} | {mb:.3f} | {chars:,} | {seconds:.3f} | {mb / seconds:.2f} |")
        print("\n| start-up, fresh process | s (median) |")
        print("|---|---:|")
        base = fresh("pass", args.repeats)
        print(f"| python alone | {base:.2f} |")
        cli = fresh("import rag.cli", args.repeats)
        print(f"| `import rag.cli` (every `rag` command) | {cli:.2f} |")
        check = "import rag.cli, sys; assert 'unstructured' not in sys.modules"
        fresh(check, 1)
        print("| unstructured imported by `import rag.cli` | no |")
        ready = "import rag.cli, torch; from pathlib import Path; import ingestion.loaders as L"
        before = fresh(ready, args.repeats)
        print(f"| `import rag.cli` + torch (loaded by every ingest for the model) | {before:.2f} |")
        for fmt in ("csv", "pptx", "xlsx", "eml", "epub"):
            code = f"{ready}; L.load_document(Path({str(paths[fmt, 'small'])!r}))"
            took = fresh(code, args.repeats)
            print(f"| the same + first {fmt} file (imports unstructured) | {took:.2f} |")


if __name__ == "__main__":
    main()
