"""One comparison's metrics: routes pairs to pair metrics and images to set metrics' features.

A ``MetricSuite`` holds fresh metric objects for one comparison (two folders, or one direction
of a checkpoint). Pair metrics get (output, target) pairs; set metrics get the feature-network
features of every output ("fake") and of every real target-domain image, extracted once per
image and shared by all set metrics on the same network (FID and KID both use Inception).
Images of the same size are batched through the feature network.
"""
from __future__ import annotations

import math
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from torch import Tensor

from translate.eval.features import FeatureNets, MissingWeightsError, WeightsFileError
from translate.eval.metrics import METRICS, MetricUnavailable, PairMetric, SetMetric
from translate.eval.report import MetricValue


def to_batch(image: np.ndarray, device: torch.device) -> Tensor:
    """uint8 HxWx{1,3} -> uint8 1x3xHxW (grey repeated: every metric is defined on RGB)."""
    if image.shape[2] == 1:
        image = np.repeat(image, 3, axis=2)
    return torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1)))[None].to(device)


class MetricSuite:
    def __init__(self, names: Sequence[str], features: FeatureNets, skipped: Dict[str, str],
                 on_error: Callable[[str, str], None], batch_size: int = 8):
        """Build each metric; one whose feature network is unavailable goes to ``skipped``."""
        self.features, self.on_error, self.batch_size = features, on_error, max(1, batch_size)
        self.metrics: Dict[str, object] = {}  # in the order asked for: the table keeps it
        for name in names:
            try:
                self.metrics[name] = METRICS.build(name, features=features)
            except (MissingWeightsError, WeightsFileError) as exc:
                skipped[name] = str(exc)
        self.pair_metrics: Dict[str, PairMetric] = {
            n: m for n, m in self.metrics.items() if isinstance(m, PairMetric)}
        self.set_metrics: Dict[str, SetMetric] = {
            n: m for n, m in self.metrics.items() if isinstance(m, SetMetric)}
        self._pending: Dict[bool, List[Tuple[Tensor, Optional[str]]]] = {True: [], False: []}


    def streams(self) -> set:
        return {m.stream for m in self.pair_metrics.values()}

    def add_pair(self, name: str, pred: np.ndarray, target: np.ndarray, stream: str = "translation") -> None:
        """Score one (output, target) pair with the pair metrics of ``stream``."""
        p, t = to_batch(pred, self.features.device), to_batch(target, self.features.device)
        for metric_name, metric in self.pair_metrics.items():
            if metric.stream != stream:
                continue
            try:
                metric.update(p, t)
            except MetricUnavailable as exc:
                self.on_error(name, f"{metric_name}: {exc}")

    # --- set metrics ---------------------------------------------------------------------------

    def cached_real(self, key: str) -> bool:
        """True (and the features used) when a real image's features are known from an earlier
        evaluation with the same feature networks: training evaluates the same split repeatedly."""
        if not self.set_metrics:
            return True
        cached = {net: self.features.real_cache.get((net, key)) for net in self._networks()}
        if any(f is None for f in cached.values()):
            return False
        for metric in self.set_metrics.values():
            metric.update(cached[metric.network], real=True)
        return True

    def add_image(self, image: np.ndarray, real: bool, key: Optional[str] = None) -> None:
        """Queue an output (``real=False``) or a real target-domain image for the set metrics."""
        if not self.set_metrics:
            return
        pending = self._pending[real]
        x = to_batch(image, self.features.device)
        if pending and (pending[0][0].shape != x.shape or len(pending) >= self.batch_size):
            self._flush(real)
        pending.append((x, key))

    def _networks(self) -> List[str]:
        return sorted({m.network for m in self.set_metrics.values()})

    @torch.no_grad()
    def _flush(self, real: bool) -> None:
        pending = self._pending[real]
        if not pending:
            return
        batch = torch.cat([x for x, _ in pending])
        for net_name in self._networks():
            feats = self.features.get(net_name)(batch).float()
            for metric in self.set_metrics.values():
                if metric.network == net_name:
                    metric.update(feats, real=real)
            if real:
                for (_, key), row in zip(pending, feats.cpu()):
                    if key is not None:
                        self.features.real_cache[(net_name, key)] = row[None]
        pending.clear()

    # --- results -------------------------------------------------------------------------------

    def results(self, direction: Optional[str], skipped: Dict[str, str]) -> List[MetricValue]:
        self._flush(True)
        self._flush(False)
        values = []
        label = (lambda n: f"{n}_{direction}") if direction else (lambda n: n)
        for name, metric in self.metrics.items():
            try:
                out = metric.compute()
            except MetricUnavailable as exc:
                skipped[label(name)] = str(exc)
                continue
            if not math.isfinite(out["value"]):  # e.g. a degenerate covariance: say so, keep JSON valid
                skipped[label(name)] = f"not a finite number ({out['value']}) for these {metric.images} images"
                continue
            values.append(MetricValue(name, out["value"], metric.images, metric.higher_is_better,
                                      direction, out.get("std")))
        return values
