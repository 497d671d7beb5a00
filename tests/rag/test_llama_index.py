"""llama-index reads a LateRAG collection: our retriever and query engine, its Qdrant store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from llama_index.core.llms import MockLLM
from llama_index.core.schema import MetadataMode
from llama_index.core.vector_stores.types import (
    MetadataFilter,
    MetadataFilters,
    VectorStoreQuery,
)
from llama_index.vector_stores.qdrant import QdrantVectorStore

from rag.encoders import TransformerEncoder
from rag.errors import ConfigError
from rag.llama_index import LateRAGRetriever, query_engine
from rag.sdk import RAG
from rag.stores.server import ServerStore
from rag.types import SearchFilter

pytestmark = [pytest.mark.slow, pytest.mark.integration]

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "docs"
VACATION = "How many vacation days do new employees get?"
HOTEL = "What is the hotel limit per night in Tokyo?"


def open_rag(encoder: TransformerEncoder, *paths: Path) -> RAG:
    rag = RAG(encoder=encoder, store=ServerStore(location=":memory:", collection="docs"))
    report = rag.ingest(list(paths))
    assert not report.failed
    return rag


@pytest.fixture(scope="module")
def rag(encoder: TransformerEncoder) -> Iterator[RAG]:
    with open_rag(encoder, EXAMPLES) as opened:
        yield opened


def test_retriever_returns_our_chunks_as_scored_text_nodes(rag: RAG) -> None:
    hits = rag.search(VACATION, 3)
    nodes = LateRAGRetriever(rag, k=3).retrieve(VACATION)

    assert [n.node.node_id for n in nodes] == [h.chunk.id for h in hits]
    assert [n.score for n in nodes] == pytest.approx([h.score for h in hits])
    top = nodes[0].node
    chunk = hits[0].chunk
    assert "18 days" in top.get_content()
    assert top.metadata["source"].endswith("handbook.md")
    assert top.metadata["doc_id"] == chunk.doc_id == top.ref_doc_id
    assert (top.metadata["char_start"], top.metadata["char_end"]) == chunk.char_span
    assert (EXAMPLES / "handbook.md").read_text()[slice(*chunk.char_span)] == top.get_content()


def test_retriever_keeps_its_filter_and_k(rag: RAG) -> None:
    travel = str(EXAMPLES / "travel-policy.txt")
    nodes = LateRAGRetriever(rag, k=1, search_filter=SearchFilter(sources=(travel,))).retrieve(
        VACATION
    )
    assert len(nodes) == 1 and nodes[0].node.metadata["source"] == travel


def test_retriever_accepts_a_plain_retriever(rag: RAG) -> None:
    nodes = LateRAGRetriever(rag.retriever, k=2).retrieve(HOTEL)
    assert len(nodes) == 2 and "320" in nodes[0].node.get_content()


def test_query_engine_answers_from_our_chunks_with_an_explicit_llm(rag: RAG) -> None:
    engine = query_engine(rag, MockLLM(), k=2)  # MockLLM echoes the prompt it is given
    response = engine.query(HOTEL)

    assert response.source_nodes[0].node.metadata["source"].endswith("travel-policy.txt")
    prompt = str(response)
    assert "320 US dollars" in prompt and "travel-policy.txt" in prompt
    assert "char_start" not in prompt  # offsets and ids stay out of the LLM's context


def test_query_engine_refuses_to_fall_back_to_a_global_llm(rag: RAG) -> None:
    with pytest.raises(ConfigError, match="explicit llama-index LLM"):
        query_engine(rag, None)  # type: ignore[arg-type]


def test_llama_index_qdrant_vector_store_reads_our_collection(
    rag: RAG, encoder: TransformerEncoder
) -> None:
    store = rag.store.inner  # type: ignore[attr-defined]  (the SDK locks its store)
    assert isinstance(store, ServerStore)
    vector_store = QdrantVectorStore(
        client=store._client, collection_name=store.collection, dense_vector_name="dense"
    )
    query = encoder.embed([VACATION], "query")[0]
    result = vector_store.query(
        VectorStoreQuery(query_embedding=query.tolist(), similarity_top_k=3)
    )

    ours = [n.node for n in LateRAGRetriever(rag, k=3).retrieve(VACATION)]
    assert result.nodes is not None and result.similarities is not None
    assert [n.node_id for n in result.nodes] == [n.node_id for n in ours]
    for theirs, mine in zip(result.nodes, ours, strict=True):
        assert theirs.get_content() == mine.get_content()
        assert theirs.metadata == mine.metadata
        assert theirs.ref_doc_id == mine.ref_doc_id
        assert theirs.get_content(MetadataMode.LLM) == mine.get_content(MetadataMode.LLM)
    assert "18 days" in result.nodes[0].get_content()

    travel = str(EXAMPLES / "travel-policy.txt")
    only = vector_store.query(
        VectorStoreQuery(
            query_embedding=query.tolist(),
            similarity_top_k=3,
            filters=MetadataFilters(filters=[MetadataFilter(key="source", value=travel)]),
        )
    )
    assert only.nodes and {n.metadata["source"] for n in only.nodes} == {travel}


def test_llama_index_deletes_a_document_by_its_ref_doc_id(encoder: TransformerEncoder) -> None:
    with open_rag(encoder, EXAMPLES / "handbook.md", EXAMPLES / "security.html") as rag:
        store = rag.store.inner  # type: ignore[attr-defined]  (the SDK locks its store)
        assert isinstance(store, ServerStore)
        handbook = next(d for d in rag.documents() if d.source.endswith("handbook.md"))
        vector_store = QdrantVectorStore(
            client=store._client, collection_name=store.collection, dense_vector_name="dense"
        )
        vector_store.delete(handbook.doc_id)
        assert [Path(d.source).name for d in rag.documents()] == ["security.html"]
