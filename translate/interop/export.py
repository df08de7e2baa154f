"""Export a generator for use outside this toolkit, and prove the export computes the same thing.

Formats (``EXPORT_FORMATS``, one registered class each):

* ``onnx``: opset 18 through ``torch.onnx.export`` (the torch.export-based exporter, the
  default in this torch), batch, height and width dynamic; one self-contained file with
  the generator's spec in its metadata. Verified with onnxruntime when it is installed,
  else with the ONNX checker only (and the report says so).
* ``torchscript``: ``torch.jit.trace``; loads with ``torch.jit.load`` in C++ or Python
  without this package. Traced at one size, verified at other sizes and batch sizes.
* ``safetensors``: the toolkit's own weights file with its metadata (rebuilds with
  ``translate apply --checkpoint FILE``), e.g. to turn a published ``.pth`` into one file.

Every export is written to a temporary file, verified on inputs of *other* shapes than
the one used to export (batch 2, non-square), compared with the PyTorch model in fp32, and
only then renamed into place, so a failed export never leaves a file behind.
"""
from __future__ import annotations

import contextlib
import io
import json
import math
import re
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import List, Tuple

import torch
from torch import nn

from translate.checkpoint import GeneratorSpec, load_generator, save_generator
from translate.fileio import atomic_path
from translate.interop.errors import ExportError
from translate.nets.contract import Generator
from translate.registry import Registry

TOLERANCE = 1e-4  # max abs difference allowed on [-1, 1] outputs in fp32
ONNX_OPSET = 18

EXPORT_FORMATS = Registry("export format")


@dataclass
class ExportReport:
    path: Path
    format: str
    checks: List[Tuple[Tuple[int, ...], float]] = field(default_factory=list)  # (input shape, max abs diff)
    verified_with: str = ""

    @property
    def max_diff(self) -> float:
        return max((d for _, d in self.checks), default=float("nan"))


def example_side(net: Generator) -> int:
    """Smallest multiple of the net's ``size_multiple`` that is at least 64 pixels.

    Big enough that every reflect pad inside the network has room (a ResNet's blocks work
    at 1/4 size), small enough to export and verify a full-size generator in seconds.
    """
    m = int(net.size_multiple)
    return m * math.ceil(64 / m)


def example_input(net: nn.Module, in_channels: int) -> torch.Tensor:
    """The one image every format exports (traces) at: zeros, batch 1, ``example_side`` square.
    Verification then runs on other shapes (``verification_inputs``)."""
    side = example_side(net)
    return torch.zeros(1, in_channels, side, side)


def verification_inputs(net: nn.Module, in_channels: int) -> List[torch.Tensor]:
    side = example_side(net)
    g = torch.Generator().manual_seed(0)
    return [torch.rand(shape, generator=g) * 2 - 1
            for shape in [(2, in_channels, side, 2 * side), (1, in_channels, 2 * side, side)]]


def _compare(report: ExportReport, run, net: nn.Module, inputs: List[torch.Tensor]) -> ExportReport:
    with torch.no_grad():
        for x in inputs:
            expected = net(x).float()
            if not torch.isfinite(expected).all():
                raise ExportError(f"{report.path}: the PyTorch model itself gives non-finite outputs "
                                  f"for input {tuple(x.shape)}; nothing to verify against (bad weights?)")
            got = torch.as_tensor(run(x)).float()
            if got.shape != expected.shape:
                raise ExportError(f"{report.path}: output shape {tuple(got.shape)} for input "
                                  f"{tuple(x.shape)}, PyTorch gives {tuple(expected.shape)}")
            report.checks.append((tuple(x.shape), float((got - expected).abs().max())))
    if not report.max_diff <= TOLERANCE:  # also catches NaN from the exported side
        raise ExportError(f"{report.path}: {report.format} output differs from PyTorch by "
                          f"{report.max_diff:.2e} (> {TOLERANCE:.0e}); not written")
    return report


@EXPORT_FORMATS.register("onnx")
class OnnxFormat:
    """ONNX, dynamic batch/height/width, verified with onnxruntime (or the checker alone)."""

    suffix = ".onnx"

    @staticmethod
    def export(net: nn.Module, spec: GeneratorSpec, tmp: Path) -> None:
        import onnx

        example = example_input(net, spec.in_channels)
        dims = {0: "batch", 2: "height", 3: "width"}
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")  # the exporter's progress chatter, not problems
            torch.onnx.export(net, (example,), str(tmp), input_names=["image"], output_names=["translated"],
                              dynamo=True, dynamic_shapes=(dims,), opset_version=ONNX_OPSET,
                              external_data=False, verbose=False)
        model = onnx.load(str(tmp))
        meta = {"translate_spec": json.dumps(asdict(spec)), "size_multiple": str(net.size_multiple),
                "input_range": "[-1, 1], NCHW, height and width multiples of size_multiple"}
        for key, value in meta.items():
            entry = model.metadata_props.add()
            entry.key, entry.value = key, value
        onnx.checker.check_model(model)
        onnx.save(model, str(tmp))

    @staticmethod
    def verify(tmp: Path, net: nn.Module, spec: GeneratorSpec, report: ExportReport) -> ExportReport:
        try:
            import onnxruntime as ort
        except ImportError:
            report.verified_with = "onnx checker only (onnxruntime is not installed)"
            return report
        session = ort.InferenceSession(str(tmp), providers=["CPUExecutionProvider"])
        name = session.get_inputs()[0].name
        report.verified_with = f"onnxruntime {ort.__version__}"
        return _compare(report, lambda x: session.run(None, {name: x.numpy()})[0], net,
                        verification_inputs(net, spec.in_channels))


@EXPORT_FORMATS.register("torchscript")
class TorchScriptFormat:
    """TorchScript (traced), loads with torch.jit.load without this package."""

    suffix = ".pt"

    @staticmethod
    def export(net: nn.Module, spec: GeneratorSpec, tmp: Path) -> None:
        with warnings.catch_warnings():
            # torch marks torch.jit as deprecated in favour of torch.export; it still works and
            # is what C++ (libtorch) users load today.
            warnings.simplefilter("ignore", FutureWarning)
            # Tracer warnings say a trace might not generalise to other sizes; verify() checks that.
            warnings.simplefilter("ignore", torch.jit.TracerWarning)
            traced = torch.jit.trace(net, example_input(net, spec.in_channels), check_trace=False)
            torch.jit.save(traced, str(tmp))

    @staticmethod
    def verify(tmp: Path, net: nn.Module, spec: GeneratorSpec, report: ExportReport) -> ExportReport:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            loaded = torch.jit.load(str(tmp), map_location="cpu")
        report.verified_with = f"torch.jit.load (torch {torch.__version__})"
        return _compare(report, loaded, net, verification_inputs(net, spec.in_channels))


@EXPORT_FORMATS.register("safetensors")
class SafetensorsFormat:
    """The toolkit's weights file + metadata; rebuilds itself in `translate apply`."""

    suffix = ".safetensors"

    @staticmethod
    def export(net: nn.Module, spec: GeneratorSpec, tmp: Path) -> None:
        save_generator(tmp, net, spec, step=0)

    @staticmethod
    def verify(tmp: Path, net: nn.Module, spec: GeneratorSpec, report: ExportReport) -> ExportReport:
        rebuilt, _ = load_generator(tmp)
        report.verified_with = "translate.checkpoint.load_generator"
        return _compare(report, rebuilt.eval(), net, verification_inputs(net, spec.in_channels))


def output_path(output: Path, fmt: str, spec: GeneratorSpec) -> Path:
    """A file path as given, or ``generator_<direction><suffix>`` inside a folder."""
    output = Path(output)
    suffix = EXPORT_FORMATS.get(fmt).suffix
    if output.is_dir() or output.suffix == "":
        return output / f"generator_{spec.direction}{suffix}"
    return output


def export_generator(net: Generator, spec: GeneratorSpec, output: Path, fmt: str, verify: bool = True) -> ExportReport:
    """Export ``net`` (fp32, CPU, eval mode) as ``fmt`` to ``output``; see the module docstring."""
    exporter = EXPORT_FORMATS.get(fmt)
    path = output_path(output, fmt, spec)
    # A generator that is not a fixed feed-forward graph (e.g. one that optimises at run time)
    # declares why it cannot be exported (``export_unsupported`` on its class, None by default).
    reason = net.export_unsupported
    if reason:
        raise ExportError(f"{spec.architecture}: cannot be exported: {reason}")
    net = net.float().cpu().eval()
    report = ExportReport(path, fmt)
    with atomic_path(path) as tmp:
        try:
            exporter.export(net, spec, tmp)
        except ExportError:
            raise
        except Exception as exc:  # exporter internals: one line naming the model and the failure
            text = re.sub(r"\x1b\[[0-9;]*m", "", str(exc)).strip()  # the exporter colours its messages
            first = (text.splitlines() or [type(exc).__name__])[0][:300]
            raise ExportError(f"{spec.architecture}: {fmt} export failed ({first})") from None
        if verify:
            exporter.verify(tmp, net, spec, report)
        else:
            report.verified_with = "not verified (--no-verify)"
    return report
