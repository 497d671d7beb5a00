"""Tiny random-weight encoders saved to folders, for code paths of models we cannot ship."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors
from transformers import (
    AutoModel,
    BertConfig,
    ModernBertConfig,
    PreTrainedTokenizerFast,
    XLMRobertaConfig,
)

WORDS = sorted(
    set(
        re.findall(
            r"\w+|[^\w\s]",
            "the a an of to in and or is are was were be it this that for on with as by at "
            "from cat dog sat ran mat robot robots warehouse policy vacation days employees "
            "new year report revenue cash flow statement page chapter one two three four five "
            "late chunking model window token tokens document documents . , ; : ! ? ' \" ( ) - "
            "0 1 2 3 4 5 6 7 8 9 $ % northwind security password",
        )
    )
)


def _tokenizer(style: str) -> PreTrainedTokenizerFast:
    if style == "roberta":
        specials = ["<s>", "<pad>", "</s>", "<unk>"]
        cls, pad, sep, unk = specials[0], specials[1], specials[2], specials[3]
    else:
        specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]"]
        pad, unk, cls, sep = specials
    vocab = {tok: i for i, tok in enumerate(specials + WORDS)}
    backend = Tokenizer(models.WordLevel(vocab=vocab, unk_token=unk))
    backend.normalizer = normalizers.Lowercase()
    backend.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Whitespace(), pre_tokenizers.Punctuation()]
    )
    if style == "roberta":
        backend.post_processor = processors.RobertaProcessing((sep, vocab[sep]), (cls, vocab[cls]))
    else:
        backend.post_processor = processors.TemplateProcessing(
            single=f"{cls} $A {sep}", special_tokens=[(cls, vocab[cls]), (sep, vocab[sep])]
        )
    return PreTrainedTokenizerFast(
        tokenizer_object=backend, unk_token=unk, pad_token=pad, cls_token=cls, sep_token=sep
    )


def build_tiny_model(folder: Path, kind: str, *, pooling: str | None = "mean") -> Path:
    """Save a random 2-layer encoder of ``kind`` (bert8k, modernbert, xlmr) into ``folder``."""
    tokenizer = _tokenizer("roberta" if kind == "xlmr" else "bert")
    size = {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2}
    vocab = len(tokenizer)
    if kind == "bert8k":
        config = BertConfig(
            vocab_size=vocab, intermediate_size=64, max_position_embeddings=8192, **size
        )
    elif kind == "modernbert":
        config = ModernBertConfig(
            vocab_size=vocab,
            intermediate_size=64,
            max_position_embeddings=8192,
            pad_token_id=tokenizer.pad_token_id,
            bos_token_id=tokenizer.cls_token_id,
            eos_token_id=tokenizer.sep_token_id,
            cls_token_id=tokenizer.cls_token_id,
            sep_token_id=tokenizer.sep_token_id,
            **size,
        )
    elif kind == "xlmr":
        config = XLMRobertaConfig(
            vocab_size=vocab,
            intermediate_size=64,
            max_position_embeddings=514,
            pad_token_id=tokenizer.pad_token_id,
            **size,
        )
    else:
        raise ValueError(f"unknown tiny model kind {kind!r}")
    model = AutoModel.from_config(config)
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    if pooling:
        (folder / "1_Pooling").mkdir(exist_ok=True)
        (folder / "modules.json").write_text(
            json.dumps(
                [
                    {
                        "idx": 0,
                        "name": "0",
                        "path": "",
                        "type": "sentence_transformers.models.Transformer",
                    },
                    {
                        "idx": 1,
                        "name": "1",
                        "path": "1_Pooling",
                        "type": "sentence_transformers.models.Pooling",
                    },
                ]
            )
        )
        (folder / "1_Pooling" / "config.json").write_text(
            json.dumps({"word_embedding_dimension": 32, f"pooling_mode_{pooling}_tokens": True})
        )
    return folder


def build_tiny_reranker(folder: Path, *, num_labels: int = 1, max_positions: int = 64) -> Path:
    """Save a random 2-layer BERT cross-encoder with ``num_labels`` outputs into ``folder``."""
    from transformers import BertForSequenceClassification

    tokenizer = _tokenizer("bert")
    cls, sep = tokenizer.cls_token, tokenizer.sep_token
    tokenizer.backend_tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{cls} $A {sep}",
        pair=f"{cls} $A {sep} $B:1 {sep}:1",
        special_tokens=[(cls, tokenizer.cls_token_id), (sep, tokenizer.sep_token_id)],
    )
    config = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=max_positions,
        num_labels=num_labels,
    )
    model = BertForSequenceClassification(config)
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder
