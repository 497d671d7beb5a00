"""The ``rag`` command: a thin layer over the SDK; results to stdout, diagnostics to stderr."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Annotated, Any, Literal

import typer

from rag.cli_options import (
    CHUNKING,
    EVAL_STORE,
    LLM,
    MODEL,
    RERANK,
    RETRIEVAL,
    STORE,
    TOP_K,
    command,
)
from rag.config import (
    ChunkingConfig,
    LLMConfig,
    RAGConfig,
    StoreConfig,
)
from rag.errors import RagError
from rag.types import SearchFilter, page_name

app = typer.Typer(
    help="LateRAG: late-chunking retrieval-augmented generation over your documents.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

Json = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON on stdout.")]
Sources = Annotated[
    list[str] | None, typer.Option("--source", help="Only search this source path (repeatable).")
]
DocIds = Annotated[
    list[str] | None, typer.Option("--doc-id", help="Only search this document id (repeatable).")
]
User = Annotated[
    str | None,
    typer.Option("--user", help="Search as this user (default: anonymous, public documents only)."),
]
Groups = Annotated[
    list[str] | None, typer.Option("--group", help="A group the user belongs to (repeatable).")
]
AllowUsers = Annotated[
    list[str] | None,
    typer.Option("--allow-user", help="This user may read them (repeatable; none: public)."),
]
AllowGroups = Annotated[
    list[str] | None,
    typer.Option("--allow-group", help="Members of this group may read them (repeatable)."),
]


def _emit(data: Any) -> None:
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2))


def _filter(sources: list[str] | None, doc_ids: list[str] | None) -> SearchFilter:
    resolved = tuple(str(Path(s).expanduser().resolve()) for s in sources or ())
    return SearchFilter(sources=resolved, doc_ids=tuple(doc_ids or ()))


def _pages(span: tuple[int, int] | None, prefix: str) -> str:
    return f"{prefix}{span[0]}-{span[1]}" if span else ""


@command(app, CHUNKING, MODEL, STORE)
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Files and folders to ingest.")],
    config: RAGConfig,
    allow_user: AllowUsers = None,
    allow_group: AllowGroups = None,
    reindex: Annotated[
        bool,
        typer.Option(
            "--reindex",
            help="Allow other model or chunking settings than the collection's: re-chunk the "
            "given files and remove the collection's documents still built the old way.",
        ),
    ] = False,
    json_out: Json = False,
) -> None:
    """Load, late-chunk, embed and store documents; exits 1 if any file failed."""
    from tqdm import tqdm

    from ingestion.pipeline import collect_files
    from rag.access import Access
    from rag.sdk import RAG
    from rag.serialize import file_line, ingest_json

    files, missing = collect_files(paths)
    with (
        RAG(config) as rag,
        tqdm(total=len(files) + len(missing), unit="file", file=sys.stderr, desc="ingest") as bar,
    ):

        def progress(result: Any) -> None:
            bar.update(1)
            bar.write(file_line(result), file=sys.stderr)

        report = rag.ingest(
            paths,
            on_result=progress,
            access=Access.of(allow_user, allow_group),
            reindex=reindex,
            on_status=lambda line: bar.write(line, file=sys.stderr),
        )
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


@command(app, CHUNKING, MODEL, STORE)
def chunks(
    file: Annotated[Path, typer.Argument(help="The file to preview.")],
    config: RAGConfig,
    vectors: Annotated[bool, typer.Option("--vectors", help="Include the chunk vectors.")] = False,
    json_out: Json = False,
) -> None:
    """Show the chunks a file would get in the collection (and their vectors), storing nothing."""
    from rag.sdk import RAG
    from rag.serialize import chunk_json

    with RAG(config) as rag:
        result = rag.chunks(file, vectors=vectors)
    if json_out:
        _emit({"path": str(file), "chunks": [chunk_json(c, vector=vectors) for c in result]})
        return
    for chunk in result:
        pages = _pages(chunk.page_span, " pages ")
        typer.echo(f"#{chunk.index} chars {chunk.char_span[0]}-{chunk.char_span[1]}{pages}")
        typer.echo(f"  {chunk.text[:200]!r}")
        if vectors and chunk.vector is not None:
            typer.echo(f"  vector[:4] = {[round(float(x), 4) for x in chunk.vector[:4]]}")


@command(app, TOP_K, RETRIEVAL, RERANK, LLM, MODEL, STORE)
def search(
    query: Annotated[str, typer.Argument(help="What to look for.")],
    config: RAGConfig,
    source: Sources = None,
    doc_id: DocIds = None,
    user: User = None,
    group: Groups = None,
    json_out: Json = False,
) -> None:
    """Print the chunks nearest to the query."""
    from rag.access import Principal
    from rag.sdk import RAG
    from rag.serialize import hit_json

    with RAG(config) as rag:
        hits = rag.search(
            query, config.top_k, _filter(source, doc_id), principal=Principal.of(user, group)
        )
    if json_out:
        _emit({"query": query, "hits": [hit_json(h, i) for i, h in enumerate(hits, start=1)]})
        return
    for rank, hit in enumerate(hits, start=1):
        pages = _pages(hit.chunk.page_span, " p.")
        typer.echo(f"{rank}. {hit.score:.3f} {Path(hit.chunk.source).name}{pages}")
        typer.echo(f"   {hit.chunk.text[:200]!r}")


@command(app, TOP_K, RETRIEVAL, RERANK, LLM, MODEL, STORE)
def ask(
    question: Annotated[str, typer.Argument(help="The question to answer.")],
    config: RAGConfig,
    source: Sources = None,
    doc_id: DocIds = None,
    user: User = None,
    group: Groups = None,
    json_out: Json = False,
) -> None:
    """Answer a question with numbered citations (extractive when no LLM is configured)."""
    from rag.access import Principal
    from rag.sdk import RAG
    from rag.serialize import answer_json

    with RAG(config) as rag:
        who = Principal.of(user, group)
        stream = rag.stream(question, config.top_k, _filter(source, doc_id), principal=who)
        for delta in stream:
            if not json_out:
                typer.echo(delta, nl=False)
    answer = stream.answer
    if answer is None:
        raise RagError("the answer stream ended without an answer")
    if json_out:
        _emit(answer_json(answer))
        return
    typer.echo("\n")
    for citation in answer.citations:
        pages = _pages(citation.page_span, f", {page_name(citation.source)}s ")
        chars = f"chars {citation.char_span[0]}-{citation.char_span[1]}"
        typer.echo(f"[{citation.number}] {citation.source}{pages} ({chars})")


@command(app, STORE)
def delete(
    document: Annotated[str, typer.Argument(help="A document id or the path it was read from.")],
    config: RAGConfig,
    json_out: Json = False,
) -> None:
    """Remove a document and all its chunks; exits 1 when nothing matched."""
    from rag.sdk import RAG

    with RAG(config) as rag:
        doc = rag.resolve_document(document) if rag.store.exists() else document
        deleted = rag.delete(document)
    if json_out:
        _emit({"doc_id": doc, "deleted": deleted})
    else:
        typer.echo(f"deleted {deleted} chunks of {document}")
    if not deleted:
        typer.echo(f"error: no stored document matches {document!r}", err=True)
        raise typer.Exit(1)


@command(app, STORE)
def stats(config: RAGConfig, json_out: Json = False) -> None:
    """Show the collection's documents, chunk count and settings."""
    from rag.sdk import RAG
    from rag.serialize import document_json

    with RAG(config) as rag:
        summary = rag.stats()
        docs = [document_json(d) for d in rag.all_documents()]
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


@command(app, LLM, STORE)
def ui(
    llm_config: LLMConfig,
    store_config: StoreConfig,
    port: Annotated[
        int, typer.Option("--port", min=1, max=65535, help="Port on 127.0.0.1.")
    ] = 8501,
    max_upload_mb: Annotated[
        int, typer.Option("--max-upload-mb", min=1, help="Largest file to upload, in MB.")
    ] = 50,
    llm_timeout: Annotated[
        float, typer.Option("--llm-timeout", min=0.1, help="Seconds to wait for the LLM.")
    ] = 60.0,
    user: User = None,
    group: Groups = None,
) -> None:
    """Serve the chat app on 127.0.0.1 (Streamlit, no usage stats) until interrupted."""
    from rag.access import Principal
    from ui.launch import run_app
    from ui.settings import AppSettings

    typer.echo(f"chat app at http://127.0.0.1:{port} (Ctrl-C to stop)", err=True)
    llm = llm_config.model_copy(update={"timeout": llm_timeout})
    settings = AppSettings(
        store=store_config,
        llm=llm,
        max_upload_mb=max_upload_mb,
        principal=Principal.of(user, group),
    )
    code = run_app(settings, port)
    if code:
        raise typer.Exit(code)


@command(app, TOP_K, RETRIEVAL, RERANK, LLM, MODEL, STORE)
def serve(
    config: RAGConfig,
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to listen on.")] = 8000,
    token: Annotated[
        str | None,
        typer.Option(
            "--token",
            envvar="LATERAG_API_TOKEN",
            help="Require 'Authorization: Bearer TOKEN' (all routes but /health).",
        ),
    ] = None,
    token_file: Annotated[
        Path | None,
        typer.Option(
            "--token-file",
            help='JSON {"TOKEN": {"user": "alice", "groups": ["eng"]}}: each token\'s caller, '
            "who sees only the documents it may read.",
        ),
    ] = None,
    max_upload_mb: Annotated[
        int, typer.Option("--max-upload-mb", min=1, help="Largest /ingest request body in MiB.")
    ] = 50,
) -> None:
    """Serve the collection over HTTP: OpenAI-compatible chat with citations, search, ingest."""
    import tempfile
    from contextlib import ExitStack

    import uvicorn

    from rag.access import load_token_file
    from rag.api import create_app
    from rag.sdk import RAG

    tokens = load_token_file(token_file) if token_file is not None else None
    store_config = config.store
    with ExitStack() as stack:
        rag = stack.enter_context(RAG(config))
        # open the store and load the model now: failures show before serving, not per request
        rag.store  # noqa: B018
        rag.encoder  # noqa: B018
        if store_config.url is None:
            uploads = store_config.path / ".uploads" / store_config.collection
        else:
            uploads = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="laterag-")))
        api = create_app(
            rag,
            token=token,
            tokens=tokens,
            upload_dir=uploads,
            max_upload_bytes=max_upload_mb * 1024 * 1024,
        )
        auth = "bearer token required" if token or tokens else "no auth"
        where = f"http://{host}:{port}"
        typer.echo(f"serving {store_config.collection!r} at {where} ({auth})", err=True)
        uvicorn.run(api, host=host, port=port, log_level="warning")


@command(app, TOP_K, RETRIEVAL, RERANK, LLM, MODEL, STORE)
def batch(
    questions: Annotated[
        Path, typer.Argument(help="Questions: .jsonl or .csv with a 'question' column.")
    ],
    output: Annotated[
        Path, typer.Option("-o", "--output", help="Answers file; an existing one is resumed.")
    ],
    config: RAGConfig,
    workers: Annotated[
        int, typer.Option("--workers", min=1, help="Questions answered at once.")
    ] = 4,
    out_format: Annotated[
        Literal["jsonl", "csv"] | None,
        typer.Option("--format", help="Output format (default: csv for a .csv file, else jsonl)."),
    ] = None,
    user: User = None,
    group: Groups = None,
    json_out: Json = False,
) -> None:
    """Answer every question of a file, one record each; re-run to resume. Exit 1 if any failed."""
    from tqdm import tqdm

    from rag.access import Principal
    from rag.batch import read_questions, run_batch
    from rag.batch_output import output_format
    from rag.sdk import RAG

    fmt = output_format(output, out_format)
    rows = read_questions(questions)
    with (
        RAG(config) as rag,
        tqdm(total=len(rows), unit="q", file=sys.stderr, desc="batch") as bar,
    ):

        def progress(record: dict[str, Any]) -> None:
            bar.update(1)
            if record["error"]:
                bar.write(f"failed     {record['id']}: {record['error']}", file=sys.stderr)

        report = run_batch(
            rag,
            rows,
            output,
            fmt=fmt,
            workers=workers,
            k=config.top_k,
            on_start=lambda skipped: bar.reset(len(rows) - skipped) if skipped else None,
            on_record=progress,
            principal=Principal.of(user, group),
        )
    summary = {
        "output": str(output),
        "answered": report.answered,
        "failed": report.failed,
        "skipped": report.skipped,
        "seconds": round(report.seconds, 3),
    }
    if json_out:
        _emit(summary)
    else:
        typer.echo(
            f"{report.answered} answered, {report.failed} failed, {report.skipped} already in "
            f"{output}; {report.seconds:.1f}s"
        )
    if report.failed:
        raise typer.Exit(1)


_METRIC_COLUMNS = {
    "financebench": ["recall@1", "recall@5", "recall@10", "hit@5", "hit@10", "mrr@10"],
    "beir": ["ndcg@10"],
}


@command(app, CHUNKING, RETRIEVAL, RERANK, LLM, MODEL, EVAL_STORE, name="eval")
def evaluate(
    folder: Annotated[
        Path, typer.Argument(help="FinanceBench-style (pdfs/ + questions.jsonl) or BEIR folder.")
    ],
    config: RAGConfig,
    k: Annotated[int, typer.Option("-k", help="Chunks retrieved per query (>= 10).")] = 10,
    every: Annotated[
        int, typer.Option("--every", help="Use every N-th document and its queries.")
    ] = 1,
    compare: Annotated[
        str | None,
        typer.Option("--compare", help="Chunking modes to run side by side: late,naive,mixed."),
    ] = None,
    json_out: Json = False,
) -> None:
    """Ingest an evaluation folder into a fresh collection, ask every query, report scores."""
    from tqdm import tqdm

    from rag.encoders import TransformerEncoder
    from rag.evaluation import evaluate as run_eval
    from rag.serialize import eval_json

    modes = [m.strip() for m in compare.split(",")] if compare else [config.chunking.mode]
    encoder = TransformerEncoder(config.embedder).load()
    reports = []
    for mode in modes:
        chunking = ChunkingConfig.model_validate({**config.chunking.model_dump(), "mode": mode})
        with tqdm(unit="file", file=sys.stderr, desc=f"eval {mode}") as bar:
            reports.append(
                run_eval(
                    config.model_copy(update={"chunking": chunking}),
                    folder,
                    k=k,
                    every=every,
                    encoder=encoder,
                    on_result=lambda _: bar.update(1),
                )
            )
    if json_out:
        _emit([eval_json(r) for r in reports])
        return
    first = reports[0]
    columns = _METRIC_COLUMNS[first.kind] + ([f"recall@{k}"] if first.kind == "beir" else [])
    typer.echo(f"{first.kind}: {first.documents} documents, {first.queries} queries, k={k}")
    typer.echo("| chunking | " + " | ".join(columns) + " | ingest s | tokens/s | p50 ms | p95 ms |")
    typer.echo("|---" * (len(columns) + 5) + "|")
    for report in reports:
        cells = " | ".join(f"{report.metrics[c]:.3f}" for c in columns)
        typer.echo(
            f"| {report.settings.get('chunking')} | {cells} | {report.ingest_seconds:.0f} "
            f"| {report.tokens_per_second:.0f} | {report.query_p50_ms:.1f} "
            f"| {report.query_p95_ms:.1f} |"
        )
    for report in reports:
        for failure in report.failed:
            typer.echo(f"failed: {failure}", err=True)


@command(app, STORE, name="migrate")
def migrate_store(
    config: RAGConfig,
    to_url: Annotated[
        str, typer.Option("--to-url", help="Qdrant server to copy to, e.g. http://localhost:6333.")
    ],
    to_collection: Annotated[
        str | None,
        typer.Option("--to-collection", help="Collection on the server (default: the same name)."),
    ] = None,
    batch_size: Annotated[
        int, typer.Option("--batch-size", min=1, max=10_000, help="Chunks per request.")
    ] = 256,
    json_out: Json = False,
) -> None:
    """Copy the embedded collection to a Qdrant server or cluster; re-run to resume."""
    from tqdm import tqdm

    from rag.errors import ConfigError
    from rag.migrate import migrate, server_target, state_path
    from rag.stores.edge import EdgeStore

    store = config.store
    if store.url:
        raise ConfigError(
            "migrate copies the embedded store at --store: unset --qdrant-url and "
            "LATERAG_QDRANT_URL, and name the server with --to-url"
        )
    collection = to_collection or store.collection
    target_name = f"{to_url.rstrip('/')}/collections/{collection}"
    source = EdgeStore(store.path / store.collection, collection=store.collection)
    target = server_target(to_url, store, collection)
    with (
        source,
        target,
        tqdm(unit="chunk", file=sys.stderr, desc="migrate") as bar,
    ):

        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        report = migrate(
            source,
            target,
            target_name=target_name,
            state_file=state_path(store),
            batch_size=batch_size,
            on_progress=progress,
        )
    summary = {
        "source": str(source.folder),
        "target": target_name,
        "copied": report.copied,
        "resumed": report.resumed,
        "chunks": report.target_chunks,
        "seconds": round(report.seconds, 3),
    }
    if json_out:
        _emit(summary)
    else:
        resumed = f" (resumed after {report.resumed})" if report.resumed else ""
        typer.echo(
            f"{report.copied} chunks copied{resumed} from {source.folder} to {target_name}; "
            f"{report.target_chunks} chunks on both sides in {report.seconds:.1f}s"
        )


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


if __name__ == "__main__":
    main()
