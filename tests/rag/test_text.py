"""The check on user text: valid Unicode passes unchanged, anything else is a one-line error."""

from __future__ import annotations

import pytest

from rag.errors import InputError
from rag.text import check_text


@pytest.mark.parametrize(
    "text", ["", "café", "日本語の質問", "emoji 🙂 and \u00a0 spaces", "a\tb\nc"]
)
def test_valid_text_passes_unchanged(text: str) -> None:
    assert check_text(text) is text


def test_an_undecodable_command_line_byte_is_named() -> None:
    argv = b"caf\xff".decode("utf-8", "surrogateescape")  # how Python hands over $'caf\xff'
    with pytest.raises(InputError) as raised:
        check_text(argv)
    message = str(raised.value)
    assert (
        message == "the query holds a byte that is not UTF-8 (0xff) at character 4: send UTF-8 text"
    )
    message.encode("utf-8")  # printable as it is


def test_a_lone_surrogate_is_named_with_what_held_it() -> None:
    with pytest.raises(
        InputError, match=r"the question holds a lone surrogate \(U\+D800\) at character 2"
    ):
        check_text("a\ud800b", "question")
