"""The embedded store: one qdrant-edge shard in a local folder, held by one process at a time.

Every qdrant-edge call of LateRAG lives in this module: its API changes between releases.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import cast

import numpy as np
from qdrant_edge import (
    BinaryQuantizationConfig,
    BinaryQuantizationQueryEncoding,
    CountRequest,
    Distance,
    EdgeConfig,
    EdgeOptimizersConfig,
    EdgeShard,
    EdgeSparseVectorParams,
    EdgeVectorParams,
    FacetRequest,
    FieldCondition,
    Filter,
    Fusion,
    IsEmptyCondition,
    MatchAny,
    MatchValue,
    Modifier,
    PayloadSchemaType,
    PayloadSelector,
    Point,
    Prefetch,
    QuantizationSearchParams,
    Query,
    QueryRequest,
    ScalarQuantizationConfig,
    ScalarType,
    ScrollRequest,
    SearchParams,
    SparseVector,
    UpdateOperation,
)

from rag.config import HNSW_EF, RRF_K, Quantization
from rag.errors import ConfigError, RagError, StoreError, StoreLockedError
from rag.protocols import Progress
from rag.stores import payload as p
from rag.stores.indexing import (
    INDEXING_THRESHOLD_KB,
    OVERSAMPLING,
    IndexStatus,
    check_hnsw_ef,
    check_quantization,
)
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

    must: list[FieldCondition | Filter] = [field(key, vals) for key, vals in conditions.must]
    if conditions.readers is not None:  # public (no tags) or readable by one of the readers
        readable: list[FieldCondition | IsEmptyCondition] = [IsEmptyCondition(p.ACCESS_FIELD)]
        if conditions.readers:
            readable.append(field(p.ACCESS_FIELD, conditions.readers))
        must.append(Filter(should=list(readable)))
    return Filter(
        must=list(must) or None,
        must_not=[field(key, values) for key, values in conditions.must_not] or None,
    )


_Vector = list[float] | SparseVector | list[list[float]]


def _sparse(vector: SparseVec, what: str) -> SparseVector:
    indices, values = p.sparse_parts(vector, what)
    return SparseVector(indices=indices, values=values)


def _quantizer(
    quantization: Quantization,
) -> ScalarQuantizationConfig | BinaryQuantizationConfig | None:
    """Return qdrant-edge's config for a quantisation kind (None: full floats only)."""
    if quantization == "scalar":
        return ScalarQuantizationConfig(type=ScalarType.Int8, always_ram=True)
    if quantization == "binary":  # one bit per dimension; queries keep 8 bits for accuracy
        return BinaryQuantizationConfig(
            always_ram=True, query_encoding=BinaryQuantizationQueryEncoding.Scalar8Bits
        )
    return None


def _stored_quantization(config_file: Path) -> Quantization:
    """Return the quantisation a shard's config file records for the dense vectors."""
    try:
        config = json.loads(config_file.read_text(encoding="utf-8"))
        kinds = config["vectors"][p.DENSE].get("quantization_config") or {}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return "none"
    return "scalar" if "scalar" in kinds else "binary" if "binary" in kinds else "none"


class EdgeStore(OpenedInWith):
    """A ``VectorStore`` in a local folder, embedded in this process with qdrant-edge.

    ``quantization`` and ``indexing_threshold_kb`` (segments larger than this get an HNSW
    index on ``optimize``) apply when the collection is created; an existing one keeps its own.
    ``hnsw_ef`` is how many candidates each dense search keeps in the graph (0: exact search).
    """

    def __init__(
        self,
        folder: str | Path,
        *,
        collection: str | None = None,
        quantization: str = "none",
        indexing_threshold_kb: int = INDEXING_THRESHOLD_KB,
        hnsw_ef: int = HNSW_EF,
    ) -> None:
        self.folder = Path(folder)
        self.collection = collection or self.folder.name
        self.quantization = check_quantization(quantization)
        self.indexing_threshold_kb = indexing_threshold_kb
        self.hnsw_ef = check_hnsw_ef(hnsw_ef)
        self._stored_quantization: Quantization = "none"
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
        self._stored_quantization = _stored_quantization(self.folder / CONFIG_FILE)
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
            if self.quantization not in ("none", self._stored_quantization):
                logger.warning(
                    "collection %r keeps its quantization %r: %r applies to new collections",
                    self.collection,
                    self._stored_quantization,
                    self.quantization,
                )
            return
        dense = EdgeVectorParams(
            size=dim, distance=Distance.Cosine, quantization_config=_quantizer(self.quantization)
        )
        config = EdgeConfig(
            vectors={p.DENSE: dense},
            sparse_vectors={p.SPARSE: EdgeSparseVectorParams(modifier=Modifier.Idf)},
            optimizers=EdgeOptimizersConfig(indexing_threshold=self.indexing_threshold_kb),
        )
        with self._guard("cannot create the store"):
            shard = EdgeShard.create(str(self.folder), config)
            self._shard, self._dim, self._sparse = shard, dim, True
            self._stored_quantization = self.quantization
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

    def chunk_ids(self, doc_id: str) -> list[str]:
        """Return the point ids of every stored chunk of a document, all versions."""
        shard = self._ready()
        if shard is None:
            return []
        ids: list[str] = []
        offset = None
        where = _filter(p.Conditions.for_document(doc_id))
        with self._guard("cannot list a document's chunks"):
            while True:
                request = ScrollRequest(
                    offset=offset,
                    limit=p.BATCH_SIZE,
                    filter=where,
                    with_payload=False,
                    with_vector=False,
                )
                records, offset = shard.scroll(request)
                ids.extend(str(record.id) for record in records)
                if offset is None:
                    return ids

    def delete_points(self, ids: Sequence[str]) -> None:
        """Delete chunks by point id; ids not stored are ignored."""
        shard = self._ready()
        if shard is None or not ids:
            return
        with self._guard("cannot delete chunks"):
            for batch in p.batches(list(ids)):
                shard.update(UpdateOperation.delete_points(list(batch)))

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
            params=self._search_params(),
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
            Fusion.Rrf(k=RRF_K, weights=list(weights)) if fusion == "rrf" else Fusion.Dbsf(),
        )
        request = QueryRequest(
            limit=k,
            prefetches=[
                Prefetch(
                    limit=limit, query=dense_query, filter=where, params=self._search_params()
                ),
                Prefetch(limit=limit, query=sparse_query, filter=where),
            ],
            query=fuse,
            with_payload=True,
            with_vector=False,
        )
        with self._guard("cannot search"):
            points = shard.query(request)
        return [Hit(chunk=p.payload_to_chunk(point.payload), score=point.score) for point in points]

    def export(
        self, batch_size: int = 256, start: str | None = None
    ) -> Iterator[tuple[list[Chunk], str | None]]:
        """Yield the stored chunks with their dense and sparse vectors, in id order from ``start``.

        Each batch of at most ``batch_size`` chunks comes with the id the next batch starts at
        (None after the last), so a copy can resume there.
        """
        if batch_size < 1:
            raise ConfigError(f"batch size must be at least 1, got {batch_size}")
        shard = self._ready()
        offset = start
        while shard is not None:
            request = ScrollRequest(
                offset=offset, limit=batch_size, with_payload=True, with_vector=True
            )
            with self._guard("cannot read chunks"):
                records, following = shard.scroll(request)
            chunks = []
            for record in records:
                vectors = cast(dict[str, _Vector], record.vector or {})
                dense, sparse = vectors.get(p.DENSE), vectors.get(p.SPARSE)
                chunk = replace(
                    p.payload_to_chunk(record.payload),
                    vector=None if dense is None else np.asarray(dense, dtype=np.float32),
                    sparse=None
                    if not isinstance(sparse, SparseVector)
                    else SparseVec(tuple(sparse.indices), tuple(map(float, sparse.values))),
                )
                if chunk.id != str(record.id):
                    raise StoreError(
                        f"point {record.id} in {self.folder} does not have the id of its payload "
                        f"({chunk.id}): it was not written by LateRAG",
                        collection=self.collection,
                    )
                chunks.append(chunk)
            offset = None if following is None else str(following)
            if chunks:
                yield chunks, offset
            if offset is None:
                return

    def _search_params(self) -> SearchParams:
        """The graph's ef (or exact search); quantised candidates rescored with the floats."""
        oversampling = OVERSAMPLING.get(self._stored_quantization)
        rescore = (
            None
            if oversampling is None
            else QuantizationSearchParams(rescore=True, oversampling=oversampling)
        )
        if self.hnsw_ef == 0:
            return SearchParams(exact=True, quantization=rescore)
        return SearchParams(hnsw_ef=self.hnsw_ef, quantization=rescore)

    def vector_size(self) -> int | None:
        """The dense vector size of the collection, or None when it does not exist."""
        return self._dim if self._ready() is not None else None

    def index_status(self) -> IndexStatus | None:
        """How many vectors are indexed and which payload fields are; None without a collection."""
        shard = self._ready()
        if shard is None:
            return None
        with self._guard("cannot read the store's index status"):
            info = shard.info()
        return IndexStatus(
            points=info.points_count,
            indexed_vectors=info.indexed_vectors_count,
            vectors_per_point=2 if self._sparse else 1,
            segments=info.segments_count,
            payload_indexes=tuple(sorted(info.payload_schema)),
            quantization=self._stored_quantization,
        )

    def optimize(self, progress: Progress | None = None) -> bool:
        """Build the HNSW index (and quantised vectors) of segments past the indexing threshold.

        Blocks the whole process until done (qdrant-edge 0.9 holds the GIL), minutes for 100k
        chunks. ``progress`` gets a line before and after a long build. Returns True when
        anything was rebuilt.
        """
        status = self.index_status()
        if status is None or self._dim is None:
            return False
        threshold = self.indexing_threshold_kb * 1024 // (4 * self._dim)
        if progress is not None and status.unindexed > threshold:
            progress(f"indexing {status.unindexed} chunks of {self.folder} (blocks until done)")
        started = time.perf_counter()
        with self._guard("cannot build the search index"):
            shard = cast(EdgeShard, self._shard)
            changed = shard.optimize()
            shard.flush()
        seconds = time.perf_counter() - started
        if changed:
            logger.info("optimised edge store %s in %.1f s", self.folder, seconds)
            if progress is not None:
                progress(f"search index of {self.folder} built in {seconds:.1f}s")
        return changed
