"""The ``rag`` command: a thin layer over the SDK; results to stdout, diagnostics to stderr."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Any

import click

from rag.batch_output import Format
from rag.cli_options import (
    APP,
    CHUNKING,
    EVAL_STORE,
    INGEST,
    LLM,
    MODEL,
    RERANK,
    RETRIEVAL,
    STORE,
    TOP_K,
    UPLOADS,
    options,
)
from rag.config import ChunkingConfig, RAGConfig
from rag.errors import RagError
from rag.types import SearchFilter, page_name


@click.group(help="LateRAG: late-chunking retrieval-augmented generation over your documents.")
def app() -> None:
    """The command group."""


json_out = click.option(
    "--json", "json_out", is_flag=True, help="Print machine-readable JSON on stdout."
)
sources = click.option("--source", multiple=True, help="Only search this source path (repeatable).")
doc_ids = click.option(
    "--doc-id", "doc_id", multiple=True, help="Only search this document id (repeatable)."
)
user_option = click.option(
    "--user", default=None, help="Search as this user (default: anonymous, public documents only)."
)
groups_option = click.option(
    "--group", multiple=True, help="A group the user belongs to (repeatable)."
)


def _as_caller(command: Any) -> Any:
    """``--user``, ``--group``, ``--json`` and the search settings of every asking command."""
    for decorate in (options(TOP_K, RETRIEVAL, RERANK, LLM, MODEL, STORE), json_out):
        command = decorate(command)
    return user_option(groups_option(command))


def _emit(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


def _filter(sources: tuple[str, ...], doc_ids: tuple[str, ...]) -> SearchFilter:
    resolved = tuple(str(Path(s).expanduser().resolve()) for s in sources)
    return SearchFilter(sources=resolved, doc_ids=tuple(doc_ids))


def _pages(span: tuple[int, int] | None, prefix: str) -> str:
    return f"{prefix}{span[0]}-{span[1]}" if span else ""


@app.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--allow-user", multiple=True, help="This user may read them (repeatable; none: public)."
)
@click.option(
    "--allow-group", multiple=True, help="Members of this group may read them (repeatable)."
)
@click.option(
    "--reindex",
    is_flag=True,
    help="Allow other model or chunking settings than the collection's: re-chunk the given "
    "files and remove the collection's documents still built the old way.",
)
@json_out
@options(CHUNKING, MODEL, STORE, INGEST)
def ingest(
    paths: tuple[Path, ...],
    config: RAGConfig,
    allow_user: tuple[str, ...],
    allow_group: tuple[str, ...],
    reindex: bool,
    json_out: bool,
) -> None:
    """Load, late-chunk, embed and store documents; exits 1 if any file failed.

    With --ray, loading, chunking and embedding run on a Ray cluster (write PATHs first, or
    --ray=ADDRESS, as the address is optional).
    """
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
        click.echo(
            f"{summary['ingested']} ingested, {summary['updated']} updated, "
            f"{summary['unchanged']} unchanged, {summary['failed']} failed; "
            f"{summary['chunks']} chunks in {summary['seconds']:.1f}s"
        )
    if report.failed:
        raise click.exceptions.Exit(1)


@app.command()
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--vectors", is_flag=True, help="Include the chunk vectors.")
@json_out
@options(CHUNKING, MODEL, STORE)
def chunks(file: Path, config: RAGConfig, vectors: bool, json_out: bool) -> None:
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
        click.echo(f"#{chunk.index} chars {chunk.char_span[0]}-{chunk.char_span[1]}{pages}")
        click.echo(f"  {chunk.text[:200]!r}")
        if vectors and chunk.vector is not None:
            click.echo(f"  vector[:4] = {[round(float(x), 4) for x in chunk.vector[:4]]}")


@app.command()
@click.argument("query")
@sources
@doc_ids
@_as_caller
def search(
    query: str,
    config: RAGConfig,
    source: tuple[str, ...],
    doc_id: tuple[str, ...],
    user: str | None,
    group: tuple[str, ...],
    json_out: bool,
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
        click.echo(f"{rank}. {hit.score:.3f} {Path(hit.chunk.source).name}{pages}")
        click.echo(f"   {hit.chunk.text[:200]!r}")


@app.command()
@click.argument("question")
@sources
@doc_ids
@_as_caller
def ask(
    question: str,
    config: RAGConfig,
    source: tuple[str, ...],
    doc_id: tuple[str, ...],
    user: str | None,
    group: tuple[str, ...],
    json_out: bool,
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
                click.echo(delta, nl=False)
    answer = stream.answer
    if answer is None:
        raise RagError("the answer stream ended without an answer")
    if json_out:
        _emit(answer_json(answer))
        return
    click.echo("\n")
    for citation in answer.citations:
        pages = _pages(citation.page_span, f", {page_name(citation.source)}s ")
        chars = f"chars {citation.char_span[0]}-{citation.char_span[1]}"
        click.echo(f"[{citation.number}] {citation.source}{pages} ({chars})")


@app.command()
@click.argument("document")
@json_out
@options(STORE)
def delete(document: str, config: RAGConfig, json_out: bool) -> None:
    """Remove a document and all its chunks; exits 1 when nothing matched."""
    from rag.sdk import RAG

    with RAG(config) as rag:
        doc = rag.resolve_document(document) if rag.store.exists() else document
        deleted = rag.delete(document)
    if json_out:
        _emit({"doc_id": doc, "deleted": deleted})
    elif deleted:
        click.echo(f"deleted {deleted} chunks of {document}")
    if not deleted:
        click.echo(f"error: no stored document matches {document!r}", err=True)
        raise click.exceptions.Exit(1)


@app.command()
@json_out
@options(STORE)
def stats(config: RAGConfig, json_out: bool) -> None:
    """Show the collection's documents, chunk count and settings (creating nothing)."""
    from rag.sdk import RAG
    from rag.serialize import document_json

    with RAG(config) as rag:
        if not rag.store.exists():
            where = config.store.url or config.store.path
            click.echo(f"warning: no collection {config.store.collection!r} at {where}", err=True)
        summary = rag.stats()
        docs = [document_json(d) for d in rag.all_documents()]
    if json_out:
        _emit({**summary, "documents_list": docs})
        return
    click.echo(
        f"{summary['collection']} ({summary['backend']}, {summary['location']}): "
        f"{summary['documents']} documents, {summary['chunks']} chunks"
    )
    for key, value in summary["settings"].items():
        click.echo(f"  {key}: {value}")
    for doc in docs:
        click.echo(f"  {doc['doc_id']}  {doc['chunks']:>5}  {doc['source']}")


@app.command()
@click.option("--port", type=click.IntRange(1, 65535), default=8501, help="Port on 127.0.0.1.")
@user_option
@groups_option
@options(TOP_K, RETRIEVAL, RERANK, LLM, CHUNKING, MODEL, STORE, APP, UPLOADS)
def ui(config: RAGConfig, port: int, user: str | None, group: tuple[str, ...]) -> None:
    """Serve the chat app on 127.0.0.1 (Streamlit, no usage stats) until interrupted.

    The app gets the whole merged configuration: search, chunking and the model as ``rag
    search`` and ``rag ingest`` would use them.
    """
    from rag.access import Principal
    from ui.launch import run_app
    from ui.settings import AppSettings

    click.echo(f"chat app at http://127.0.0.1:{port} (Ctrl-C to stop)", err=True)
    settings = AppSettings(
        config=config, max_upload_mb=config.uploads.max_mb, principal=Principal.of(user, group)
    )
    code = run_app(settings, port)
    if code:
        raise click.exceptions.Exit(code)


@app.command()
@click.option("--host", default="127.0.0.1", help="Address to listen on.")
@click.option("--port", type=int, default=8000, help="Port to listen on.")
@click.option(
    "--token",
    envvar="LATERAG_API_TOKEN",
    default=None,
    help="Require 'Authorization: Bearer TOKEN' (all routes but /health).",
)
@click.option(
    "--token-file",
    type=click.Path(path_type=Path),
    default=None,
    help='JSON {"TOKEN": {"user": "alice", "groups": ["eng"]}}: each token\'s caller, who sees '
    "only the documents it may read.",
)
@options(TOP_K, RETRIEVAL, RERANK, LLM, MODEL, STORE, UPLOADS)
def serve(
    config: RAGConfig, host: str, port: int, token: str | None, token_file: Path | None
) -> None:
    """Serve the collection over HTTP: OpenAI-compatible chat with citations, search, ingest."""
    import uvicorn

    from rag.access import load_token_file
    from rag.api import create_app
    from rag.sdk import RAG
    from rag.uploads import upload_root

    tokens = load_token_file(token_file) if token_file is not None else None
    store_config = config.store
    with RAG(config) as rag:
        # open the store and load the model now: failures show before serving, not per request
        rag.store  # noqa: B018
        rag.encoder  # noqa: B018
        api = create_app(
            rag,
            token=token,
            tokens=tokens,
            upload_dir=upload_root(store_config),
            max_upload_bytes=config.uploads.max_mb * 1024 * 1024,
        )
        auth = "bearer token required" if token or tokens else "no auth"
        where = f"http://{host}:{port}"
        click.echo(f"serving {store_config.collection!r} at {where} ({auth})", err=True)
        uvicorn.run(api, host=host, port=port, log_level="warning")


@app.command()
@click.argument("questions", type=click.Path(path_type=Path))
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(path_type=Path),
    help="Answers file; an existing one is resumed.",
)
@click.option(
    "--workers", type=click.IntRange(min=1), default=4, help="Questions answered at once."
)
@click.option(
    "--format",
    "out_format",
    type=click.Choice(["jsonl", "csv"]),
    default=None,
    help="Output format (default: csv for a .csv file, else jsonl).",
)
@_as_caller
def batch(
    questions: Path,
    output: Path,
    config: RAGConfig,
    workers: int,
    out_format: Format | None,
    user: str | None,
    group: tuple[str, ...],
    json_out: bool,
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
        click.echo(
            f"{report.answered} answered, {report.failed} failed, {report.skipped} already in "
            f"{output}; {report.seconds:.1f}s"
        )
    if report.failed:
        raise click.exceptions.Exit(1)


_METRIC_COLUMNS = {
    "financebench": ["recall@1", "recall@5", "recall@10", "hit@5", "hit@10", "mrr@10"],
    "beir": ["ndcg@10"],
}


@app.command(name="eval")
@click.argument("folder", type=click.Path(path_type=Path))
@click.option("-k", "k", type=int, default=10, help="Chunks retrieved per query (>= 10).")
@click.option("--every", type=int, default=1, help="Use every N-th document and its queries.")
@click.option(
    "--compare", default=None, help="Chunking modes to run side by side: late,naive,mixed."
)
@json_out
@options(CHUNKING, RETRIEVAL, RERANK, LLM, MODEL, EVAL_STORE)
def evaluate(
    folder: Path,
    config: RAGConfig,
    k: int,
    every: int,
    compare: str | None,
    json_out: bool,
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
    click.echo(f"{first.kind}: {first.documents} documents, {first.queries} queries, k={k}")
    click.echo("| chunking | " + " | ".join(columns) + " | ingest s | tokens/s | p50 ms | p95 ms |")
    click.echo("|---" * (len(columns) + 5) + "|")
    for report in reports:
        cells = " | ".join(f"{report.metrics[c]:.3f}" for c in columns)
        click.echo(
            f"| {report.settings.get('chunking')} | {cells} | {report.ingest_seconds:.0f} "
            f"| {report.tokens_per_second:.0f} | {report.query_p50_ms:.1f} "
            f"| {report.query_p95_ms:.1f} |"
        )
    for report in reports:
        for failure in report.failed:
            click.echo(f"failed: {failure}", err=True)


@app.command(name="migrate")
@click.option(
    "--to-url", required=True, help="Qdrant server to copy to, e.g. http://localhost:6333."
)
@click.option(
    "--to-collection", default=None, help="Collection on the server (default: the same name)."
)
@click.option(
    "--batch-size", type=click.IntRange(1, 10_000), default=256, help="Chunks per request."
)
@json_out
@options(STORE)
def migrate_store(
    config: RAGConfig,
    to_url: str,
    to_collection: str | None,
    batch_size: int,
    json_out: bool,
) -> None:
    """Copy the embedded collection to a Qdrant server or cluster; re-run to resume."""
    from tqdm import tqdm

    from ingestion.manifest import manifest_for
    from rag.errors import ConfigError
    from rag.migrate import migrate, server_target, state_path
    from rag.redact import masked_url
    from rag.stores.edge import EdgeStore

    store = config.store
    if store.url:
        raise ConfigError(
            "migrate copies the embedded store at --store: unset --qdrant-url and "
            "LATERAG_QDRANT_URL, and name the server with --to-url"
        )
    collection = to_collection or store.collection
    target_name = f"{masked_url(to_url).rstrip('/')}/collections/{collection}"
    source = EdgeStore(store.path / store.collection, collection=store.collection)
    target = server_target(to_url, store, collection)
    with (
        source,
        target,
        manifest_for(source) as source_manifest,
        manifest_for(target) as target_manifest,
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
            manifests=(source_manifest, target_manifest),
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
        click.echo(
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
        result = app.main(args=argv, prog_name="rag", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        return 1
    except click.ClickException as e:  # usage errors, shown as click shows them
        e.show()
        return e.exit_code
    except RagError as e:
        click.echo(f"error: {e}", err=True)
        return 1
    return result if isinstance(result, int) else 0


def main() -> None:
    """Entry point of the ``rag`` command."""
    sys.exit(run())


if __name__ == "__main__":
    main()
