"""The standard LlamaIndex ingest pipeline over some files, for bench/ingest_throughput.py.

Usage: python bench/llama_index_ingest.py STORE_FOLDER FILE...

SimpleDirectoryReader, SentenceSplitter's defaults (1024-token chunks), HuggingFaceEmbedding
of LateRAG's bundled MiniLM folder on the CPU, and QdrantVectorStore on a local qdrant-client
folder: what LlamaIndex's starter guide builds. Run as its own process so its wall time
includes imports and model loading, as a user's would.
"""

from __future__ import annotations

import sys

from llama_index.core import SimpleDirectoryReader, StorageContext, VectorStoreIndex
from llama_index.core.node_parser import SentenceSplitter
from llama_index.embeddings.huggingface import HuggingFaceEmbedding
from llama_index.vector_stores.qdrant import QdrantVectorStore
from qdrant_client import QdrantClient

from rag.encoders import bundled_model_path


def main(folder: str, files: list[str]) -> None:
    """Ingest ``files`` into a Qdrant collection in ``folder``."""
    client = QdrantClient(path=folder)
    store = QdrantVectorStore(client=client, collection_name="bench")
    docs = SimpleDirectoryReader(input_files=files).load_data()
    VectorStoreIndex.from_documents(
        docs,
        storage_context=StorageContext.from_defaults(vector_store=store),
        embed_model=HuggingFaceEmbedding(model_name=str(bundled_model_path()), device="cpu"),
        transformations=[SentenceSplitter()],
    )
    client.close()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
