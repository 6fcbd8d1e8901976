import copy
from pathlib import Path

import pytest
import yaml

from ragft.config import ConfigError, check, recipe_defaults

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT / "config" / "config.schema.yaml"


@pytest.fixture
def config(monkeypatch):
    monkeypatch.chdir(ROOT)
    return yaml.safe_load((ROOT / "config" / "config.yaml").read_text())


def test_demo_config_is_valid(config):
    check(config, SCHEMA)


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda c: c["retrieval"].update(k=0), "config key 'retrieval.k': 0 is less than the minimum of 1"),
        (lambda c: c["chunk"].update(strategy="pages"), "config key 'chunk.strategy': 'pages' is not one of ['sentences', 'tokens']"),
        (lambda c: c.update(retreival={"k": 3}), "config key 'retreival': unknown key"),
        (lambda c: c["systems"]["ft"].update(adapter="qlroa"), "config key 'systems.ft.adapter': 'qlroa' is not a recipe"),
        (lambda c: c["corpora"]["demo"].update(source="no/such/dir"), "config key 'corpora.demo.source': 'no/such/dir' matches no file"),
        (lambda c: c["chunk"].update(overlap=64), "config key 'chunk.overlap': 64 must be smaller than chunk.size (64)"),
        (lambda c: c["corpora"].update({"../x": c["corpora"]["demo"]}), "config key 'corpora': '../x' does not match"),
    ],
)
def test_a_mistake_is_one_line_naming_the_key(config, edit, message):
    bad = copy.deepcopy(config)
    edit(bad)
    with pytest.raises(ConfigError) as err:
        check(bad, SCHEMA)
    assert str(err.value).startswith(message)
    assert "\n" not in str(err.value)


def test_recipe_defaults_come_from_the_schema():
    d = recipe_defaults(SCHEMA)
    assert (d["quantization"], d["r"], d["alpha"], d["target_modules"], d["max_steps"]) == ("nf4", 16, 32, "all-linear", 0)
