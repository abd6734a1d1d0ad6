"""Stage 4 in-process on a run made on the fly: the decoders, every output, and the rule that
a finished decode is skipped until its inputs change."""

from __future__ import annotations

import logging

import pytest
import torch
from lhotse import load_manifest
from omegaconf import DictConfig

from reslstm.checkpoint import load_trained_model
from reslstm.ctc import greedy_decode, text_of
from reslstm.decode.methods import make_decoders
from reslstm.decode.stage import decode_run
from reslstm.errors import ReslstmError
from reslstm.io import is_done
from reslstm.layout import Layout
from reslstm.tokens import CharTokenizer


def tokenizer(cfg: DictConfig) -> CharTokenizer:
    return CharTokenizer.from_file(Layout.of(cfg).lang.tokens)


def test_make_decoders_builds_the_configured_methods(made_run: DictConfig) -> None:
    decoders = make_decoders(made_run, tokenizer(made_run))
    assert list(decoders) == ["greedy", "beam_lm"]
    log_probs = torch.randn(2, 9, tokenizer(made_run).vocab_size).log_softmax(-1)
    for decode in decoders.values():
        assert len(decode(log_probs, torch.tensor([9, 4]))) == 2
    made_run.decode.methods = ["greedy", "viterbi"]
    with pytest.raises(ReslstmError, match="unknown method 'viterbi'"):
        make_decoders(made_run, tokenizer(made_run))


def test_beam_search_needs_stage_2(made_run: DictConfig) -> None:
    Layout.of(made_run).lang.lm.unlink()
    with pytest.raises(ReslstmError, match=r"missing .*lm\.arpa: run stage 2 \(tokens\) first$"):
        make_decoders(made_run, tokenizer(made_run))


def test_decode_run_writes_every_output(made_run: DictConfig) -> None:
    decode_run(made_run)
    layout = Layout.of(made_run)
    model = load_trained_model(layout.run.path)
    for split in ("dev", "test"):
        cuts = load_manifest(layout.fbank.cuts(split))
        assert not layout.run.stm(split).exists()  # stage 5 writes the references
        for method in ("greedy", "beam_lm"):
            out = layout.run.decode(split, method)
            assert is_done(out.path) and all(p.is_file() for p in out.decoded())
            refs = dict(line.split("\t") for line in out.refs.read_text().splitlines())
            assert refs == {c.id: c.supervisions[0].text for c in cuts}
            hyps = [line.split("\t") for line in out.hyps.read_text().splitlines()]
            assert [i for i, _ in hyps] == sorted(refs)
            ctm_words = [line.split()[4] for line in out.ctm.read_text().splitlines()]
            assert sorted(ctm_words) == sorted(w for _, h in hyps for w in h.split())
        # greedy: what the model says about each cut alone, whatever the batching
        hyps = dict(
            line.split("\t")
            for line in layout.run.decode(split, "greedy").hyps.read_text().splitlines()
        )
        for cut in cuts:
            feats = torch.from_numpy(cut.load_features())[None]
            with torch.no_grad():
                log_probs, lens = model(feats, torch.tensor([feats.shape[1]]))
            assert hyps[cut.id] == text_of(greedy_decode(log_probs, lens, tokenizer(made_run))[0])


def test_an_unknown_feature_source_is_one_line(made_run: DictConfig) -> None:
    made_run.decode.features = "lilcom"
    with pytest.raises(ReslstmError, match=r"decode.features must be one of \('audio', 'stored'\)"):
        decode_run(made_run)


def test_a_finished_decode_is_skipped_until_its_inputs_change(
    made_run: DictConfig, caplog: pytest.LogCaptureFixture
) -> None:
    decode_run(made_run)
    hyps = Layout.of(made_run).run.decode("dev", "beam_lm").hyps
    written = hyps.stat().st_mtime_ns
    with caplog.at_level(logging.INFO):
        decode_run(made_run)
    assert "nothing to do" in caplog.text and hyps.stat().st_mtime_ns == written
    made_run.decode.lm_weight = 2.0
    decode_run(made_run)
    assert hyps.stat().st_mtime_ns != written
