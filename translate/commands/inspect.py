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
            "size_multiple": int(getattr(net, "size_multiple", 1)), "parameters": params,
            "preprocess": spec.preprocess}


def describe(path: Path) -> Dict[str, Any]:
    """Everything `inspect` prints, as a dict (also used by tests)."""
    from translate import checkpoint as ckpt
    from translate.interop.loading import load_generator

    path = Path(path).expanduser()
    if path.is_dir():
        meta = ckpt.read_metadata(path)
        info: Dict[str, Any] = {"path": str(path), "kind": "translate run folder", "translator": meta.get("translator"),
                                "step": meta.get("step"), "created_with": meta.get("created_with"), "generators": []}
        for direction in meta["generators"]:
            info["generators"].append(_generator_info(*load_generator(path, direction)))
        source = path / "source.json"
        if source.exists():
            info["source"] = json.loads(source.read_text())
        config = path / ckpt.CONFIG_FILE
        if config.exists():
            import yaml

            info["config"] = yaml.safe_load(config.read_text())
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
