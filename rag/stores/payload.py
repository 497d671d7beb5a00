"""What both Qdrant backends share: the chunk payload, filter conditions and input checks."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np

from rag.errors import ConfigError, StoreError
from rag.types import Chunk, DocumentInfo, SearchFilter, Span, SparseVec

DENSE = "dense"
"""Name of the dense vector of every point."""

SPARSE = "sparse"
"""Name of the BM25 sparse vector (IDF applied by the store) of points that have one."""

FUSIONS = ("rrf", "dbsf")
"""How hybrid search merges its dense and sparse candidate lists."""

"""The rank constant of reciprocal rank fusion."""

ACCESS_FIELD = "meta.access"
"""Payload field with a chunk's reader tags (``rag.access``); null or missing: public."""

INDEXED_FIELDS = ("doc_id", "source", "content_hash", ACCESS_FIELD)
"""Payload fields with a keyword index, created with the collection."""

INFO_FIELDS = ["doc_id", "source", "content_hash", "meta"]
"""Payload fields read to describe a document."""

BATCH_SIZE = 512
"""Points written per call."""

T = TypeVar("T")


@dataclass(frozen=True)
class Conditions:
    """A library-neutral filter.

    Every ``must`` key holds one of its values; no ``must_not`` key holds any of its values;
    with ``readers`` set, ``ACCESS_FIELD`` is empty or holds one of the readers.
    """

    must: tuple[tuple[str, tuple[str, ...]], ...] = ()
    must_not: tuple[tuple[str, tuple[str, ...]], ...] = ()
    readers: tuple[str, ...] | None = None

    def is_empty(self) -> bool:
        """Return True when the conditions let every point through."""
        return not (self.must or self.must_not) and self.readers is None

    @classmethod
    def for_search(cls, search_filter: SearchFilter | None) -> Conditions:
        """Turn a ``SearchFilter`` into match-any conditions on source, doc_id and readers."""
        if search_filter is None:
            return cls()
        pairs = (("source", search_filter.sources), ("doc_id", search_filter.doc_ids))
        return cls(
            must=tuple((key, tuple(values)) for key, values in pairs if values),
            readers=search_filter.readers,
        )

    @classmethod
    def for_document(
        cls, doc_id: str, *, content_hash: str | None = None, keep_hash: str | None = None
    ) -> Conditions:
        """Select a document's points: all, one version, or all but one version."""
        must: list[tuple[str, tuple[str, ...]]] = [("doc_id", (doc_id,))]
        if content_hash is not None:
            must.append(("content_hash", (content_hash,)))
        must_not = (("content_hash", (keep_hash,)),) if keep_hash is not None else ()
        return cls(must=tuple(must), must_not=must_not)


NODE_TYPE = "TextNode"
"""The llama-index node class recorded in ``_node_type`` so its ``QdrantVectorStore`` reads us."""

HIDDEN_NODE_KEYS = ["doc_id", "index", "char_start", "char_end"]
"""Node metadata llama-index should leave out of LLM prompts and embedding text."""


def node_metadata(chunk: Chunk) -> dict[str, Any]:
    """Return the metadata of the llama-index node that stands for ``chunk``."""
    page = chunk.page_span
    return {
        "source": chunk.source,
        "doc_id": chunk.doc_id,
        "index": chunk.index,
        "page_start": page[0] if page else None,
        "page_end": page[1] if page else None,
        "char_start": chunk.char_span[0],
        "char_end": chunk.char_span[1],
        "headings": list(chunk.headings),
    }


def llama_index_keys(chunk: Chunk) -> dict[str, Any]:
    """Return the payload keys llama-index's ``QdrantVectorStore`` rebuilds a ``TextNode`` from.

    ``_node_content`` is the node's JSON (id, text, metadata, char span, and a SOURCE
    relationship to the document, so ``ref_doc_id`` is our ``doc_id``).
    """
    node = {
        "id_": chunk.id,
        "text": chunk.text,
        "metadata": node_metadata(chunk),
        "excluded_embed_metadata_keys": HIDDEN_NODE_KEYS,
        "excluded_llm_metadata_keys": HIDDEN_NODE_KEYS,
        # NodeRelationship.SOURCE is "1", ObjectType.DOCUMENT is "4" in llama_index.core.schema
        "relationships": {"1": {"node_id": chunk.doc_id, "node_type": "4"}},
        "start_char_idx": chunk.char_span[0],
        "end_char_idx": chunk.char_span[1],
        "class_name": NODE_TYPE,
    }
    return {
        "_node_content": json.dumps(node, ensure_ascii=False),
        "_node_type": NODE_TYPE,
        "document_id": chunk.doc_id,
        "ref_doc_id": chunk.doc_id,
    }


def chunk_to_payload(chunk: Chunk) -> dict[str, Any]:
    """Return the JSON payload stored with a chunk's point (LateRAG's keys, then llama-index's)."""
    token = chunk.token_span
    page = chunk.page_span
    return {
        "text": chunk.text,
        "doc_id": chunk.doc_id,
        "source": chunk.source,
        "content_hash": chunk.content_hash,
        "index": chunk.index,
        "char_start": chunk.char_span[0],
        "char_end": chunk.char_span[1],
        "token_start": token[0] if token else None,
        "token_end": token[1] if token else None,
        "page_start": page[0] if page else None,
        "page_end": page[1] if page else None,
        "headings": list(chunk.headings),
        "context": chunk.context,
        "meta": dict(chunk.metadata),
        **llama_index_keys(chunk),
    }


def _span(payload: Mapping[str, Any], start: str, end: str) -> Span | None:
    first, last = payload.get(start), payload.get(end)
    if first is None or last is None:
        return None
    return (int(first), int(last))


def payload_to_chunk(payload: Mapping[str, Any] | None) -> Chunk:
    """Rebuild the chunk (without its vector) from a stored payload."""
    if payload is None:
        raise StoreError("stored point has no payload")
    try:
        return Chunk(
            doc_id=payload["doc_id"],
            source=payload["source"],
            content_hash=payload["content_hash"],
            index=int(payload["index"]),
            text=payload["text"],
            char_span=(int(payload["char_start"]), int(payload["char_end"])),
            token_span=_span(payload, "token_start", "token_end"),
            page_span=_span(payload, "page_start", "page_end"),
            headings=tuple(payload.get("headings") or ()),
            metadata=dict(payload.get("meta") or {}),
            context=str(payload.get("context") or ""),
        )
    except (KeyError, TypeError, ValueError) as e:
        raise StoreError(f"stored point has no valid LateRAG payload (missing or bad {e})") from e


def payload_to_info(payload: Mapping[str, Any] | None, chunks: int) -> DocumentInfo:
    """Describe a stored document version from one of its payloads and its chunk count."""
    if payload is None:
        raise StoreError("stored point has no payload")
    return DocumentInfo(
        doc_id=str(payload["doc_id"]),
        source=str(payload["source"]),
        content_hash=str(payload["content_hash"]),
        chunks=chunks,
        metadata=dict(payload.get("meta") or {}),
    )


def check_dim(dim: int) -> None:
    """Refuse a vector size that no collection can have."""
    if isinstance(dim, bool) or not isinstance(dim, int) or dim < 1:
        raise ConfigError(f"vector size must be a positive integer, got {dim!r}")


def check_same_dim(collection: str, stored: int, wanted: int) -> None:
    """Raise ``ConfigError`` when an existing collection holds vectors of another size."""
    if stored != wanted:
        raise ConfigError(
            f"collection {collection!r} holds vectors of size {stored}, but the embedder "
            f"makes vectors of size {wanted}: use another collection or the original model"
        )


def vector_values(vector: np.ndarray | None, dim: int, what: str) -> list[float]:
    """Return ``vector`` as floats after checking it is finite and has ``dim`` entries."""
    if vector is None:
        raise StoreError(f"{what} has no vector: embed it before storing it")
    array = np.asarray(vector, dtype=np.float32)
    if array.shape != (dim,):
        raise StoreError(f"{what} has a vector of shape {array.shape}, expected ({dim},)")
    if not np.isfinite(array).all():
        raise StoreError(f"{what} has a vector with NaN or infinite values")
    values: list[float] = array.tolist()
    return values


def sparse_parts(sparse: SparseVec, what: str) -> tuple[list[int], list[float]]:
    """Return a sparse vector's indices and values after checking they pair up and are finite."""
    if len(sparse.indices) != len(sparse.values):
        raise StoreError(
            f"{what} has a sparse vector with {len(sparse.indices)} indices "
            f"but {len(sparse.values)} values"
        )
    if any(i < 0 or i >= 2**32 for i in sparse.indices):
        raise StoreError(f"{what} has a sparse vector index outside 0..2**32-1")
    if not np.isfinite(np.asarray(sparse.values, dtype=np.float64)).all():
        raise StoreError(f"{what} has a sparse vector with NaN or infinite values")
    return list(sparse.indices), list(sparse.values)


def check_hybrid(fusion: str, weights: tuple[float, float]) -> None:
    """Refuse a fusion method or weights that hybrid search cannot honour."""
    if fusion not in FUSIONS:
        raise ConfigError(f"unknown fusion {fusion!r}: choose one of {', '.join(FUSIONS)}")
    if any(w < 0 or not np.isfinite(w) for w in weights) or not any(weights):
        raise ConfigError(f"fusion weights must be finite, >= 0 and not all 0, got {weights}")
    if fusion == "dbsf" and weights[0] != weights[1]:
        raise ConfigError("dbsf fusion weighs dense and sparse equally: use rrf to weight them")


def candidate_count(k: int, candidates: int | None) -> int:
    """Return how many candidates each side of a hybrid search fetches (at least ``k``)."""
    return max(k, candidates if candidates is not None else max(50, 4 * k))


def no_sparse(collection: str) -> ConfigError:
    """Return the error for a hybrid search of a collection made without sparse vectors."""
    return ConfigError(
        f"collection {collection!r} has no sparse vectors (made before hybrid search): "
        "ingest the documents into a new collection, or search without hybrid"
    )


def check_chunks(chunks: Sequence[Chunk], dim: int) -> None:
    """Refuse the whole batch before writing if any chunk lacks a fit vector or JSON metadata."""
    for chunk in chunks:
        what = f"chunk {chunk.index} of {chunk.source}"
        vector_values(chunk.vector, dim, what)
        if chunk.sparse is not None:
            sparse_parts(chunk.sparse, what)
        try:
            json.dumps(dict(chunk.metadata))
        except (TypeError, ValueError) as e:
            raise StoreError(f"{what}: metadata is not JSON-serialisable: {e}") from e


def missing_collection(collection: str) -> StoreError:
    """Return the error for searching a collection that was never created."""
    error = StoreError(f"collection {collection!r} does not exist: ingest documents first")
    error.collection = collection
    return error


def batches(items: Sequence[T], size: int = BATCH_SIZE) -> Iterator[Sequence[T]]:
    """Yield consecutive slices of at most ``size`` items."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def pick_version(counts: Mapping[str, int]) -> tuple[str, int]:
    """Choose the version reported when several coexist: most chunks, then highest hash."""
    content_hash = max(counts, key=lambda h: (counts[h], h))
    return content_hash, counts[content_hash]


def summarize(payloads: Iterable[Mapping[str, Any] | None]) -> list[DocumentInfo]:
    """Describe every document seen in ``payloads`` (one per chunk), ordered by source."""
    counts: dict[str, dict[str, int]] = {}
    samples: dict[tuple[str, str], Mapping[str, Any]] = {}
    for payload in payloads:
        if payload is None:
            raise StoreError("stored point has no payload")
        try:
            doc_id, content_hash = str(payload["doc_id"]), str(payload["content_hash"])
        except KeyError as e:
            raise StoreError(f"stored point has no valid LateRAG payload (missing {e})") from e
        versions = counts.setdefault(doc_id, {})
        versions[content_hash] = versions.get(content_hash, 0) + 1
        samples.setdefault((doc_id, content_hash), payload)
    infos = []
    for doc_id, versions in counts.items():
        content_hash, chunks = pick_version(versions)
        infos.append(payload_to_info(samples[doc_id, content_hash], chunks))
    return sorted(infos, key=lambda info: (info.source, info.doc_id))
