"""One masking function for URLs: the user part dropped, query values hidden, the rest kept."""

from __future__ import annotations

from rag.redact import masked_url, redact, url_secrets


def test_a_url_loses_its_user_part_and_query_values() -> None:
    url = "https://bob:pa55word@llm.example.com/v1/?api-key=K%2F123&api-version=2024-06"
    assert masked_url(url) == "https://llm.example.com/v1/?api-key=***&api-version=***"
    assert masked_url("http://127.0.0.1:8000/v1") == "http://127.0.0.1:8000/v1"
    assert masked_url("https://tok3n@host/v1") == "https://host/v1"


def test_the_secrets_of_a_url_are_masked_in_any_text() -> None:
    url = "https://bob:pa55word@host/v1?key=K%2F123"
    secrets = url_secrets(url)
    assert {"pa55word", "K/123", "K%2F123"} <= set(secrets)
    text = f"failed at {url}; the server said: bad key K/123"
    shown = redact(text, secrets)
    assert "pa55word" not in shown and "K/123" not in shown and "K%2F123" not in shown
