"""Measuring translation quality: PSNR, SSIM, LPIPS, FID, KID and cycle PSNR.

``translate eval`` (translate/commands/eval.py), evaluation during training (``eval_every``,
see ``training.py``) and ``tools/bench_quality.py`` all go through ``evaluate_folders`` /
``evaluate_generators``. The metrics live in one registry (``METRICS``); feature networks are
read from local files only (``features.py``). See docs/eval.md.
"""
from translate.eval.evaluate import (DEFAULT_METRICS, EvalOptions, default_json_path, evaluate_checkpoint,
                                     evaluate_folders, evaluate_generators)
from translate.eval.features import FeatureNets, MissingWeightsError, WeightPaths, WeightsFileError
from translate.eval.metrics import METRICS, PSNR_CAP_DB, MetricUnavailable
from translate.eval.report import EvalReport, MetricValue
from translate.eval.sources import PairingError

__all__ = [
    "DEFAULT_METRICS", "EvalOptions", "EvalReport", "FeatureNets", "METRICS", "MetricUnavailable", "MetricValue",
    "MissingWeightsError", "PSNR_CAP_DB", "PairingError", "WeightPaths", "WeightsFileError", "default_json_path",
    "evaluate_checkpoint", "evaluate_folders", "evaluate_generators",
]
