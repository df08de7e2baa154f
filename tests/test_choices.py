"""Each shared choice is written once, in translate.choices: the flags, the config's rules,
devices, serve's menus and the train-hd schedule all read it, and these tests catch a copy."""
from __future__ import annotations

import argparse
import dataclasses
from typing import Dict, Iterator, Tuple

import pytest

from translate import choices
from translate.choices import (DEFAULT_DIRECTION, DEFAULT_EPOCHS, DEFAULT_PRECISION, DIRECTIONS, EXIT_FAILED,
                               EXIT_INTERRUPTED, EXIT_USAGE, HD_TRANSLATORS, PRECISIONS, StageSchedule,
                               default_load_size)
from translate.cli import build_parser, main
from translate.config import PRESETS, TrainConfig, rules_of


def _subparsers(parser: argparse.ArgumentParser) -> Dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _options(parser: argparse.ArgumentParser, path: Tuple[str, ...] = ()) -> Iterator[Tuple[str, argparse.Action]]:
    """("train-hd --translator", action) for every option of every command and sub-command."""
    for action in parser._actions:
        if action.option_strings and not isinstance(action, argparse._HelpAction):
            yield " ".join((*path, action.option_strings[-1])), action
    for name, sub in _subparsers(parser).items():
        yield from _options(sub, (*path, name))


@pytest.fixture(scope="module")
def options() -> Dict[str, argparse.Action]:
    return dict(_options(build_parser()))


def test_the_table_is_torch_free_and_imports_nothing_of_the_package():
    import ast
    from pathlib import Path

    tree = ast.parse(Path(choices.__file__).read_text())
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert imported <= {"__future__", "dataclasses", "typing"}


def test_every_precision_and_direction_flag_offers_the_table(options):
    precision = {name: a for name, a in options.items() if name.endswith("--precision")}
    direction = {name: a for name, a in options.items() if name.endswith("--direction")}
    assert {"train --precision", "train-hd --precision", "apply --precision", "eval --precision"} <= set(precision)
    assert {"train --direction", "apply --direction", "eval --direction", "export --direction",
            "faceswap --direction"} <= set(direction)
    for name, action in {**precision, **direction}.items():
        table = PRECISIONS if name.endswith("--precision") else DIRECTIONS
        assert tuple(action.choices) == table, name
        assert action.default is None, f"{name}: the default is the config's, not the flag's"


def test_no_flag_repeats_a_table_by_hand(options):
    """A flag offering a table's names must be that table's flag (a copy would be found here)."""
    for name, action in options.items():
        if action.choices is not None and set(action.choices) in (set(PRECISIONS), set(DIRECTIONS)):
            assert name.endswith(("--precision", "--direction")), name


def test_the_config_rules_and_defaults_are_the_table():
    rules = rules_of(TrainConfig)
    assert rules["precision"].options() == PRECISIONS
    assert rules["direction"].options() == DIRECTIONS
    train = TrainConfig()
    assert (train.precision, train.direction) == (DEFAULT_PRECISION, DEFAULT_DIRECTION)
    assert DEFAULT_PRECISION in PRECISIONS and DEFAULT_DIRECTION in DIRECTIONS


def test_devices_maps_every_precision_but_auto():
    torch = pytest.importorskip("torch")
    from translate.devices import DeviceError, _DTYPES, precision_name, resolve_precision

    assert set(_DTYPES) == set(PRECISIONS) - {"auto"}
    for name in _DTYPES:
        assert precision_name(_DTYPES[name]) == name
    with pytest.raises(DeviceError, match="one of " + ", ".join(PRECISIONS)):
        resolve_precision("fp8", torch.device("cpu"))


def test_serve_offers_the_table():
    models = pytest.importorskip("translate.serve.models")
    assert tuple(models.PRECISIONS) == PRECISIONS


def test_train_flags_read_the_config_and_the_presets(options):
    assert tuple(options["train --preset"].choices) == tuple(PRESETS)
    assert f"default {DEFAULT_EPOCHS}" in options["train --epochs"].help
    assert f"default {TrainConfig().size}" in options["train --size"].help


def test_the_loop_counts_the_same_default_epochs():
    pytest.importorskip("torch")
    from translate.training import loop

    assert loop.DEFAULT_EPOCHS == DEFAULT_EPOCHS


def test_default_load_size_keeps_the_papers_ratio():
    from translate.config import resolve
    from translate.translators.cyclegan import CycleGANOptions

    assert default_load_size(256) == 286 and default_load_size(128) == 143
    assert resolve("cyclegan", CycleGANOptions(), set_pairs=["size=64"]).train.load_size == default_load_size(64)


def test_train_hd_flags_are_the_schedule(options):
    schedule = StageSchedule()
    for field in dataclasses.fields(StageSchedule):
        flag = "train-hd --" + field.name.replace("_", "-")
        assert options[flag].default == getattr(schedule, field.name), flag
    assert tuple(options["train-hd --translator"].choices) == HD_TRANSLATORS
    assert options["train-hd --translator"].default == HD_TRANSLATORS[0]


@pytest.mark.parametrize("schedule,translator,cli,python", [
    (StageSchedule(0, 1, 0), "pix2pixhd", "--global-epochs", "global_epochs"),
    (StageSchedule(1, 1, 2), "pix2pixhd", "--fix-global-epochs", "fix_global_epochs"),
    (StageSchedule(1, 1, 0, 3), "pix2pixhd", "--face-epochs N (N >= 0) is for --translator pose2frame",
     "face_epochs N (N >= 0) is for translator pose2frame"),
    (StageSchedule(1, 1, 0, -1), "pose2frame", "--face-epochs", "face_epochs"),
])
def test_one_schedule_check_speaks_to_the_cli_and_to_python(schedule, translator, cli, python):
    assert cli in schedule.problem(translator, lambda key: "--" + key.replace("_", "-"))
    assert python in schedule.problem(translator)


def test_a_good_schedule_has_no_problem():
    assert StageSchedule().problem("pix2pixhd") is None
    assert StageSchedule(1, 2, 2, 1).problem("pose2frame") is None


def test_the_pipeline_refuses_what_the_cli_refuses(tmp_path):
    pytest.importorskip("torch")
    from translate.config import ConfigError, resolve
    from translate.pipelines.hd_stages import train_stages
    from translate.translators.pix2pixhd import Pix2PixHDOptions

    base = resolve("pix2pixhd", Pix2PixHDOptions(), cli_values={"data": str(tmp_path)})
    with pytest.raises(ConfigError, match="face_epochs"):
        train_stages(base, StageSchedule(1, 1, 0, 2))


def test_exit_codes(monkeypatch, capsys, tmp_path):
    from translate.commands import COMMANDS, UsageError

    assert main([]) == EXIT_USAGE
    with pytest.raises(SystemExit) as exc:
        main(["apply", "--precision", "fp8"])
    assert exc.value.code == EXIT_USAGE  # argparse's own code is the table's

    def interrupted(args):
        raise KeyboardInterrupt

    def refused(args):
        raise UsageError("no")

    monkeypatch.setitem(COMMANDS, "models", dataclasses.replace(COMMANDS["models"], run=interrupted))
    assert main(["models"]) == EXIT_INTERRUPTED
    monkeypatch.setitem(COMMANDS, "models", dataclasses.replace(COMMANDS["models"], run=refused))
    assert main(["models"]) == EXIT_USAGE
    assert main(["eval", "--pred", str(tmp_path / "missing"), "--target", str(tmp_path)]) == EXIT_FAILED


# Flags whose names a room's table owns, repeated in the command so --help needs no cv2 or
# torch: (flag, module, table, options class, its field). The table decides, the flag follows.
ROOM_TABLES = [
    ("faceswap --color", "translate.people.faces_blend", "COLOR_MATCHERS", "BlendOptions", "color"),
    ("faceswap --blend", "translate.people.faces_blend", "BLENDERS", "BlendOptions", "mode"),
    ("faces extract --select", "translate.people.faces_track", "SELECTORS", "TrackOptions", "select"),
    ("faceswap --mask", "translate.people.faces_mask", "MASKERS", None, None),
    ("faces extract --mask", "translate.people.faces_mask", "MASKERS", None, None),
    ("poses render --figure-mode", "translate.people.poses.render", "RENDER_MODES", "FigureStyle", "mode"),
    ("poses extract --figure-mode", "translate.people.poses.render", "RENDER_MODES", "FigureStyle", "mode"),
]


@pytest.mark.parametrize("flag,module,table,options_cls,key", ROOM_TABLES, ids=[row[0] for row in ROOM_TABLES])
def test_flags_that_repeat_a_rooms_table_still_equal_it(options, flag, module, table, options_cls, key):
    room = pytest.importorskip(module)
    assert set(options[flag].choices) == set(getattr(room, table)), flag
    if options_cls:
        assert options[flag].default == getattr(getattr(room, options_cls)(), key), flag


def test_export_formats_are_the_registered_ones(options):
    export = pytest.importorskip("translate.interop.export")
    assert set(options["export --format"].choices) == set(export.EXPORT_FORMATS.names())
