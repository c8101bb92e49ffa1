import argparse

import pytest
import torch

from espkit.train.class_choices import ClassChoices
from espkit.utils.errors import ConfigError


class Base:
    pass


class Alpha(Base):
    def __init__(self, size: int = 3, name: str = "a"):
        self.size = size
        self.name = name


class Beta(Base):
    def __init__(self, idim, scale: float = 1.0):
        self.idim = idim
        self.scale = scale


class Other:
    pass


def make(optional=False):
    return ClassChoices("part", {"alpha": Alpha, "beta": Beta}, type_check=Base, default="alpha", optional=optional)


def test_get_class_is_case_insensitive():
    choices = make()
    assert choices.get_class("ALPHA") is Alpha
    assert choices.get_class("Beta") is Beta


def test_unknown_name_lists_valid_choices():
    with pytest.raises(ConfigError, match=r"unknown --part 'gamma'; valid choices: alpha, beta"):
        make().get_class("gamma")


def test_none_only_when_optional():
    assert make(optional=True).get_class("none") is None
    assert "none" in make(optional=True).choices()
    with pytest.raises(ConfigError, match="--part is required"):
        make().get_class("none")


def test_type_check_and_duplicates_fail_at_registration():
    with pytest.raises(TypeError, match="Other .*must subclass Base"):
        ClassChoices("part", {"other": Other}, type_check=Base)
    choices = make()
    with pytest.raises(ValueError, match="already registered to Alpha"):
        choices.register("ALPHA", Alpha)
    with pytest.raises(ValueError, match="default 'zeta' is not one of"):
        ClassChoices("part", {"alpha": Alpha}, default="zeta")


def test_add_arguments_parses_name_and_nested_conf():
    parser = argparse.ArgumentParser()
    make(optional=True).add_arguments(parser)
    args = parser.parse_args(
        [
            "--part",
            "Beta",
            "--part_conf",
            "scale=2.5",
            "--part_conf",
            "{extra: {a: 1}}",
            "--part_conf",
            "extra.b=[1, 2]",
        ]
    )
    assert args.part == "beta"
    assert args.part_conf == {"scale": 2.5, "extra": {"a": 1, "b": [1, 2]}}
    assert parser.parse_args(["--part", "none"]).part is None
    help_text = parser.format_help()
    assert "alpha, beta, none" in help_text


def test_add_arguments_rejects_unknown_choice(capsys):
    parser = argparse.ArgumentParser()
    make().add_arguments(parser)
    with pytest.raises(SystemExit):
        parser.parse_args(["--part", "gamma"])
    assert "valid choices: alpha, beta" in capsys.readouterr().err


def test_resolve_conf_fills_defaults_and_rejects_unknown_keys():
    choices = make()
    assert choices.resolve_conf("alpha", {"size": 5}) == {"size": 5, "name": "a"}
    assert choices.resolve_conf("beta", {}, exclude=("idim",)) == {"scale": 1.0}
    with pytest.raises(ConfigError, match=r"Alpha does not accept sizee; accepted parameters: name, size"):
        choices.resolve_conf("alpha", {"sizee": 5})


def test_build_passes_task_arguments_and_wraps_type_errors():
    choices = make()
    beta = choices.build("beta", {"scale": 3.0}, idim=7)
    assert (beta.idim, beta.scale) == (7, 3.0)
    adam_choices = ClassChoices("optim", {"adam": torch.optim.Adam}, type_check=torch.optim.Optimizer)
    with pytest.raises(ConfigError, match=r"--optim_conf \(Adam\)"):
        adam_choices.build("adam", {"lr": -1.0}, params=[torch.nn.Parameter(torch.zeros(1))])


def test_default_conf_is_plain_yaml_data():
    from types import MappingProxyType

    import yaml

    class Gamma(Base):
        def __init__(self, params=MappingProxyType({"slope": 0.1, "sizes": (1, 2)}), scales=((1, 2), (3,))):
            self.params, self.scales = params, scales

    choices = ClassChoices("part", {"gamma": Gamma}, type_check=Base)
    conf = choices.default_conf("gamma")
    assert conf == {"params": {"slope": 0.1, "sizes": [1, 2]}, "scales": [[1, 2], [3]]}
    assert type(conf["params"]) is dict
    assert yaml.safe_load(yaml.safe_dump(conf)) == conf
