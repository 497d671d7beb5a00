"""The ``rag`` command: a thin layer over the SDK; results to stdout, diagnostics to stderr."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Annotated, Any, Literal

import typer
from pydantic import SecretStr, ValidationError

from rag.config import (
    DEFAULT_COLLECTION,
    DEFAULT_STORE_DIR,
    ChunkingConfig,
    EmbedderConfig,
    LLMConfig,
    RAGConfig,
    StoreConfig,
)
from rag.errors import ConfigError, RagError

app = typer.Typer(
    help="LateRAG: late-chunking retrieval-augmented generation over your documents.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

Store = Annotated[
    Path, typer.Option("--store", help="Folder of the embedded Qdrant store.", show_default=True)
]
QdrantUrl = Annotated[
    str | None, typer.Option("--qdrant-url", help="Use a Qdrant server instead of --store.")
]
QdrantKey = Annotated[
    str | None,
    typer.Option("--qdrant-api-key", envvar="QDRANT_API_KEY", help="API key of the server."),
]
Collection = Annotated[str, typer.Option("--collection", help="Collection name.")]
Json = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON on stdout.")]
Model = Annotated[
    str | None,
    typer.Option("--model", help="Hugging Face encoder name or folder (default: bundled MiniLM)."),
]
Chunking = Annotated[
    Literal["late", "naive"], typer.Option("--chunking", help="How chunk vectors are made.")
]
Chunker = Annotated[
    Literal["tokens", "sentences", "structure"],
    typer.Option("--chunker", help="Where chunk boundaries go."),
]
ChunkSize = Annotated[int, typer.Option("--chunk-size", help="Most tokens in one chunk.")]
Overlap = Annotated[
    int | None, typer.Option("--overlap", help="Macro-window overlap in tokens (late chunking).")
]
TopK = Annotated[int, typer.Option("-k", "--top-k", help="How many chunks to retrieve.")]
Sources = Annotated[
    list[str] | None, typer.Option("--source", help="Only search this source path (repeatable).")
]
DocIds = Annotated[
    list[str] | None, typer.Option("--doc-id", help="Only search this document id (repeatable).")
]

_CHUNKING = ChunkingConfig()


def _config(
    store: Path,
    qdrant_url: str | None,
    qdrant_api_key: str | None,
    collection: str,
    **parts: Any,
) -> RAGConfig:
    try:
        key = SecretStr(qdrant_api_key) if qdrant_api_key else None
        store_config = StoreConfig(path=store, url=qdrant_url, api_key=key, collection=collection)
        return RAGConfig(store=store_config, **parts)
    except ValidationError as e:
        problems = "; ".join(f"{'.'.join(map(str, x['loc']))}: {x['msg']}" for x in e.errors())
        raise ConfigError(problems) from e


def _emit(data: Any) -> None:
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2))


def _filter(sources: list[str] | None, doc_ids: list[str] | None) -> Any:
    from rag.types import SearchFilter

    resolved = tuple(str(Path(s).expanduser().resolve()) for s in sources or ())
    return SearchFilter(sources=resolved, doc_ids=tuple(doc_ids or ()))


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Files and folders to ingest.")],
    chunking: Chunking = _CHUNKING.mode,
    chunker: Chunker = _CHUNKING.chunker,
    chunk_size: ChunkSize = _CHUNKING.chunk_size,
    overlap: Overlap = None,
    model: Model = None,
    store: Store = DEFAULT_STORE_DIR,
    qdrant_url: QdrantUrl = None,
    qdrant_api_key: QdrantKey = None,
    collection: Collection = DEFAULT_COLLECTION,
    json_out: Json = False,
) -> None:
    """Load, late-chunk, embed and store documents; exits 1 if any file failed."""
    from tqdm import tqdm

    from ingestion.pipeline import collect_files
    from rag.sdk import RAG
    from rag.serialize import file_line, ingest_json

    config = _config(
        store,
        qdrant_url,
        qdrant_api_key,
        collection,
        embedder=EmbedderConfig(model=model),
        chunking=ChunkingConfig(
            mode=chunking, chunker=chunker, chunk_size=chunk_size, overlap=overlap
        ),
    )
    files, missing = collect_files(paths)
    with (
        RAG(config) as rag,
        tqdm(total=len(files) + len(missing), unit="file", file=sys.stderr, desc="ingest") as bar,
    ):

        def progress(result: Any) -> None:
            bar.update(1)
            bar.write(file_line(result), file=sys.stderr)

        report = rag.ingest(paths, on_result=progress)
    summary = ingest_json(report)
    if json_out:
        _emit(summary)
    else:
        typer.echo(
            f"{summary['ingested']} ingested, {summary['updated']} updated, "
            f"{summary['unchanged']} unchanged, {summary['failed']} failed; "
            f"{summary['chunks']} chunks in {summary['seconds']:.1f}s"
        )
    if report.failed:
        raise typer.Exit(1)


@app.command()
def chunks(
    file: Annotated[Path, typer.Argument(help="The file to preview.")],
    vectors: Annotated[bool, typer.Option("--vectors", help="Include the chunk vectors.")] = False,
    chunking: Chunking = _CHUNKING.mode,
    chunker: Chunker = _CHUNKING.chunker,
    chunk_size: ChunkSize = _CHUNKING.chunk_size,
    overlap: Overlap = None,
    model: Model = None,
    store: Store = DEFAULT_STORE_DIR,
    qdrant_url: QdrantUrl = None,
    qdrant_api_key: QdrantKey = None,
    collection: Collection = DEFAULT_COLLECTION,
    json_out: Json = False,
) -> None:
    """Show the chunks a file would get in the collection (and their vectors), storing nothing."""
    from rag.sdk import RAG
    from rag.serialize import chunk_json

    config = _config(
        store,
        qdrant_url,
        qdrant_api_key,
        collection,
        embedder=EmbedderConfig(model=model),
        chunking=ChunkingConfig(
            mode=chunking, chunker=chunker, chunk_size=chunk_size, overlap=overlap
        ),
    )
    with RAG(config) as rag:
        result = rag.chunks(file, vectors=vectors)
    if json_out:
        _emit({"path": str(file), "chunks": [chunk_json(c, vector=vectors) for c in result]})
        return
    for chunk in result:
        pages = f" pages {chunk.page_span[0]}-{chunk.page_span[1]}" if chunk.page_span else ""
        typer.echo(f"#{chunk.index} chars {chunk.char_span[0]}-{chunk.char_span[1]}{pages}")
        typer.echo(f"  {chunk.text[:200]!r}")
        if vectors and chunk.vector is not None:
            typer.echo(f"  vector[:4] = {[round(float(x), 4) for x in chunk.vector[:4]]}")


@app.command()
def search(
    query: Annotated[str, typer.Argument(help="What to look for.")],
    k: TopK = 5,
    source: Sources = None,
    doc_id: DocIds = None,
    model: Model = None,
    store: Store = DEFAULT_STORE_DIR,
    qdrant_url: QdrantUrl = None,
    qdrant_api_key: QdrantKey = None,
    collection: Collection = DEFAULT_COLLECTION,
    json_out: Json = False,
) -> None:
    """Print the chunks nearest to the query."""
    from rag.sdk import RAG
    from rag.serialize import hit_json

    config = _config(
        store, qdrant_url, qdrant_api_key, collection, embedder=EmbedderConfig(model=model)
    )
    with RAG(config) as rag:
        hits = rag.search(query, k, _filter(source, doc_id))
    if json_out:
        _emit({"query": query, "hits": [hit_json(h, i) for i, h in enumerate(hits, start=1)]})
        return
    for rank, hit in enumerate(hits, start=1):
        pages = (
            f" p.{hit.chunk.page_span[0]}-{hit.chunk.page_span[1]}" if hit.chunk.page_span else ""
        )
        typer.echo(f"{rank}. {hit.score:.3f} {Path(hit.chunk.source).name}{pages}")
        typer.echo(f"   {hit.chunk.text[:200]!r}")


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="The question to answer.")],
    k: TopK = 5,
    source: Sources = None,
    doc_id: DocIds = None,
    llm_base_url: Annotated[
        str | None, typer.Option("--llm-base-url", help="OpenAI-compatible endpoint URL.")
    ] = None,
    llm_model: Annotated[str | None, typer.Option("--llm-model", help="Chat model name.")] = None,
    model: Model = None,
    store: Store = DEFAULT_STORE_DIR,
    qdrant_url: QdrantUrl = None,
    qdrant_api_key: QdrantKey = None,
    collection: Collection = DEFAULT_COLLECTION,
    json_out: Json = False,
) -> None:
    """Answer a question with numbered citations (extractive when no LLM is configured)."""
    from rag.sdk import RAG
    from rag.serialize import answer_json

    config = _config(
        store,
        qdrant_url,
        qdrant_api_key,
        collection,
        embedder=EmbedderConfig(model=model),
        llm=LLMConfig(base_url=llm_base_url, model=llm_model),
    )
    with RAG(config) as rag:
        stream = rag.stream(question, k, _filter(source, doc_id))
        for delta in stream:
            if not json_out:
                typer.echo(delta, nl=False)
    answer = stream.answer
    assert answer is not None  # set once the stream is exhausted
    if json_out:
        _emit(answer_json(answer))
        return
    typer.echo("\n")
    for citation in answer.citations:
        pages = (
            f", pages {citation.page_span[0]}-{citation.page_span[1]}" if citation.page_span else ""
        )
        chars = f"chars {citation.char_span[0]}-{citation.char_span[1]}"
        typer.echo(f"[{citation.number}] {citation.source}{pages} ({chars})")


@app.command()
def delete(
    document: Annotated[str, typer.Argument(help="A document id or the path it was read from.")],
    store: Store = DEFAULT_STORE_DIR,
    qdrant_url: QdrantUrl = None,
    qdrant_api_key: QdrantKey = None,
    collection: Collection = DEFAULT_COLLECTION,
    json_out: Json = False,
) -> None:
    """Remove a document and all its chunks; exits 1 when nothing matched."""
    from rag.sdk import RAG

    with RAG(_config(store, qdrant_url, qdrant_api_key, collection)) as rag:
        doc = rag.resolve_document(document) if rag.store.exists() else document
        deleted = rag.delete(document)
    if json_out:
        _emit({"doc_id": doc, "deleted": deleted})
    else:
        typer.echo(f"deleted {deleted} chunks of {document}")
    if not deleted:
        typer.echo(f"error: no stored document matches {document!r}", err=True)
        raise typer.Exit(1)


@app.command()
def stats(
    store: Store = DEFAULT_STORE_DIR,
    qdrant_url: QdrantUrl = None,
    qdrant_api_key: QdrantKey = None,
    collection: Collection = DEFAULT_COLLECTION,
    json_out: Json = False,
) -> None:
    """Show the collection's documents, chunk count and settings."""
    from rag.sdk import RAG
    from rag.serialize import document_json

    with RAG(_config(store, qdrant_url, qdrant_api_key, collection)) as rag:
        summary = rag.stats()
        docs = [document_json(d) for d in rag.documents()]
    if json_out:
        _emit({**summary, "documents_list": docs})
        return
    typer.echo(
        f"{summary['collection']} ({summary['backend']}, {summary['location']}): "
        f"{summary['documents']} documents, {summary['chunks']} chunks"
    )
    for key, value in summary["settings"].items():
        typer.echo(f"  {key}: {value}")
    for doc in docs:
        typer.echo(f"  {doc['doc_id']}  {doc['chunks']:>5}  {doc['source']}")


def run(argv: list[str] | None = None) -> int:
    """Run the CLI on ``argv``; LateRAG errors become one line on stderr and exit code 1."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    try:
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
    except ImportError:
        pass
    try:
        result = app(args=argv, standalone_mode=False)
    except typer.Exit as e:
        return e.exit_code
    except typer.Abort:
        typer.echo("aborted", err=True)
        return 1
    except typer.TyperException as e:  # usage errors: typer shows them as click does
        show = getattr(e, "show", None)
        if show is not None:
            show()
        else:
            typer.echo(f"error: {e}", err=True)
        return int(getattr(e, "exit_code", 2))
    except RagError as e:
        typer.echo(f"error: {e}", err=True)
        return 1
    return result if isinstance(result, int) else 0


def main() -> None:
    """Entry point of the ``rag`` command."""
    sys.exit(run())
