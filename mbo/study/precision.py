"""Reduced-precision arithmetic for the fit and optimize stages of a study.

``precision_context(precision, device)`` wraps a block of torch code:

- ``"fp32"``: nothing changes (the default, and the reference for comparisons).
- ``"tf32"``: float32 matrix multiplies and convolutions on CUDA may use TF32 tensor cores
  (10-bit mantissa inputs, float32 accumulation) via ``torch.backends.cuda.matmul.allow_tf32``
  and ``torch.backends.cudnn.allow_tf32``; both flags are restored on exit. TF32 exists only
  on NVIDIA GPUs (Ampere and later), so on CPU the context is an exact no-op: results equal
  ``"fp32"`` bit for bit.
- ``"bf16"``: ``torch.autocast(device.type, dtype=torch.bfloat16)``: autocast-eligible ops
  (linear layers, matmuls) run in bfloat16, parameters and optimizer state stay float32, and
  float64 work (the GP's linear algebra) is untouched. The cast cache is off, so weights
  updated inside the block (a training loop) are re-cast at every use. Works on CPU and CUDA;
  speed on CPU depends on native bfloat16 units (see ``benchmarks/results/perf-precision.md``).

What stays float32 regardless: the study's audit (predictions that are reported are
recomputed outside the context), losses that mix a bfloat16 prediction with float32 labels
(type promotion), and the optimizer's objective values (``SurrogateObjective`` returns float32).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch

PRECISIONS = ("fp32", "tf32", "bf16")


def check_precision(precision: str) -> str:
    """Return ``precision`` if it is one of ``PRECISIONS``, else raise ``ValueError``."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    return precision


def _get_tf32() -> tuple[bool, bool]:
    return bool(torch.backends.cuda.matmul.allow_tf32), bool(torch.backends.cudnn.allow_tf32)


def _set_tf32(matmul: bool, cudnn: bool) -> None:
    torch.backends.cuda.matmul.allow_tf32 = matmul
    torch.backends.cudnn.allow_tf32 = cudnn


@contextlib.contextmanager
def precision_context(precision: str, device: str | torch.device = "cpu") -> Iterator[None]:
    """Run the block at ``precision`` on ``device`` (see the module docstring); global state
    (TF32 flags, autocast) is restored on exit, also when the block raises."""
    check_precision(precision)
    dev = torch.device(device)
    if precision == "fp32" or (precision == "tf32" and dev.type != "cuda"):
        yield  # tf32 on CPU: no such arithmetic there, nothing to switch
        return
    if precision == "tf32":
        saved = _get_tf32()
        _set_tf32(True, True)
        try:
            yield
        finally:
            _set_tf32(*saved)
        return
    # cache_enabled=False: autocast caches its bf16 copies of parameters until the outermost
    # autocast block exits; around a whole training loop that would freeze the forward pass
    # at the initial weights while Adam keeps moving them (loss flat, weights drifting)
    with torch.autocast(device_type=dev.type, dtype=torch.bfloat16, cache_enabled=False):
        yield
