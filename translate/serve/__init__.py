"""`translate serve`: try models in the browser and browse training runs (the optional ``serve`` extra).

Rooms: ``models`` (the only code that loads or runs a model), ``runs`` (reads what training
wrote), ``safety`` (upload checks and the output folder), ``handlers`` (what each button does,
no Gradio), ``app`` (the Gradio page). ``serve(options)`` is the one call the CLI makes.
Pipelines are not named here: each registered one (``translate.pipelines.registry``) gets a tab
built from its declaration.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Optional, Tuple

from translate.errors import TranslateError

LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}
ALL_INTERFACES = {"0.0.0.0", "::", ""}  # listen addresses, not addresses a browser can open


class ServeError(TranslateError, ValueError):
    """The server cannot start as asked (missing extra, bad --auth, nothing to serve)."""


@dataclass
class ServeOptions:
    checkpoints: List[Path] = field(default_factory=list)  # extra run folders or weights files
    roots: List[Path] = field(default_factory=lambda: [Path("checkpoints")])  # searched for runs
    host: str = "127.0.0.1"
    port: int = 7860
    auth: Optional[Tuple[str, str]] = None
    device: str = "auto"
    max_upload_mb: float = 100.0
    max_pixels: int = 40_000_000
    output_dir: Optional[Path] = None  # default: a fresh temporary folder, removed at exit


def parse_auth(text: Optional[str]) -> Optional[Tuple[str, str]]:
    if text is None:
        return None
    user, sep, password = text.partition(":")
    if not sep or not user or not password:
        raise ServeError("--auth must be USER:PASSWORD (both non-empty)")
    return user, password


def demo_roots() -> List[Path]:
    """The repository's checkpoints/ (the demo model and `make demo`'s runs), wherever serve is run from."""
    root = Path(__file__).resolve().parents[2] / "checkpoints"
    return [root] if root.is_dir() else []


def exposure_warning(options: ServeOptions) -> Optional[str]:
    if options.host in LOCAL_HOSTS:
        return None
    guard = "password-protected (--auth)" if options.auth else "NOT password-protected (add --auth USER:PASSWORD)"
    return (f"warning: --host {options.host} makes this page reachable by other machines on the network; "
            f"it is {guard}")


def page_address(host: str, port: int) -> str:
    """Where to point a browser: ``--host 0.0.0.0`` listens everywhere, but http://0.0.0.0 is not
    an address to open; this machine is localhost, others use its name."""
    if host in LOCAL_HOSTS:
        return f"http://localhost:{port}"
    if host in ALL_INTERFACES:
        import socket

        return f"http://localhost:{port} (from other machines: http://{socket.gethostname()}:{port})"
    shown = f"[{host}]" if ":" in host else host  # an IPv6 address needs brackets in a URL
    return f"http://{shown}:{port}"


def prepare(options: ServeOptions):
    """Everything but the network: models found, outputs folder made, page built. Returns
    (page, handlers); tests use it to start a server on a port of their choosing."""
    try:
        from translate.serve.app import build
    except ImportError as exc:
        raise ServeError(f"translate serve needs the serve extra ({exc.name} is missing): "
                         f"pip install -r requirements-serve.txt") from None
    from translate.pipelines.registry import list_pipelines
    from translate.serve.handlers import Handlers
    from translate.serve.models import ModelCache, discover
    from translate.serve.safety import OutputFolder, UploadLimits

    roots = list(dict.fromkeys([*options.roots, *demo_roots()]))
    pipelines = list_pipelines()  # every registered pipeline gets a tab
    models, problems = discover(roots, options.checkpoints, pipelines)
    for line in problems:
        print(f"serve: skipped a checkpoint: {line}", file=sys.stderr)
    outputs = OutputFolder(options.output_dir)
    import os

    # Gradio keeps uploads and the copies it serves under this folder: one place, cleaned at exit.
    os.environ["GRADIO_TEMP_DIR"] = str(outputs.root / "gradio")
    limits = UploadLimits(max_mb=options.max_upload_mb, max_pixels=options.max_pixels)
    handlers = Handlers(ModelCache(models, options.device, pipelines), outputs, limits,
                        [*roots, *[Path(c) for c in options.checkpoints if Path(c).is_dir()]])
    print(f"serve: {len(models)} model(s), {len(handlers.runs())} run(s); results in {outputs.root}",
          file=sys.stderr)
    return build(handlers), handlers


def serve(options: ServeOptions) -> int:
    from translate.serve.app import launch

    warning = exposure_warning(options)
    page, handlers = prepare(options)
    if warning:
        print(warning, file=sys.stderr)
    print(f"serve: open {page_address(options.host, options.port)} (Ctrl+C stops)", file=sys.stderr)
    import signal
    import threading

    if threading.current_thread() is threading.main_thread():
        # `kill` (SIGTERM) as well as Ctrl+C must reach the finally below, or the outputs would stay
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        launch(page, options.host, options.port, options.auth, options.max_upload_mb, block=True)
    except OSError as exc:
        raise ServeError(f"cannot listen on {options.host}:{options.port} ({exc}); try another --port") from None
    finally:
        handlers.outputs.cleanup()
    return 0
