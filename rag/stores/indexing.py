"""Index settings both Qdrant backends share: quantisation, oversampling, the indexing threshold.

A collection's quantisation is chosen when it is created and stays with it. Quantised vectors
are searched first and the best ``oversampling`` times ``k`` candidates are rescored with the
original float vectors, so scores stay cosine similarities.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast, get_args

from rag.config import Quantization
from rag.errors import ConfigError

QUANTIZATIONS: tuple[str, ...] = get_args(Quantization)

OVERSAMPLING: dict[str, float] = {"scalar": 2.0, "binary": 3.0}
"""Candidates fetched per wanted hit with quantised vectors, then rescored with the floats."""

INDEXING_THRESHOLD_KB = 10_000
"""Qdrant's default: a segment with more KB of vectors gets an HNSW index when optimised.

About 6,600 vectors of 384 floats; smaller collections are searched exactly, by a full scan.
"""


def check_hnsw_ef(hnsw_ef: int) -> int:
    """Return ``hnsw_ef`` if it is 0 (exact search) or positive; raise ``ConfigError`` if not."""
    if hnsw_ef < 0:
        raise ConfigError(f"hnsw_ef must be 0 (exact search) or positive, got {hnsw_ef}")
    return hnsw_ef


def check_quantization(quantization: str) -> Quantization:
    """Return ``quantization`` if it is a known kind; raise ``ConfigError`` listing them if not."""
    if quantization not in QUANTIZATIONS:
        raise ConfigError(
            f"unknown quantization {quantization!r}: choose one of {', '.join(QUANTIZATIONS)}"
        )
    return cast(Quantization, quantization)


@dataclass(frozen=True)
class IndexStatus:
    """How much of an embedded collection is indexed, and which payload fields are."""

    points: int
    indexed_vectors: int
    vectors_per_point: int
    segments: int
    payload_indexes: tuple[str, ...]
    quantization: Quantization

    @property
    def unindexed(self) -> int:
        """Dense vectors not yet in an HNSW index (sparse ones are indexed as they are written).

        Small collections stay unindexed: a full scan of them is fast.
        """
        return max(0, self.points * self.vectors_per_point - self.indexed_vectors)
