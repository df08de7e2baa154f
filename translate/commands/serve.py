"""`translate serve`: a local web page to try models and browse training runs (needs the serve extra)."""
from __future__ import annotations

import argparse
from pathlib import Path

from translate.commands import Command, UsageError, register


def _serve_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--checkpoint", action="append", default=[], metavar="PATH",
                   help="a run folder or a .safetensors/.pth generator to offer, besides every run under --runs "
                        "(repeatable)")
    p.add_argument("--runs", action="append", default=None, metavar="DIR",
                   help="folder of training runs to list (default: checkpoints; repeatable)")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1: this machine only). 0.0.0.0 lets others in")
    p.add_argument("--port", type=int, default=7860, help="port (7860)")
    p.add_argument("--auth", metavar="USER:PASSWORD", help="ask for this user and password")
    p.add_argument("--device", default="auto", help="auto (default), cpu, cuda or cuda:N")
    p.add_argument("--max-upload-mb", type=float, default=100.0, help="largest accepted upload, in MB (100)")
    p.add_argument("--max-pixels", type=int, default=40_000_000,
                   help="largest image (and largest size a request may ask for), in pixels (40000000)")


def _serve_run(args: argparse.Namespace) -> int:
    from translate.serve import ServeOptions, parse_auth, serve

    if not 0 < args.port < 65536:
        raise UsageError(f"--port must be between 1 and 65535, got {args.port}")
    if args.max_upload_mb <= 0:
        raise UsageError(f"--max-upload-mb must be positive, got {args.max_upload_mb}")
    if args.max_pixels < 1:
        raise UsageError(f"--max-pixels must be positive, got {args.max_pixels}")
    for root in args.runs or []:  # the default may be absent (a fresh clone); a folder the user names may not
        if not Path(root).expanduser().is_dir():
            raise UsageError(f"--runs {root}: no such folder")
    options = ServeOptions(checkpoints=[Path(c) for c in args.checkpoint],
                           roots=[Path(r).expanduser() for r in (args.runs or ["checkpoints"])], host=args.host,
                           port=args.port, auth=parse_auth(args.auth), device=args.device,
                           max_upload_mb=args.max_upload_mb, max_pixels=args.max_pixels)
    return serve(options)


register(Command("serve", "try models in the browser and browse training runs (web page)", _serve_args, _serve_run))
