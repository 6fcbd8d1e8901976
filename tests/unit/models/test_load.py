"""Loading causal LMs: an adapter is evaluated on the base it was trained on (bit for bit on
builtin:smollm2's 4-bit NF4 base), the dtype a device supports, and where the weights go."""

import pytest
import torch

from ragft.models import load


def test_a_qlora_adapter_is_evaluated_on_its_4bit_base_bit_for_bit(smollm2_dir, tmp_path):
    from ragft.finetune.trainer import load_for_training, save_adapter

    recipe = {"quantization": "nf4", "r": 4, "alpha": 8, "dropout": 0.0, "target_modules": ["q_proj", "v_proj"]}
    trained = load_for_training(smollm2_dir, recipe)
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():  # as if trained: lora_B starts at zero, which would hide any difference
        for name, param in trained.named_parameters():
            if "lora_B" in name:
                param.copy_(torch.randn(param.shape, generator=gen) * 0.05)
    save_adapter(trained, tmp_path / "adapter", recipe)
    ids = torch.tensor([[1, 9690, 198, 21350, 42, 1792, 2043, 314, 260, 3575, 47]])
    with torch.no_grad():
        expected = trained.eval()(input_ids=ids).logits
        served = load.load_causal_lm(smollm2_dir, str(tmp_path / "adapter"))
        assert torch.equal(served(input_ids=ids).logits, expected)
        assert load.describe_adapter_load(str(tmp_path / "adapter")) == "on the 4-bit NF4 base"
        merged = load.load_causal_lm(smollm2_dir, str(tmp_path / "adapter"), merge=True)
        diff = (merged(input_ids=ids).logits - expected).abs().max()
    # merged into the unquantised base it is another model: close, not the one trained
    assert 0.01 < float(diff) < 20
    assert load.describe_adapter_load(str(tmp_path / "adapter"), merge=True) == "merged into the unquantised base"


def test_dtype_follows_what_the_device_supports(monkeypatch):
    assert load.resolve_dtype("auto", cuda=False) is torch.float32
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    assert load.resolve_dtype("auto", cuda=True) is torch.bfloat16
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: False)  # a V100 or T4
    assert load.resolve_dtype("auto", cuda=True) is torch.float16
    assert load.resolve_dtype("bfloat16", cuda=False) is torch.bfloat16
    with pytest.raises(ValueError, match="expected auto"):
        load.resolve_dtype("fp8")


def test_training_precision_follows_the_recipe_dtype(tmp_path, monkeypatch):
    from ragft.config import recipe_defaults
    from ragft.finetune.trainer import training_args

    args = training_args({**recipe_defaults(), "dtype": "auto"}, 0, tmp_path, None)
    assert (args.bf16, args.fp16, args.use_cpu) == (False, False, True)  # a CPU trains in float32
    with pytest.raises(ValueError, match="a CPU trains in float32"):
        training_args({**recipe_defaults(), "dtype": "float16"}, 0, tmp_path, None)


def test_weights_load_straight_onto_their_devices(monkeypatch):
    monkeypatch.setattr(load, "_cuda", lambda: False)
    assert load.device_map() is None
    monkeypatch.setattr(load, "_cuda", lambda: True)
    assert load.device_map() == "auto"  # inference: a model larger than one GPU spreads over several
    monkeypatch.setenv("LOCAL_RANK", "1")
    assert load.device_map(training=True) == {"": 1}  # training: this process's GPU
