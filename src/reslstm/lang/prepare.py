"""Stage 2: token set, lexicon and word n-gram LM from the training transcripts.

Writes into ``data/lang/<corpus><lang.suffix>/``: the token set (``tokens.txt`` for characters,
the sentencepiece model ``bpe.model`` for BPE pieces), ``words.txt`` (training vocabulary),
``lexicon.txt`` (flashlight format: each word and its tokens, ``WORD W O R D`` or
``WORD ▁WO RD``), ``lm_text.txt`` and ``lm.arpa``. Characters or words of dev/test outside these
sets are counted and reported, never fatal.
"""

from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path
from typing import Any

from lhotse import load_manifest
from omegaconf import DictConfig, OmegaConf

from reslstm.errors import ReslstmError
from reslstm.io import (
    atomic_write_bytes,
    atomic_write_text,
    clear_done,
    done_marker,
    is_done,
    mark_done,
)
from reslstm.lang.bpe import train_bpe
from reslstm.lang.lexicon import write_lexicon
from reslstm.layout import EVAL_SPLITS, LangDir, ManifestDir, require, require_done
from reslstm.lm.ngram import train_ngram, write_arpa
from reslstm.tokens import TOKEN_TYPES, BpeTokenizer, CharTokenizer, Tokenizer

log = logging.getLogger(__name__)


def split_texts(manifests: ManifestDir, split: str) -> list[str]:
    """The transcripts of ``split``, one per cut."""
    return [c.supervisions[0].text for c in load_manifest(require(manifests.cuts(split), 0))]


def token_set(cfg: DictConfig, train: list[str], lang: LangDir) -> tuple[Tokenizer, Path, bytes]:
    """The tokenizer of ``lang.tokens`` built from the training transcripts, the file that
    holds it and that file's contents."""
    if cfg.tokens == "char":
        chars = CharTokenizer.from_texts(train)
        return chars, lang.tokens, chars.to_text().encode("utf-8")
    model = train_bpe(train, cfg.bpe_vocab_size)
    return BpeTokenizer(model), lang.bpe_model, model


def prepare_lang(
    cfg: DictConfig, manifest_dir: Path, lang_dir: Path, force: bool = False
) -> dict[str, Any]:
    """Build the lang directory (skipped when complete for the same inputs).

    ``cfg`` is the ``lang`` group: ``tokens``, ``lm_order``, ``lm_method`` (and
    ``bpe_vocab_size`` for BPE tokens).
    """
    if cfg.tokens not in TOKEN_TYPES:
        raise ReslstmError(f"lang.tokens={cfg.tokens!r}: use one of {', '.join(TOKEN_TYPES)}")
    if cfg.tokens == "bpe" and "bpe_vocab_size" not in cfg:
        raise ReslstmError("lang.tokens=bpe: select BPE tokens with lang=bpe")
    manifests, lang = ManifestDir(require_done(manifest_dir, 0)), LangDir(lang_dir)
    lm_order, lm_method = cfg.lm_order, cfg.lm_method
    key = {"lang": OmegaConf.to_container(cfg), "manifests": done_marker(manifest_dir)}
    if not force and is_done(lang_dir, key):
        log.info("lang dir %s is complete; nothing to do (force=true redoes it)", lang_dir)
        return {}
    clear_done(lang_dir)
    train = split_texts(manifests, "train")
    tokenizer, token_file, token_data = token_set(cfg, train, lang)
    counts = Counter(w for t in train for w in t.split())
    words = sorted(counts)
    lm = train_ngram(train, order=lm_order, method=lm_method)

    lang_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(token_file, token_data)
    atomic_write_text(lang.words, "".join(f"{w}\n" for w in words))
    write_lexicon(words, tokenizer, lang.lexicon)
    atomic_write_text(lang.lm_text, "".join(f"{t}\n" for t in train))
    write_arpa(lm, lang.lm)

    summary: dict[str, Any] = {
        "tokens": tokenizer.vocab_size,
        "words": len(words),
        "train_sentences": len(train),
        "lm": f"{lm_order}-gram {lm_method}",
    }
    for split in EVAL_SPLITS:
        texts = split_texts(manifests, split)
        split_words = [w for t in texts for w in t.split()]
        oov_chars = Counter(c for t in texts for c in tokenizer.oov_chars(t))
        oov_words = sum(w not in counts for w in split_words)
        summary[split] = {
            "oov_chars": dict(oov_chars),
            "oov_words": oov_words,
            "oov_word_rate": round(100 * oov_words / max(1, len(split_words)), 2),
        }
    mark_done(lang_dir, key, summary=summary)
    print(
        f"lang {lang_dir}: {summary['tokens']} {cfg.tokens} tokens, {summary['words']} words, "
        f"{lm_order}-gram LM from {len(train)} sentences; "
        + "; ".join(
            f"{s}: {summary[s]['oov_word_rate']}% OOV words, "
            f"{sum(summary[s]['oov_chars'].values())} unknown characters"
            for s in EVAL_SPLITS
        )
    )
    return summary
