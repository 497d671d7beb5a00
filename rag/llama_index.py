"""llama-index interop: a LateRAG collection as a llama-index retriever and query engine.

Nothing here reads or writes llama-index's global ``Settings``: the query engine needs an
explicit LLM, so it never falls back to a remote default.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from llama_index.core.base.base_retriever import BaseRetriever
from llama_index.core.callbacks import CallbackManager
from llama_index.core.llms import LLM
from llama_index.core.query_engine import RetrieverQueryEngine
from llama_index.core.schema import (
    NodeRelationship,
    NodeWithScore,
    ObjectType,
    QueryBundle,
    RelatedNodeInfo,
    TextNode,
)

from rag.access import Principal, scoped
from rag.errors import ConfigError
from rag.protocols import Retriever
from rag.stores.payload import HIDDEN_NODE_KEYS, node_metadata
from rag.types import Hit, SearchFilter

if TYPE_CHECKING:
    from rag.sdk import RAG

Search = Callable[[str, int, SearchFilter | None], list[Hit]]

DEFAULT_K = 5


def hit_to_node(hit: Hit) -> NodeWithScore:
    """Return the llama-index node of a hit: chunk id, text, metadata, char span and score."""
    chunk = hit.chunk
    node = TextNode(
        id_=chunk.id,
        text=chunk.text,
        metadata=node_metadata(chunk),
        excluded_embed_metadata_keys=list(HIDDEN_NODE_KEYS),
        excluded_llm_metadata_keys=list(HIDDEN_NODE_KEYS),
        start_char_idx=chunk.char_span[0],
        end_char_idx=chunk.char_span[1],
        relationships={
            NodeRelationship.SOURCE: RelatedNodeInfo(
                node_id=chunk.doc_id, node_type=ObjectType.DOCUMENT
            )
        },
    )
    return NodeWithScore(node=node, score=hit.score)


class LateRAGRetriever(BaseRetriever):
    """A llama-index retriever over a ``RAG`` or any LateRAG ``Retriever``.

    ``k`` defaults to the RAG's ``top_k`` (else 5); ``search_filter`` limits every query, and
    so does ``principal``: only documents it may read (None: public ones) are retrieved.
    """

    def __init__(
        self,
        source: RAG | Retriever,
        *,
        k: int | None = None,
        search_filter: SearchFilter | None = None,
        principal: Principal | None = None,
        callback_manager: CallbackManager | None = None,
    ) -> None:
        from rag.sdk import RAG

        if isinstance(source, RAG):
            rag = source

            def search(query: str, k: int, where: SearchFilter | None) -> list[Hit]:
                return rag.search(query, k, where, principal=principal)

            default_k = source.config.top_k
        else:
            retrieve = source.retrieve

            def search(query: str, k: int, where: SearchFilter | None) -> list[Hit]:
                return retrieve(query, k, scoped(where, principal))

            default_k = DEFAULT_K
        self._search: Search = search
        self.principal = principal
        self.k = k if k is not None else default_k
        if self.k < 1:
            raise ConfigError(f"k must be at least 1, got {self.k}")
        self.search_filter = search_filter
        super().__init__(callback_manager=callback_manager or CallbackManager([]))

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        hits = self._search(query_bundle.query_str, self.k, self.search_filter)
        return [hit_to_node(hit) for hit in hits]


def query_engine(
    source: RAG | Retriever,
    llm: LLM,
    *,
    k: int | None = None,
    search_filter: SearchFilter | None = None,
    principal: Principal | None = None,
    **kwargs: Any,
) -> RetrieverQueryEngine:
    """Build a llama-index ``RetrieverQueryEngine`` over a collection, answering with ``llm``.

    Extra keyword arguments go to ``RetrieverQueryEngine.from_args`` (``response_mode``,
    ``node_postprocessors``, ``streaming``, ...).
    """
    if not isinstance(llm, LLM):
        raise ConfigError(
            "query_engine needs an explicit llama-index LLM (llm=...); "
            "LateRAG never falls back to llama-index's global default"
        )
    retriever = LateRAGRetriever(source, k=k, search_filter=search_filter, principal=principal)
    kwargs.setdefault("callback_manager", retriever.callback_manager)
    return RetrieverQueryEngine.from_args(retriever, llm=llm, **kwargs)
