"""A server collection's ingest manifest, kept on the server in a companion collection.

The companion of collection ``C`` is ``C~manifest`` (``~`` is not allowed in LateRAG's
collection names, so it never collides with one): a collection without vectors holding one
point per manifest row, each written on its own with ``wait=True``, so each step of an
ingest's swap is one atomic single-point write that outlives the process that made it.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from qdrant_client import QdrantClient, models

from rag.stores import payload as p
from rag.types import ID_NAMESPACE, ManifestRow

if TYPE_CHECKING:
    from rag.stores.server import ServerStore

SUFFIX = "~manifest"
"""Ending of a companion collection's name."""

PAGE = 1000
"""Rows read per scroll request."""

INDEXES = {
    "kind": models.PayloadSchemaType.KEYWORD,
    "doc_id": models.PayloadSchemaType.KEYWORD,
    "unfinished": models.PayloadSchemaType.BOOL,
}
"""Payload indexes of a companion on a server, for the filtered scrolls."""


def manifest_collection(collection: str) -> str:
    """The name of ``collection``'s companion that holds its manifest."""
    return f"{collection}{SUFFIX}"


def is_manifest_collection(name: str) -> bool:
    """True for a companion collection (never a user's: ``~`` is not allowed in theirs)."""
    return name.endswith(SUFFIX)


def _point_id(kind: str, key: str) -> str:
    return str(uuid.uuid5(ID_NAMESPACE, f"manifest:{kind}:{key}"))


def _source_point(row: ManifestRow) -> models.PointStruct:
    payload = {
        "kind": "source",
        "doc_id": row.doc_id,
        "committed": row.committed,
        "pending": row.pending,
        "previous": sorted(row.previous),
        "unfinished": row.unfinished,
    }
    return models.PointStruct(id=_point_id("source", row.doc_id), vector={}, payload=payload)


def _row(payload: dict[str, Any]) -> ManifestRow:
    return ManifestRow(
        str(payload["doc_id"]),
        payload.get("committed"),
        payload.get("pending"),
        tuple(payload.get("previous") or ()),
    )


def _match(key: str, value: str | bool) -> models.FieldCondition:
    return models.FieldCondition(key=key, match=models.MatchValue(value=value))


class ServerManifestRows:
    """The ``ManifestRows`` of one server collection, in its companion collection.

    Reads of a missing companion find nothing; the first write creates it, with the
    collection's replication and write consistency.
    """

    def __init__(self, store: ServerStore) -> None:
        self._store = store
        self.name = manifest_collection(store.collection)
        self._exists = False

    def __repr__(self) -> str:
        return f"ServerManifestRows({self.name!r})"

    def _read_client(self) -> QdrantClient | None:
        """The client while the companion exists, else None."""
        client = self._store.client()
        if not self._exists:
            with self._store.guard("cannot read the manifest collection"):
                self._exists = client.collection_exists(self.name)
        return client if self._exists else None

    def _write_client(self) -> QdrantClient:
        """The client, once the companion exists (created here on the first write)."""
        client = self._read_client()
        if client is not None:
            return client
        client = self._store.client()
        with self._store.guard("cannot create the manifest collection"):
            client.create_collection(
                self.name,
                vectors_config={},
                shard_number=1,
                replication_factor=self._store.replication,
                write_consistency_factor=self._store.write_consistency,
            )
            if self._store.url is not None:  # local mode has no payload indexes
                for key, kind in INDEXES.items():
                    client.create_payload_index(self.name, key, kind, wait=True)
        self._exists = True
        return client

    def _scroll(self, conditions: list[models.Condition]) -> list[dict[str, Any]]:
        client = self._read_client()
        if client is None:
            return []
        payloads: list[dict[str, Any]] = []
        offset: Any = None
        with self._store.guard("cannot read the manifest collection"):
            while True:
                records, offset = client.scroll(
                    self.name,
                    scroll_filter=models.Filter(must=conditions),
                    limit=PAGE,
                    offset=offset,
                    with_payload=True,
                    with_vectors=False,
                )
                payloads.extend(r.payload for r in records if r.payload is not None)
                if offset is None:
                    return payloads

    def _upsert(self, points: Sequence[models.PointStruct]) -> None:
        client = self._write_client()
        with self._store.guard("cannot write the manifest collection"):
            for batch in p.batches(list(points)):
                client.upsert(self.name, points=list(batch), wait=True)

    def source(self, doc_id: str) -> ManifestRow | None:
        """The row of one document, or None."""
        client = self._read_client()
        if client is None:
            return None
        with self._store.guard("cannot read the manifest collection"):
            found = client.retrieve(self.name, [_point_id("source", doc_id)], with_payload=True)
        return _row(found[0].payload) if found and found[0].payload else None

    def sources(self, *, unfinished: bool = False) -> list[ManifestRow]:
        """Every row, or only those an interrupted ingest left."""
        conditions: list[models.Condition] = [_match("kind", "source")]
        if unfinished:
            conditions.append(_match("unfinished", True))
        return [_row(payload) for payload in self._scroll(conditions)]

    def put_source(self, row: ManifestRow) -> None:
        """Write one row: a single point, acknowledged before this returns."""
        self._upsert([_source_point(row)])

    def put_sources(self, rows: Sequence[ManifestRow]) -> None:
        """Write many rows, a batch of points per request."""
        self._upsert([_source_point(row) for row in rows])

    def drop_source(self, doc_id: str) -> None:
        """Remove a document's row."""
        client = self._read_client()
        if client is None:
            return
        selector = models.PointIdsList(points=[_point_id("source", doc_id)])
        with self._store.guard("cannot write the manifest collection"):
            client.delete(self.name, points_selector=selector, wait=True)

    def value(self, key: str) -> Any:
        """A collection-wide value, or None."""
        client = self._read_client()
        if client is None:
            return None
        with self._store.guard("cannot read the manifest collection"):
            found = client.retrieve(self.name, [_point_id("value", key)], with_payload=True)
        payload = found[0].payload if found else None
        return json.loads(payload["value"]) if payload else None

    def set_value(self, key: str, value: Any) -> None:
        """Record a collection-wide value."""
        payload = {"kind": "value", "key": key, "value": json.dumps(value, sort_keys=True)}
        self._upsert([models.PointStruct(id=_point_id("value", key), vector={}, payload=payload)])

    def close(self) -> None:
        """Nothing to release: the rows use the store's connection."""
        self._exists = False
