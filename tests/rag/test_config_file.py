"""laterag.toml and LATERAG_* variables: precedence flag > env > file > default, clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rag import RAG, ChunkingConfig, ConfigError, RAGConfig
from rag.cli import run
from rag.cli_options import CHUNKING, LLM, TOP_K, merged_config
from rag.config_file import load_config

FULL = """
top_k = 7

[store]
path = "vectors"
collection = "from_file"

[embedder]
max_tokens = 128

[chunking]
chunker = "sentences"
chunk_size = 64

[llm]
base_url = "http://127.0.0.1:9/v1"
model = "file-model"
temperature = 0.5
"""


def write(tmp_path: Path, text: str, name: str = "laterag.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_a_file_sets_every_section_and_paths_are_relative_to_it(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, FULL), env={})
    assert config.top_k == 7
    assert config.store.path == tmp_path / "vectors"
    assert config.store.collection == "from_file"
    assert config.embedder.max_tokens == 128
    assert (config.chunking.chunker, config.chunking.chunk_size) == ("sentences", 64)
    assert (config.llm.model, config.llm.temperature) == ("file-model", 0.5)
    assert config.chunking.mode == ChunkingConfig().mode  # untouched keys keep their defaults


def test_environment_overrides_the_file(tmp_path: Path) -> None:
    env = {
        "LATERAG_COLLECTION": "from_env",
        "LATERAG_LLM_MODEL": "env-model",
        "OPENAI_API_KEY": "sk-env",
        "LATERAG_STORE": str(tmp_path / "env-store"),
    }
    config = load_config(write(tmp_path, FULL), env=env)
    assert config.store.collection == "from_env"
    assert config.store.path == tmp_path / "env-store"
    assert config.llm.model == "env-model"
    assert config.llm.base_url == "http://127.0.0.1:9/v1"  # from the file
    assert config.llm.api_key is not None and config.llm.api_key.get_secret_value() == "sk-env"
    assert load_config(None, env={}) == RAGConfig()  # no file here, no variables: defaults


@pytest.mark.parametrize(
    ("text", "key"),
    [("top_kk = 3\n", "'top_kk'"), ("[store]\npth = 'x'\n", "'store.pth'")],
)
def test_an_unknown_key_names_the_key_and_the_file(tmp_path: Path, text: str, key: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path, env={})
    message = str(info.value)
    assert key in message and str(path) in message and "valid:" in message


def test_bad_values_name_their_origin(tmp_path: Path) -> None:
    path = write(tmp_path, "[chunking]\nchunk_size = 2\n")
    with pytest.raises(ConfigError, match=r"laterag\.toml: chunking\.chunk_size"):
        load_config(path, env={})
    with pytest.raises(ConfigError, match="LATERAG_COLLECTION"):
        load_config(None, env={"LATERAG_COLLECTION": "no spaces allowed"})
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(write(tmp_path, "[store\n", "broken.toml"), env={})
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "missing.toml", env={})


def test_flags_given_override_and_flags_left_out_keep_the_file(tmp_path: Path) -> None:
    base = load_config(write(tmp_path, FULL), env={})
    chunking = merged_config(base, (CHUNKING,), {"chunking_chunk_size": 32}).chunking
    assert (chunking.chunker, chunking.chunk_size) == ("sentences", 32)
    llm = merged_config(base, (LLM,), {"llm_base_url": None, "llm_model": "flag-model"}).llm
    assert (llm.base_url, llm.model, llm.temperature) == (base.llm.base_url, "flag-model", 0.5)
    assert merged_config(base, (TOP_K,), {"top_k": None}).top_k == 7
    assert merged_config(base, (TOP_K,), {"top_k": 3}).top_k == 3
    with pytest.raises(ConfigError, match="--chunk-size"):
        merged_config(base, (CHUNKING,), {"chunking_chunk_size": 1})


def test_ray_is_chosen_by_the_file_or_by_a_bare_or_addressed_ray_flag(tmp_path: Path) -> None:
    import click
    from click.testing import CliRunner

    from rag.cli_options import INGEST, options

    seen: list[RAGConfig] = []

    @click.command()
    @click.argument("paths", nargs=-1)
    @options(INGEST)
    def command(paths: tuple[str, ...], config: RAGConfig) -> None:
        seen.append(config)

    def ingest_settings(*args: str) -> tuple[str, str | None, int | None]:
        result = CliRunner().invoke(command, list(args), catch_exceptions=False)
        assert result.exit_code == 0, result.output
        ingest = seen.pop().ingest
        return ingest.executor, ingest.ray_address, ingest.ray_actors

    assert ingest_settings("docs") == ("local", None, None)
    assert ingest_settings("docs", "--ray") == ("ray", "", None)  # Ray finds the cluster
    assert ingest_settings("docs", "--ray", "--ray-actors", "4") == ("ray", "", 4)
    assert ingest_settings("docs", "--ray=head:6379") == ("ray", "head:6379", None)
    settings = tmp_path / "laterag.toml"
    settings.write_text('[ingest]\nexecutor = "ray"\nray_cpus = 2\n')
    assert ingest_settings("docs", "--config", str(settings)) == ("ray", None, None)
    assert load_config(settings, env={}).ingest.ray_cpus == 2.0


def stats(capsys: pytest.CaptureFixture[str], *args: str) -> dict:
    code = run(["stats", "--json", *args])
    out, err = capsys.readouterr()
    assert code == 0, err
    return json.loads(out)


def test_cli_precedence_flag_over_env_over_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("LATERAG_COLLECTION", "LATERAG_STORE", "LATERAG_QDRANT_URL"):
        monkeypatch.delenv(name, raising=False)
    config = write(tmp_path, FULL, "team.toml")
    monkeypatch.chdir(tmp_path)
    assert stats(capsys)["collection"] == "default"  # no laterag.toml here yet

    got = stats(capsys, "--config", str(config))
    assert (got["collection"], got["location"]) == ("from_file", str(tmp_path / "vectors"))
    monkeypatch.setenv("LATERAG_COLLECTION", "from_env")
    assert stats(capsys, "--config", str(config))["collection"] == "from_env"
    assert stats(capsys, "--config", str(config), "--collection", "flag")["collection"] == "flag"

    monkeypatch.delenv("LATERAG_COLLECTION")
    write(tmp_path, FULL)  # ./laterag.toml is found without --config
    assert stats(capsys)["collection"] == "from_file"


def test_cli_reports_a_bad_config_file_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write(tmp_path, "[stroe]\npath = 'x'\n")
    code = run(["stats", "--config", str(config)])
    err = capsys.readouterr().err
    assert code == 1
    assert err.count("\n") == 1 and "'stroe'" in err and str(config) in err


def test_sdk_reads_a_config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LATERAG_COLLECTION", raising=False)
    with RAG.from_config_file(write(tmp_path, FULL)) as rag:
        assert rag.config.store.collection == "from_file"
        assert rag.stats()["documents"] == 0
    monkeypatch.chdir(tmp_path)
    assert RAG.from_config_file().config.top_k == 7
