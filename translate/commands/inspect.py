"""`translate inspect`: what a checkpoint is, without running it."""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any, Dict

from translate.commands import Command, register


def _inspect_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--checkpoint", required=True,
                   help="a run folder, a .safetensors generator file or a reference .pth state dict")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of text")


def _generator_info(net, spec) -> Dict[str, Any]:
    params = sum(p.numel() for p in net.parameters())
    return {"direction": spec.direction, "architecture": spec.architecture, "options": spec.kwargs,
            "in_channels": spec.in_channels, "out_channels": spec.out_channels,
            "size_multiple": int(net.size_multiple), "parameters": params,
            "preprocess": spec.preprocess}


def _mapping(data: Any, path: Path) -> Dict[str, Any]:
    from translate.checkpoint import CheckpointError

    if not isinstance(data, dict):
        raise CheckpointError(f"{path}: expected a mapping, got {type(data).__name__}")
    return data


def _read_config(path: Path) -> Dict[str, Any]:
    """A run's config.yaml, for showing: plain YAML only (a Python tag is refused, never run),
    bounded in size and depth, one line naming the file when it is not a mapping of settings."""
    import yaml

    from translate.checkpoint import CheckpointError
    from translate.model_files.bounds import METADATA_BYTES_LIMIT, too_nested

    size = path.stat().st_size
    if size > METADATA_BYTES_LIMIT:
        raise CheckpointError(f"{path}: {size:,} bytes, over the limit of {METADATA_BYTES_LIMIT // 2**20} MiB "
                              f"for a config file")
    try:
        config = yaml.safe_load(path.read_bytes()) or {}
    except yaml.MarkedYAMLError as exc:
        line = f" (line {exc.problem_mark.line + 1})" if exc.problem_mark is not None else ""
        raise CheckpointError(f"{path}: not a plain YAML config{line}: {exc.problem}") from None
    except yaml.YAMLError as exc:
        raise CheckpointError(f"{path}: not valid YAML ({' '.join(str(exc).split())[:200]})") from None
    except RecursionError:
        raise CheckpointError(f"{path}: nested too deep to be a config file") from None
    if too_nested(config):
        raise CheckpointError(f"{path}: nested too deep or expands too far (YAML aliases) to be a config file")
    return _mapping(config, path)


def describe(path: Path) -> Dict[str, Any]:
    """Everything `inspect` prints, as a dict (also used by tests)."""
    from translate import checkpoint as ckpt
    from translate.interop.loading import load_generator
    from translate.model_files.bounds import read_json_file

    path = Path(path).expanduser()
    if path.is_dir():
        meta = ckpt.read_metadata(path)
        info: Dict[str, Any] = {"path": str(path), "kind": "translate run folder", "translator": meta.get("translator"),
                                "step": meta.get("step"), "created_with": meta.get("created_with"), "generators": []}
        for direction in meta["generators"]:
            info["generators"].append(_generator_info(*load_generator(path, direction)))
        source = path / "source.json"
        if source.exists():
            info["source"] = _mapping(read_json_file(source, "provenance"), source)
        config = path / ckpt.CONFIG_FILE
        if config.exists():
            info["config"] = _read_config(config)
        return info
    if path.suffix in (".pth", ".pt"):
        from translate.interop.reference import import_file

        imported = import_file(path)
        return {"path": str(path), "kind": "reference state dict (pytorch-CycleGAN-and-pix2pix)",
                "layout": imported.layout.description, "import_notes": imported.notes,
                "translator": imported.spec.translator + " (guessed from the layout)",
                "generators": [_generator_info(imported.net, imported.spec)]}
    net, spec = load_generator(path)
    return {"path": str(path), "kind": "translate generator file", "translator": spec.translator,
            "generators": [_generator_info(net, spec)]}


def _print_text(info: Dict[str, Any]) -> None:
    print(f"{info['path']}: {info['kind']}")
    for key in ("translator", "step", "created_with", "layout"):
        if info.get(key) not in (None, ""):
            print(f"  {key.replace('_', ' ')}: {info[key]}")
    for note in info.get("import_notes", []):
        print(f"  import: {note}")
    source = info.get("source")
    if source:
        print(f"  source: {source.get('name', '?')} from {source.get('url', '?')} (sha256 {source.get('sha256', '?')})")
    for g in info["generators"]:
        options = ", ".join(f"{k}={v}" for k, v in g["options"].items())
        print(f"  generator {g['direction']}: {g['architecture']}({options})")
        print(f"    channels {g['in_channels']} -> {g['out_channels']}, height/width multiple of "
              f"{g['size_multiple']}, {g['parameters']:,} parameters ({g['parameters'] * 4 / 2**20:.1f} MiB in fp32)")
        features = (g.get("preprocess") or {}).get("features")
        if features:
            counts = ", ".join(f"{label}: {len(rows)}" for label, rows in sorted(
                features.get("clusters", {}).items(), key=lambda item: int(item[0])))
            print(f"    reads label maps with a {features['channels']}-number code per "
                  f"{features.get('per', 'instance')} (pix2pixHD's feature encoder); clusters per label: "
                  f"{counts or 'none'} (choose with apply --features LABEL=CLUSTER)")
    if info.get("config"):
        print("  training config:")
        for key, value in info["config"].items():
            print(f"    {key}: {value}")


def _inspect_run(args: argparse.Namespace) -> int:
    info = describe(Path(args.checkpoint))
    if args.json:
        print(json.dumps(info, indent=2, default=str))
    else:
        _print_text(info)
    return 0


register(Command("inspect", "show what a checkpoint is: translator, architecture, channels, parameters, config",
                 _inspect_args, _inspect_run))
