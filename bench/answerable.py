"""Where the extractive answer should say "no passage answers this": the score threshold.

Usage: nice -n 10 python bench/answerable.py [--filings 8] [--unanswerable-every 3] [--keep DIR]

Two stores, each asked questions it can answer and questions it cannot:
- FinanceBench: the ``--filings`` smallest filings that have questions go into one collection;
  their questions are answerable, the questions of every ``--unanswerable-every``-th other
  filing (a filing the store does not hold, same domain and wording) are not.
- examples/docs: the three example documents with hand-written questions they answer and
  questions they do not (off-topic, or about things the documents never mention).
For every question it retrieves the top 5 chunks as ``rag ask`` does and records the best
cosine between the question and a quotable sentence of them (``ExtractiveGenerator.candidates``).
Prints, per threshold, the share of answerable questions still answered and of unanswerable
ones refused, the threshold with the best balanced accuracy over both stores (each store
weighted equally) and the one chosen: the highest that still answers 90% of the answerable
questions of each store (refusing a question the store answers costs more than quoting a
passage that does not). Progress goes to stderr, the tables to stdout.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
from datetime import date
from pathlib import Path

import numpy as np

from rag import RAG, RAGConfig
from rag.config import StoreConfig
from rag.generation import ExtractiveGenerator

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parents[1] / "shared" / "data" / "financebench"
EXAMPLES = ROOT / "examples" / "docs"
KEEP = 0.9
"""The share of answerable questions the chosen threshold must still answer, in every store."""

DOCS_ANSWERABLE = [
    "How many vacation days do new employees get?",
    "How long must passwords be?",
    "What is the hotel limit per night in Tokyo?",
    "How much is the daily meal allowance?",
    "When must expense reports be submitted?",
    "What are the core working hours?",
    "How do I report a security incident?",
    "How many public holidays does Northwind observe?",
    "How often are replacement laptops issued?",
    "How many days a week can I work remotely?",
]
DOCS_UNANSWERABLE = [
    "What is the capital of Mongolia?",
    "Who won the football world cup in 1998?",
    "How do I bake sourdough bread?",
    "What is the parental leave policy?",
    "What is the company's stock ticker symbol?",
    "How much did Northwind earn in revenue last year?",
    "Which programming languages do engineers use?",
    "What is the dress code at the office?",
    "Who is the chief executive officer?",
    "What is the boiling point of water on Mars?",
]


def best_scores(rag: RAG, generator: ExtractiveGenerator, questions: list[str]) -> list[float]:
    """The best sentence score of each question's top 5 hits (-1 when none is quotable)."""
    scores = []
    for i, question in enumerate(questions, 1):
        found = generator.candidates(question, rag.search(question, 5))
        scores.append(found[0].score if found else -1.0)
        print(f"  {i}/{len(questions)} {scores[-1]:.3f} {question[:60]}", file=sys.stderr)
    return scores


def financebench(filings: int, every: int) -> tuple[list[str], list[str], list[Path]]:
    """The answerable and unanswerable questions and the filings to ingest."""
    questions = [json.loads(line) for line in (DATA / "questions.jsonl").open(encoding="utf-8")]

    def size(name: str) -> int:
        return (DATA / "pdfs" / f"{name}.pdf").stat().st_size

    names = sorted({q["doc_name"] for q in questions}, key=size)
    kept = set(names[:filings])
    others = names[filings:][::every]
    answerable = [q["question"] for q in questions if q["doc_name"] in kept]
    unanswerable = [q["question"] for q in questions if q["doc_name"] in others]
    return answerable, unanswerable, [DATA / "pdfs" / f"{d}.pdf" for d in sorted(kept)]


def rates(yes: np.ndarray, no: np.ndarray, threshold: float) -> tuple[float, float]:
    """(answerable answered, unanswerable refused) at ``threshold``."""
    return float(np.mean(yes >= threshold)), float(np.mean(no < threshold))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--filings", type=int, default=8)
    parser.add_argument("--unanswerable-every", type=int, default=3)
    parser.add_argument("--keep", type=Path, default=None, help="keep the stores in DIR")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="answerable-"))
    fb_yes, fb_no, pdfs = financebench(args.filings, args.unanswerable_every)
    sets: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for name, paths, yes, no in [
        ("examples/docs", [EXAMPLES], DOCS_ANSWERABLE, DOCS_UNANSWERABLE),
        (f"FinanceBench ({len(pdfs)} filings)", pdfs, fb_yes, fb_no),
    ]:
        collection = "docs" if name.startswith("examples") else "financebench"
        config = RAGConfig(store=StoreConfig(path=folder, collection=collection))
        with RAG(config) as rag:
            print(f"{name}: ingesting {len(paths)} paths", file=sys.stderr)
            report = rag.ingest(paths)
            if report.failed:
                raise SystemExit(f"{report.failed} files failed to ingest")
            generator = ExtractiveGenerator(rag.encoder)
            sets[name] = (
                np.array(best_scores(rag, generator, yes)),
                np.array(best_scores(rag, generator, no)),
            )
    grid = np.round(np.arange(0.0, 0.81, 0.01), 2)
    balanced = {
        float(t): float(np.mean([sum(rates(y, n, t)) / 2 for y, n in sets.values()])) for t in grid
    }
    best = max(balanced, key=lambda t: (balanced[t], -t))
    keeps = [float(t) for t in grid if all(rates(y, n, t)[0] >= KEEP for y, n in sets.values())]
    chosen = max(keeps) if keeps else 0.0
    print(f"## Answerable or not: best sentence score ({date.today()}, {platform.machine()})\n")
    for name, (yes, no) in sets.items():
        print(
            f"{name}: {len(yes)} answerable (median {np.median(yes):.3f}), "
            f"{len(no)} unanswerable (median {np.median(no):.3f})"
        )
    print(
        "\n| threshold | " + " | ".join(f"{n}: answered / refused" for n in sets) + " | balanced |"
    )
    print("|---|" + "---|" * len(sets) + "---|")
    for t in sorted({0.2, 0.3, 0.4, 0.42, 0.44, 0.46, 0.48, 0.5, 0.55, best, chosen}):
        cells = [" / ".join(f"{r:.2f}" for r in rates(y, n, t)) for y, n in sets.values()]
        print(f"| {t:.2f} | " + " | ".join(cells) + f" | {balanced[t]:.3f} |")
    print(f"\nbest balanced accuracy {balanced[best]:.3f} at threshold {best:.2f}")
    print(
        f"highest threshold answering at least {KEEP:.0%} of the answerable questions of every "
        f"store: {chosen:.2f} (balanced accuracy {balanced[chosen]:.3f})"
    )


if __name__ == "__main__":
    main()
