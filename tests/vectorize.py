"""Run a vectorizer over one document whole: what the ingest pipeline does across documents."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from rag.protocols import ChunkVectorizer
from rag.types import Span, Tokens


def vectorize(
    vectorizer: ChunkVectorizer, text: str, tokens: Tokens, char_spans: Sequence[Span]
) -> tuple[list[Span], np.ndarray]:
    """Plan one document, run all its units in one call; its token spans and chunk vectors."""
    plan = vectorizer.plan(text, tokens, char_spans)
    vectorizer.run([(plan, i) for i in range(len(plan.sizes))])
    return plan.spans, plan.vectors()
