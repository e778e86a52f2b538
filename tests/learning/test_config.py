"""Training settings: each loss's parameters in its own section, and the flat names that
stored versions, checkpoints and saved commands of earlier versions use."""

import pytest

from core.learning.config import ComclParams, TrainConfig


def test_settings_of_earlier_versions_land_in_their_loss_section():
    flat = {"method": "comcl", "alpha": 0.3, "comcl_patch_weight": 0.0, "learner_loss": "mse"}

    config = TrainConfig.from_dict(flat)

    assert config.semise.alpha == 0.3
    assert config.comcl == ComclParams(patch_weight=0.0)
    assert config.learner.loss == "mse"
    assert config.method == "comcl"


def test_a_stored_configuration_reads_back_equal():
    config = TrainConfig(method="semise", epochs=3.0).with_settings(
        **{"ntxent.temperature": 0.2, "comcl.keep_start": 0.5}
    )

    stored = config.to_dict()

    assert stored["ntxent"] == {"temperature": 0.2}
    assert TrainConfig.from_dict(stored) == config


def test_a_section_given_in_part_keeps_its_other_defaults():
    config = TrainConfig.from_dict({"comcl": {"temperature": 0.2}})

    assert config.comcl == ComclParams(temperature=0.2)


@pytest.mark.parametrize("name", ["bogus", "comcl.bogus", "supcon.alpha"])
def test_an_unknown_setting_is_named_in_the_error(name):
    with pytest.raises(ValueError, match="unknown training setting"):
        TrainConfig().with_settings(**{name: 1})


def test_defaults_are_found_by_any_of_a_settings_names():
    assert TrainConfig.default_of("comcl_patch_side") == 0
    assert TrainConfig.default_of("comcl.patch_side") == 0
    assert TrainConfig.default_of("epochs") == 8.0
    with pytest.raises(ValueError):
        TrainConfig.default_of("comcl")  # a section, not a setting
