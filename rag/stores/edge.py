"""The embedded store: one qdrant-edge shard in a local folder, held by one process at a time.

Every qdrant-edge call of LateRAG lives in this module: its API changes between releases.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import cast

import numpy as np
from qdrant_edge import (
    CountRequest,
    Distance,
    EdgeConfig,
    EdgeShard,
    EdgeSparseVectorParams,
    EdgeVectorParams,
    FacetRequest,
    FieldCondition,
    Filter,
    Fusion,
    MatchAny,
    MatchValue,
    Modifier,
    PayloadSchemaType,
    PayloadSelector,
    Point,
    Prefetch,
    Query,
    QueryRequest,
    ScrollRequest,
    SparseVector,
    UpdateOperation,
)

from rag.errors import ConfigError, RagError, StoreError, StoreLockedError
from rag.stores import payload as p
from rag.stores.lifecycle import OpenedInWith
from rag.types import Chunk, DocumentInfo, Hit, SearchFilter, SparseVec

logger = logging.getLogger(__name__)

CONFIG_FILE = "edge_config.json"
"""The file qdrant-edge 0.9 writes into a shard folder with the shard's vector settings."""


def _filter(conditions: p.Conditions) -> Filter | None:
    if conditions.is_empty():
        return None

    def field(key: str, values: tuple[str, ...]) -> FieldCondition:
        match = MatchValue(value=values[0]) if len(values) == 1 else MatchAny(any=list(values))
        return FieldCondition(key=key, match=match)

    return Filter(
        must=[field(key, values) for key, values in conditions.must] or None,
        must_not=[field(key, values) for key, values in conditions.must_not] or None,
    )


_Vector = list[float] | SparseVector | list[list[float]]


def _sparse(vector: SparseVec, what: str) -> SparseVector:
    indices, values = p.sparse_parts(vector, what)
    return SparseVector(indices=indices, values=values)


class EdgeStore(OpenedInWith):
    """A ``VectorStore`` in a local folder, embedded in this process with qdrant-edge."""

    def __init__(self, folder: str | Path, *, collection: str | None = None) -> None:
        self.folder = Path(folder)
        self.collection = collection or self.folder.name
        self._shard: EdgeShard | None = None
        self._dim: int | None = None
        self._sparse = False
        self._open = False

    def __repr__(self) -> str:
        return f"EdgeStore({str(self.folder)!r}, collection={self.collection!r})"

    @contextmanager
    def _guard(self, action: str) -> Iterator[None]:
        """Turn qdrant-edge's bare exceptions into store errors that say what failed."""
        try:
            yield
        except RagError:
            raise
        except Exception as e:
            if "WouldBlock" in str(e):
                raise StoreLockedError(
                    f"store {self.folder} is in use by another process "
                    "(close the other LateRAG process or use --store DIR)"
                ) from e
            raise StoreError(f"{action} in {self.folder}: {e}", collection=self.collection) from e

    def _load(self) -> None:
        dim, sparse = self._stored_vectors()
        with self._guard("cannot open the store"):
            self._shard = EdgeShard.load(str(self.folder))
        self._dim, self._sparse = dim, sparse
        logger.debug("opened edge store %s (dim %d)", self.folder, self._dim)

    def _stored_vectors(self) -> tuple[int, bool]:
        """Return the dense size and whether the shard has the sparse vector, from its config."""
        try:
            config = json.loads((self.folder / CONFIG_FILE).read_text(encoding="utf-8"))
            sparse = p.SPARSE in (config.get("sparse_vectors") or {})
            return int(config["vectors"][p.DENSE]["size"]), sparse
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise ConfigError(
                f"{self.folder} is not a LateRAG store: no {p.DENSE!r} vector in {CONFIG_FILE} "
                f"({e!r})"
            ) from e

    def _ready(self) -> EdgeShard | None:
        """Return the shard, loading it if another process created it since ``open``."""
        if not self._open:
            raise StoreError(
                f"store {self.folder} is not open: call open() or use it in a with-block"
            )
        if self._shard is None and (self.folder / CONFIG_FILE).is_file():
            self._load()
        return self._shard

    def open(self) -> None:
        """Open the shard folder if it exists; raises ``StoreLockedError`` when it is held."""
        if self._open:
            return
        if (self.folder / CONFIG_FILE).is_file():
            self._load()
        self._open = True

    def close(self) -> None:
        """Flush and release the shard folder."""
        shard, self._shard, self._open = self._shard, None, False
        if shard is not None:
            with self._guard("cannot close the store"):
                try:
                    shard.flush()
                finally:
                    shard.close()

    def exists(self) -> bool:
        """Return True when the shard folder holds a collection."""
        return self._ready() is not None

    def create_collection(self, dim: int) -> None:
        """Create the shard: cosine ``dense`` vectors of ``dim``, IDF ``sparse`` ones, indexes."""
        p.check_dim(dim)
        if self._ready() is not None:
            p.check_same_dim(self.collection, self._dim or 0, dim)
            return
        config = EdgeConfig(
            vectors={p.DENSE: EdgeVectorParams(size=dim, distance=Distance.Cosine)},
            sparse_vectors={p.SPARSE: EdgeSparseVectorParams(modifier=Modifier.Idf)},
        )
        with self._guard("cannot create the store"):
            shard = EdgeShard.create(str(self.folder), config)
            self._shard, self._dim, self._sparse = shard, dim, True
            for field in p.INDEXED_FIELDS:
                shard.update(UpdateOperation.create_field_index(field, PayloadSchemaType.Keyword))
            shard.flush()
        logger.info("created edge store %s for vectors of size %d", self.folder, dim)

    def upsert(self, chunks: Sequence[Chunk]) -> None:
        """Write chunks with their own vectors under their deterministic ids."""
        shard = self._ready()
        if not chunks:
            return
        if shard is None or self._dim is None:
            raise StoreError(
                "call create_collection(dim) before upsert", collection=self.collection
            )
        dim = self._dim
        p.check_chunks(chunks, dim)
        with self._guard("cannot write chunks"):
            for batch in p.batches(chunks):
                points = [
                    Point(
                        id=chunk.id,
                        vector=self._vectors(chunk, dim),
                        payload=p.chunk_to_payload(chunk),
                    )
                    for chunk in batch
                ]
                shard.update(UpdateOperation.upsert_points(points))
        logger.debug("upserted %d chunks into %s", len(chunks), self.folder)

    def _vectors(self, chunk: Chunk, dim: int) -> dict[str, _Vector]:
        """Return a point's named vectors: dense, plus sparse when both chunk and shard have it."""
        vectors: dict[str, _Vector] = {p.DENSE: p.vector_values(chunk.vector, dim, "chunk")}
        if chunk.sparse is not None and self._sparse:
            vectors[p.SPARSE] = _sparse(chunk.sparse, "chunk")
        return vectors

    def delete_document(self, doc_id: str, *, keep_hash: str | None = None) -> int:
        """Delete a document's chunks (all, or those not of version ``keep_hash``)."""
        shard = self._ready()
        if shard is None:
            return 0
        selector = _filter(p.Conditions.for_document(doc_id, keep_hash=keep_hash))
        with self._guard("cannot delete a document"):
            doomed = shard.count(CountRequest(exact=True, filter=selector))
            if doomed and selector is not None:
                shard.update(UpdateOperation.delete_points_by_filter(selector))
        return doomed

    def _facet(
        self, shard: EdgeShard, key: str, conditions: p.Conditions, limit: int
    ) -> dict[str, int]:
        request = FacetRequest(key=key, limit=limit, exact=True, filter=_filter(conditions))
        with self._guard(f"cannot count values of {key}"):
            return {str(hit.value): int(hit.count) for hit in shard.facet(request).hits}

    def _info(self, shard: EdgeShard, doc_id: str) -> DocumentInfo | None:
        versions = self._facet(shard, "content_hash", p.Conditions.for_document(doc_id), 1000)
        if not versions:
            return None
        content_hash, chunks = p.pick_version(versions)
        one = p.Conditions.for_document(doc_id, content_hash=content_hash)
        request = ScrollRequest(
            limit=1,
            filter=_filter(one),
            with_payload=PayloadSelector.Include(p.INFO_FIELDS),
            with_vector=False,
        )
        with self._guard("cannot read a document"):
            records, _ = shard.scroll(request)
        return p.payload_to_info(records[0].payload, chunks) if records else None

    def document(self, doc_id: str) -> DocumentInfo | None:
        """Return the stored version of one document, or None."""
        shard = self._ready()
        return None if shard is None else self._info(shard, doc_id)

    def documents(self) -> list[DocumentInfo]:
        """Return every stored document, ordered by source."""
        shard = self._ready()
        total = self.count()
        if shard is None or total == 0:
            return []
        doc_ids = self._facet(shard, "doc_id", p.Conditions(), total)
        infos = [info for doc_id in doc_ids if (info := self._info(shard, doc_id)) is not None]
        return sorted(infos, key=lambda info: (info.source, info.doc_id))

    def search(
        self, vector: np.ndarray, k: int, search_filter: SearchFilter | None = None
    ) -> list[Hit]:
        """Return the ``k`` chunks nearest to ``vector`` (without vectors), best first."""
        shard = self._ready()
        if shard is None or self._dim is None:
            raise p.missing_collection(self.collection)
        if k < 1:
            return []
        request = QueryRequest(
            limit=k,
            query=Query.Nearest(p.vector_values(vector, self._dim, "the query"), using=p.DENSE),
            filter=_filter(p.Conditions.for_search(search_filter)),
            with_payload=True,
            with_vector=False,
        )
        with self._guard("cannot search"):
            points = shard.query(request)
        return [Hit(chunk=p.payload_to_chunk(point.payload), score=point.score) for point in points]

    def count(self, search_filter: SearchFilter | None = None) -> int:
        """Return how many chunks match ``search_filter``."""
        shard = self._ready()
        if shard is None:
            return 0
        request = CountRequest(exact=True, filter=_filter(p.Conditions.for_search(search_filter)))
        with self._guard("cannot count chunks"):
            return shard.count(request)

    def hybrid_search(
        self,
        vector: np.ndarray,
        sparse: SparseVec,
        k: int,
        search_filter: SearchFilter | None = None,
        *,
        fusion: str = "rrf",
        weights: tuple[float, float] = (1.0, 1.0),
        candidates: int | None = None,
    ) -> list[Hit]:
        """Return the ``k`` best chunks by fusing dense and sparse candidates, best first."""
        p.check_hybrid(fusion, weights)
        shard = self._ready()
        if shard is None or self._dim is None:
            raise p.missing_collection(self.collection)
        if not self._sparse:
            raise p.no_sparse(self.collection)
        if k < 1:
            return []
        where = _filter(p.Conditions.for_search(search_filter))
        limit = p.candidate_count(k, candidates)
        dense_query = Query.Nearest(p.vector_values(vector, self._dim, "the query"), using=p.DENSE)
        sparse_query = Query.Nearest(_sparse(sparse, "the query"), using=p.SPARSE)
        # qdrant-edge 0.9's stubs leave Fusion.Rrf and Fusion.Dbsf out of the query types
        fuse = cast(
            Fusion,
            Fusion.Rrf(k=p.RRF_K, weights=list(weights)) if fusion == "rrf" else Fusion.Dbsf(),
        )
        request = QueryRequest(
            limit=k,
            prefetches=[
                Prefetch(limit=limit, query=dense_query, filter=where),
                Prefetch(limit=limit, query=sparse_query, filter=where),
            ],
            query=fuse,
            with_payload=True,
            with_vector=False,
        )
        with self._guard("cannot search"):
            points = shard.query(request)
        return [Hit(chunk=p.payload_to_chunk(point.payload), score=point.score) for point in points]
