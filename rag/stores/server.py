"""The server store: a Qdrant collection reached with qdrant-client (or its in-memory mode)."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import SecretStr
from qdrant_client import QdrantClient, models
from qdrant_client.http.exceptions import ApiException

from rag.config import DEFAULT_COLLECTION, HNSW_EF, RRF_K, Quantization
from rag.errors import ConfigError, RagError, StoreError
from rag.stores import payload as p
from rag.stores.indexing import OVERSAMPLING, check_hnsw_ef, check_quantization
from rag.stores.lifecycle import OpenedInWith
from rag.stores.server_manifest import (
    ServerManifestRows,
    is_manifest_collection,
    manifest_collection,
)
from rag.types import Chunk, DocumentInfo, Hit, SearchFilter, SparseVec

logger = logging.getLogger(__name__)

SCROLL_PAGE = 1000
"""Payloads read per request when listing documents."""


def _filter(conditions: p.Conditions) -> models.Filter | None:
    if conditions.is_empty():
        return None

    def field(key: str, values: tuple[str, ...]) -> models.FieldCondition:
        match: models.MatchValue | models.MatchAny = (
            models.MatchValue(value=values[0])
            if len(values) == 1
            else models.MatchAny(any=list(values))
        )
        return models.FieldCondition(key=key, match=match)

    must: list[models.Condition] = [field(key, values) for key, values in conditions.must]
    if conditions.readers is not None:  # public (no tags) or readable by one of the readers
        empty = models.IsEmptyCondition(is_empty=models.PayloadField(key=p.ACCESS_FIELD))
        readable: list[models.Condition] = [empty]
        if conditions.readers:
            readable.append(field(p.ACCESS_FIELD, conditions.readers))
        must.append(models.Filter(should=readable))
    return models.Filter(
        must=must or None,
        must_not=[field(key, values) for key, values in conditions.must_not] or None,
    )


def _sparse(vector: SparseVec, what: str) -> models.SparseVector:
    indices, values = p.sparse_parts(vector, what)
    return models.SparseVector(indices=indices, values=values)


def _quantizer(
    quantization: Quantization,
) -> models.ScalarQuantization | models.BinaryQuantization | None:
    """Return qdrant-client's config for a quantisation kind (None: full floats only)."""
    if quantization == "scalar":
        config = models.ScalarQuantizationConfig(type=models.ScalarType.INT8, always_ram=True)
        return models.ScalarQuantization(scalar=config)
    if quantization == "binary":  # one bit per dimension; queries keep 8 bits for accuracy
        encoding = models.BinaryQuantizationQueryEncoding.SCALAR8BITS
        binary = models.BinaryQuantizationConfig(always_ram=True, query_encoding=encoding)
        return models.BinaryQuantization(binary=binary)
    return None


class ServerStore(OpenedInWith):
    """A ``VectorStore`` on a Qdrant server at ``url``, or qdrant-client's local mode.

    Local mode stands in for a server: in memory (``location=":memory:"``) or in a folder
    (``path``, one process at a time). The collection's ingest manifest is kept beside it,
    in a companion collection (``manifest_rows``).

    ``shards``, ``replication`` and ``write_consistency`` shape a collection it creates; None
    leaves the server's default (on a cluster: one shard per node, the configured replicas).
    ``quantization`` applies to a collection it creates; ``hnsw_ef`` is how many candidates
    each dense search keeps in the graph (0: exact search). The in-memory mode records the
    quantisation but always searches exactly.
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        api_key: str | SecretStr | None = None,
        collection: str = DEFAULT_COLLECTION,
        location: str | None = None,
        path: str | Path | None = None,
        timeout: int | None = None,
        shards: int | None = None,
        replication: int | None = None,
        write_consistency: int | None = None,
        quantization: str = "none",
        hnsw_ef: int = HNSW_EF,
    ) -> None:
        if sum(where is not None for where in (url, location, path)) != 1:
            raise ConfigError(
                "give one of a Qdrant server url, location=':memory:' or a local-mode path"
            )
        self.url = url
        self.location = location
        self.path = Path(path) if path is not None else None
        self.collection = collection
        self.timeout = timeout
        self.shards = shards
        self.replication = replication
        self.write_consistency = write_consistency
        self.quantization = check_quantization(quantization)
        self.hnsw_ef = check_hnsw_ef(hnsw_ef)
        self._stored_quantization: Quantization = "none"
        self._api_key = api_key.get_secret_value() if isinstance(api_key, SecretStr) else api_key
        self._client: QdrantClient | None = None
        self._dim: int | None = None
        self._sparse = False

    def __repr__(self) -> str:
        return f"ServerStore({self._where!r}, collection={self.collection!r})"

    @property
    def _where(self) -> str:
        return self.url or str(self.location or self.path)

    def _reason(self, error: Exception) -> str:
        reason = str(error) or type(error).__name__
        return reason.replace(self._api_key, "***") if self._api_key else reason

    @contextmanager
    def guard(self, action: str) -> Iterator[None]:
        """Turn qdrant-client failures into store errors naming the server, never the key."""
        try:
            yield
        except RagError:
            raise
        except (ApiException, ValueError, OSError) as e:
            raise StoreError(
                f"{action} at {self._where}: {self._reason(e)}", collection=self.collection
            ) from e

    def _read_dim(self, client: QdrantClient) -> int | None:
        if not client.collection_exists(self.collection):
            return None
        config = client.get_collection(self.collection).config.params
        vectors = config.vectors
        self._sparse = p.SPARSE in (config.sparse_vectors or {})
        params = vectors.get(p.DENSE) if isinstance(vectors, dict) else None
        if params is None:
            raise ConfigError(
                f"collection {self.collection!r} at {self._where} has no {p.DENSE!r} vector: "
                "it was not made by LateRAG"
            )
        kind = params.quantization_config
        self._stored_quantization = (
            "scalar"
            if isinstance(kind, models.ScalarQuantization)
            else "binary"
            if isinstance(kind, models.BinaryQuantization)
            else "none"
        )
        return int(params.size)

    def _ready(self) -> QdrantClient:
        """Return the client, refreshing the collection's size while it seems missing."""
        if self._client is None:
            raise StoreError(f"store {self._where} is not open: call open() or use a with-block")
        if self._dim is None:
            with self.guard("cannot read the collection"):
                self._dim = self._read_dim(self._client)
        return self._client

    def open(self) -> None:
        """Connect and read the collection's vector size; raises ``StoreError`` if unreachable."""
        if self._client is not None:
            return
        client: QdrantClient | None = None
        try:
            if self.url is not None:
                client = QdrantClient(
                    url=self.url,
                    api_key=self._api_key,
                    timeout=self.timeout,
                    check_compatibility=False,
                )
            elif self.path is not None:
                client = QdrantClient(path=str(self.path))
            else:
                client = QdrantClient(location=self.location)
            self._dim = self._read_dim(client)
            companion = manifest_collection(self.collection)
            if self._dim is None and client.collection_exists(companion):
                # The collection was deleted behind our back: its manifest describes nothing.
                logger.warning("removing %r: its collection no longer exists", companion)
                client.delete_collection(companion)
        except Exception as e:
            if client is not None:
                client.close()
            if isinstance(e, RagError):
                raise
            raise StoreError(f"cannot reach Qdrant at {self._where}: {self._reason(e)}") from e
        self._client = client
        logger.debug("connected to Qdrant at %s", self._where)

    def client(self) -> QdrantClient:
        """The open qdrant-client connection; ``StoreError`` when the store is not open."""
        return self._ready()

    def manifest_rows(self) -> ServerManifestRows:
        """The collection's manifest rows, in its companion collection on the same server."""
        return ServerManifestRows(self)

    def collection_names(self) -> list[str]:
        """Every user collection on the server, sorted (manifest companions left out)."""
        client = self._ready()
        with self.guard("cannot list collections"):
            names = [c.name for c in client.get_collections().collections]
        return sorted(name for name in names if not is_manifest_collection(name))

    def close(self) -> None:
        """Release the connection."""
        client, self._client, self._dim = self._client, None, None
        if client is not None:
            with self.guard("cannot close the connection"):
                client.close()

    def exists(self) -> bool:
        """Return True when the collection exists."""
        self._ready()
        return self._dim is not None

    def create_collection(self, dim: int) -> None:
        """Create the collection: cosine ``dense`` vectors of ``dim``, IDF ``sparse``, indexes."""
        p.check_dim(dim)
        client = self._ready()
        if self._dim is not None:
            p.check_same_dim(self.collection, self._dim, dim)
            return
        dense = models.VectorParams(
            size=dim,
            distance=models.Distance.COSINE,
            quantization_config=_quantizer(self.quantization),
        )
        vectors = {p.DENSE: dense}
        sparse = {p.SPARSE: models.SparseVectorParams(modifier=models.Modifier.IDF)}
        with self.guard("cannot create the collection"):
            client.create_collection(
                self.collection,
                vectors_config=vectors,
                sparse_vectors_config=sparse,
                shard_number=self.shards,
                replication_factor=self.replication,
                write_consistency_factor=self.write_consistency,
            )
            if self.url is not None:  # the in-memory mode has no payload indexes and warns
                for field in p.INDEXED_FIELDS:
                    client.create_payload_index(
                        self.collection, field, models.PayloadSchemaType.KEYWORD, wait=True
                    )
        self._dim, self._sparse = dim, True
        self._stored_quantization = self.quantization
        logger.info("created collection %r at %s (size %d)", self.collection, self._where, dim)

    def upsert(self, chunks: Sequence[Chunk]) -> None:
        """Write chunks with their own vectors under their deterministic ids."""
        client = self._ready()
        if not chunks:
            return
        if self._dim is None:
            raise StoreError(
                "call create_collection(dim) before upsert", collection=self.collection
            )
        dim = self._dim
        p.check_chunks(chunks, dim)
        with self.guard("cannot write chunks"):
            for batch in p.batches(chunks):
                points = [
                    models.PointStruct(
                        id=chunk.id,
                        vector=self._vectors(chunk, dim),
                        payload=p.chunk_to_payload(chunk),
                    )
                    for chunk in batch
                ]
                client.upsert(self.collection, points=points, wait=True)

    def _vectors(self, chunk: Chunk, dim: int) -> dict[str, Any]:
        """Return a point's named vectors: dense, plus sparse when chunk and collection have it."""
        vectors: dict[str, Any] = {p.DENSE: p.vector_values(chunk.vector, dim, "chunk")}
        if chunk.sparse is not None and self._sparse:
            vectors[p.SPARSE] = _sparse(chunk.sparse, "chunk")
        return vectors

    def delete_document(self, doc_id: str, *, keep_hash: str | None = None) -> int:
        """Delete a document's chunks (all, or those not of version ``keep_hash``)."""
        client = self._ready()
        if self._dim is None:
            return 0
        selector = _filter(p.Conditions.for_document(doc_id, keep_hash=keep_hash))
        with self.guard("cannot delete a document"):
            doomed = client.count(self.collection, count_filter=selector, exact=True).count
            if doomed and selector is not None:
                client.delete(
                    self.collection, points_selector=models.FilterSelector(filter=selector)
                )
        return doomed

    def chunk_ids(self, doc_id: str) -> list[str]:
        """Return the point ids of every stored chunk of a document, all versions."""
        client = self._ready()
        if self._dim is None:
            return []
        ids: list[str] = []
        offset: Any = None
        with self.guard("cannot list a document's chunks"):
            while True:
                records, offset = client.scroll(
                    self.collection,
                    scroll_filter=_filter(p.Conditions.for_document(doc_id)),
                    limit=SCROLL_PAGE,
                    offset=offset,
                    with_payload=False,
                    with_vectors=False,
                )
                ids.extend(str(record.id) for record in records)
                if offset is None:
                    return ids

    def delete_points(self, ids: Sequence[str]) -> None:
        """Delete chunks by point id; ids not stored are ignored."""
        client = self._ready()
        if self._dim is None or not ids:
            return
        with self.guard("cannot delete chunks"):
            for batch in p.batches(list(ids)):
                client.delete(
                    self.collection,
                    points_selector=models.PointIdsList(points=list(batch)),
                    wait=True,
                )

    def _summarize(self, client: QdrantClient, conditions: p.Conditions) -> list[DocumentInfo]:
        """Scroll the matching payloads (no text, no vectors) once and group them by document.

        One pass beats a facet plus two calls per document here: the in-memory mode scans
        every point on each call, and on a server the pass is a few paged requests.
        """
        payloads: list[dict[str, Any] | None] = []
        offset: Any = None
        with self.guard("cannot list documents"):
            while True:
                records, offset = client.scroll(
                    self.collection,
                    scroll_filter=_filter(conditions),
                    limit=SCROLL_PAGE,
                    offset=offset,
                    with_payload=list(p.INFO_FIELDS),
                    with_vectors=False,
                )
                payloads.extend(record.payload for record in records)
                if offset is None:
                    break
        return p.summarize(payloads)

    def document(self, doc_id: str) -> DocumentInfo | None:
        """Return the stored version of one document, or None."""
        client = self._ready()
        if self._dim is None:
            return None
        infos = self._summarize(client, p.Conditions.for_document(doc_id))
        return infos[0] if infos else None

    def documents(self) -> list[DocumentInfo]:
        """Return every stored document, ordered by source."""
        client = self._ready()
        return [] if self._dim is None else self._summarize(client, p.Conditions())

    def search(
        self, vector: np.ndarray, k: int, search_filter: SearchFilter | None = None
    ) -> list[Hit]:
        """Return the ``k`` chunks nearest to ``vector`` (without vectors), best first."""
        client = self._ready()
        if self._dim is None:
            raise p.missing_collection(self.collection)
        if k < 1:
            return []
        query = p.vector_values(vector, self._dim, "the query")
        with self.guard("cannot search"):
            response = client.query_points(
                self.collection,
                query=query,
                using=p.DENSE,
                query_filter=_filter(p.Conditions.for_search(search_filter)),
                search_params=self._search_params(),
                limit=k,
                with_payload=True,
                with_vectors=False,
            )
        return [Hit(chunk=p.payload_to_chunk(pt.payload), score=pt.score) for pt in response.points]

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
        client = self._ready()
        if self._dim is None:
            raise p.missing_collection(self.collection)
        if not self._sparse:
            raise p.no_sparse(self.collection)
        if k < 1:
            return []
        where = _filter(p.Conditions.for_search(search_filter))
        limit = p.candidate_count(k, candidates)
        prefetch = [
            models.Prefetch(
                query=p.vector_values(vector, self._dim, "the query"),
                using=p.DENSE,
                filter=where,
                params=self._search_params(),
                limit=limit,
            ),
            models.Prefetch(
                query=_sparse(sparse, "the query"), using=p.SPARSE, filter=where, limit=limit
            ),
        ]
        fuse: models.RrfQuery | models.FusionQuery = (
            models.RrfQuery(rrf=models.Rrf(k=RRF_K, weights=list(weights)))
            if fusion == "rrf"
            else models.FusionQuery(fusion=models.Fusion.DBSF)
        )
        with self.guard("cannot search"):
            response = client.query_points(
                self.collection,
                prefetch=prefetch,
                query=fuse,
                limit=k,
                with_payload=True,
                with_vectors=False,
            )
        return [Hit(chunk=p.payload_to_chunk(pt.payload), score=pt.score) for pt in response.points]

    def count(self, search_filter: SearchFilter | None = None) -> int:
        """Return how many chunks match ``search_filter``."""
        client = self._ready()
        if self._dim is None:
            return 0
        selector = _filter(p.Conditions.for_search(search_filter))
        with self.guard("cannot count chunks"):
            return client.count(self.collection, count_filter=selector, exact=True).count

    def _search_params(self) -> models.SearchParams | None:
        """The graph's ef (or exact search), quantised candidates rescored (servers only)."""
        if self.url is None:  # local mode always searches exactly and warns about params
            return None
        oversampling = OVERSAMPLING.get(self._stored_quantization)
        rescore = (
            None
            if oversampling is None
            else models.QuantizationSearchParams(rescore=True, oversampling=oversampling)
        )
        if self.hnsw_ef == 0:
            return models.SearchParams(exact=True, quantization=rescore)
        return models.SearchParams(hnsw_ef=self.hnsw_ef, quantization=rescore)

    def vector_size(self) -> int | None:
        """The dense vector size of the collection, or None when it does not exist."""
        self._ready()
        return self._dim
