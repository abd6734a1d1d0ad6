"""build_model, the Hydra configs, the CTC model's API and config errors."""

from __future__ import annotations

import pytest
import torch

from reslstm.cli.compose import compose_config
from reslstm.models import CTCModel, build_model, count_parameters

torch.set_num_threads(1)
SMALL = {"cell_dim": 16, "proj_dim": 8, "dropout": 0.0}


@pytest.mark.parametrize("name", ["plain_lstm", "highway_lstm", "residual_lstm"])
@pytest.mark.parametrize("size", ["small", "paper"])
def test_hydra_configs_build(name, size):
    cfg = compose_config([f"model={name}", f"model/size={size}"])
    assert cfg.model.name == name and cfg.model.cell == name.split("_")[0]
    assert cfg.model.cell_dim == {"small": 128, "paper": 1024}[size]
    if size == "small":
        model = build_model(cfg.model, 80, 30)
        assert isinstance(model, CTCModel)


@pytest.mark.parametrize("cell", ["plain", "highway", "residual"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_forward_shapes_and_lengths(cell, bidirectional, model_config):
    cfg = model_config(cell) | SMALL | {"subsampling": 3, "bidirectional": bidirectional}
    model = build_model(cfg, 10, 7)
    feats, lens = torch.randn(4, 32, 10), torch.tensor([32, 31, 9, 3])
    log_probs, out_lens = model(feats, lens)
    assert log_probs.shape == (4, 10, 7)
    assert out_lens.tolist() == [10, 10, 3, 1]
    assert torch.equal(model.output_lengths(lens), out_lens)
    torch.testing.assert_close(log_probs.exp().sum(-1), torch.ones(4, 10))


def test_min_input_frames(model_config):
    model = build_model(model_config("residual") | SMALL | {"subsampling": 3}, 10, 7)
    for tokens in [1, 5, 17]:
        frames = model.min_input_frames(tokens)
        assert model.output_lengths(torch.tensor(frames)) >= tokens
        assert model.output_lengths(torch.tensor(frames - 1)) < tokens


def test_cmvn_is_applied_and_saved(model_config):
    model = build_model(model_config("plain") | SMALL | {"subsampling": 1}, 4, 5)
    mean, std = torch.randn(4), torch.rand(4) + 0.5
    feats, lens = torch.randn(2, 6, 4), torch.tensor([6, 6])
    before = model(feats, lens)[0]
    model.set_cmvn(mean, std)
    torch.testing.assert_close(model(feats * std + mean, lens)[0], before)
    state = model.state_dict()
    assert torch.equal(state["frontend.cmvn_mean"], mean)
    assert torch.equal(state["frontend.cmvn_std"], std)
    with pytest.raises(ValueError):
        model.set_cmvn(mean, -std)


def test_layer_groups_cover_all_parameters(model_config):
    model = build_model(model_config("highway") | SMALL | {"num_layers": 4}, 10, 7)
    groups = model.layer_groups()
    assert [name for name, _ in groups] == ["layer1", "layer2", "layer3", "layer4", "output"]
    assert sum(p.numel() for _, ps in groups for p in ps) == count_parameters(model)


@pytest.mark.parametrize("cell", ["plain", "highway", "residual"])
def test_ten_layers_forward_backward(cell, model_config):
    model = build_model(model_config(cell) | SMALL | {"num_layers": 10, "dropout": 0.1}, 10, 7)
    feats, lens = torch.randn(3, 30, 10), torch.tensor([30, 20, 12])
    log_probs, out_lens = model(feats, lens)
    loss = torch.nn.functional.ctc_loss(
        log_probs.transpose(0, 1),
        torch.tensor([[1, 2], [3, 4], [5, 6]]),
        out_lens,
        torch.tensor([2, 2, 2]),
    )
    loss.backward()
    for name, params in model.layer_groups():
        assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in params), name


@pytest.mark.parametrize(
    "override",
    [
        {"cell": "gru"},
        {"num_layers": 0},
        {"proj_dim": 32},  # > cell_dim
        {"subsampling": 0},
        {"dropout": 1.0},
        {"impl": "cudnn"},
        {"impl": "torch_lstm"},  # peepholes on
        {"residual_output_peephole": "diag"},
        {"cell": "residual", "peepholes": False, "residual_output_peephole": "full"},
        {"hidden": 3},
    ],
)
def test_bad_configs_raise_value_error(override, model_config):
    cfg = model_config("residual") | SMALL | override
    with pytest.raises(ValueError, match="bad model config"):
        build_model(cfg, 10, 7)


def test_missing_key_raises_value_error(model_config):
    cfg = model_config("plain") | SMALL
    del cfg["cell_dim"], cfg["init"]  # the code has no defaults to fall back on
    with pytest.raises(ValueError, match=r"missing keys \['cell_dim', 'init'\]"):
        build_model(cfg, 10, 7)


def test_runs_under_autocast(model_config):
    model = build_model(model_config("residual") | SMALL, 10, 7)
    feats, lens = torch.randn(2, 30, 10), torch.tensor([30, 21])
    with torch.autocast("cpu", dtype=torch.bfloat16):
        log_probs, _ = model(feats, lens)
    log_probs.float().sum().backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters())
