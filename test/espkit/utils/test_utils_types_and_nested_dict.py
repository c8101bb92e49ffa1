import argparse

import pytest

from espkit.utils.nested_dict_action import NestedDictAction, merge_dict, parse_nested_dict
from espkit.utils.types import (
    humanfriendly_parse_size_or_none,
    int_or_none,
    str2bool,
    str2pair_str,
    str2triple_str,
    str_or_none,
)


def test_value_types():
    assert str2bool("True") is True and str2bool("no") is False
    with pytest.raises(argparse.ArgumentTypeError, match="boolean"):
        str2bool("maybe")
    assert int_or_none("none") is None and int_or_none("3") == 3
    assert str_or_none("null") is None and str_or_none("x") == "x"
    assert humanfriendly_parse_size_or_none("1GB") == 1e9
    assert humanfriendly_parse_size_or_none("2KiB") == 2048
    with pytest.raises(argparse.ArgumentTypeError, match="not a size"):
        humanfriendly_parse_size_or_none("lots")
    assert str2triple_str("a,b/wav.scp,speech,sound") == ("a,b/wav.scp", "speech", "sound")
    assert str2triple_str(["x.scp", "speech", "sound"]) == ("x.scp", "speech", "sound")
    with pytest.raises(argparse.ArgumentTypeError, match="path,name,type"):
        str2triple_str("wav.scp,speech")


def test_str2pair_str_takes_exactly_two_items(tmp_path):
    assert str2pair_str("abc, def ") == ("abc", "def")
    assert str2pair_str(["abc", "d,ef"]) == ("abc", "d,ef")
    for bad in ("abc", "a,b,c", "a,", " ,b", ["a"], ["a", "b", "c"]):
        with pytest.raises(argparse.ArgumentTypeError, match="expected two non-empty items 'a,b'"):
            str2pair_str(bad)
    from espkit.utils.config_argparse import ArgumentParser

    parser = ArgumentParser()
    parser.add_argument("--pair", type=str2pair_str)
    assert parser.parse_args(["--pair", "x,y"]).pair == ("x", "y")
    config = tmp_path / "conf.yaml"
    config.write_text("pair: [x, y]\n")
    assert parser.parse_args(["--config", str(config)]).pair == ("x", "y")


def test_parse_nested_dict_forms():
    assert parse_nested_dict("lr=1e-3") == {"lr": 1e-3}
    assert parse_nested_dict("a.b.c=[1, 2]") == {"a": {"b": {"c": [1, 2]}}}
    assert parse_nested_dict('{"n_fft": 512}') == {"n_fft": 512}
    assert parse_nested_dict("x=") == {"x": None}
    with pytest.raises(argparse.ArgumentTypeError, match="expected a mapping"):
        parse_nested_dict("[1, 2]")
    with pytest.raises(argparse.ArgumentTypeError, match="bad key"):
        parse_nested_dict("a..b=1")


def test_merge_dict_is_recursive_and_does_not_mutate():
    base = {"a": {"x": 1, "y": 2}, "b": 1}
    merged = merge_dict(base, {"a": {"y": 3}, "c": 4})
    assert merged == {"a": {"x": 1, "y": 3}, "b": 1, "c": 4}
    assert base == {"a": {"x": 1, "y": 2}, "b": 1}


def test_nested_dict_action_merges_occurrences(capsys):
    parser = argparse.ArgumentParser()
    parser.add_argument("--conf", action=NestedDictAction)
    assert parser.parse_args([]).conf == {}
    assert parser.parse_args(["--conf", "a=1", "--conf", "{b: 2}", "--conf", "a=3"]).conf == {"a": 3, "b": 2}
    with pytest.raises(SystemExit):
        parser.parse_args(["--conf", "[oops"])
    assert "--conf" in capsys.readouterr().err


def test_scientific_notation_without_dot_is_a_float(tmp_path):
    from espkit.utils.config_argparse import load_yaml_config

    assert parse_nested_dict("eps=1e-6") == {"eps": 1e-6}
    path = tmp_path / "c.yaml"
    path.write_text("lr: 1e-3\nname: e5\nsteps: 10\n")
    assert load_yaml_config(path) == {"lr": 1e-3, "name": "e5", "steps": 10}


def test_nested_dict_action_starts_empty_over_a_non_mapping_default():
    """ESPnet2: a non-dict default (e.g. ``default=3``) is replaced, not merged into."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--conf", action=NestedDictAction, default=3)
    assert parser.parse_args([]).conf == 3
    assert parser.parse_args(["--conf", "a=3", "--conf", "c.d=4"]).conf == {"a": 3, "c": {"d": 4}}


def test_config_file_gives_a_count_option_its_count(tmp_path):
    """ESPnet2: ``count: 3`` in a config sets an ``action="count"`` option to 3."""
    from espkit.utils.config_argparse import ArgumentParser

    parser = ArgumentParser("test")
    parser.add_argument("--verbose", action="count")
    config = tmp_path / "a.yaml"
    config.write_text("verbose: 3\n")
    assert parser.parse_args(["--config", str(config)]).verbose == 3
    config.write_text("verbose: many\n")
    with pytest.raises(SystemExit):
        parser.parse_args(["--config", str(config)])
