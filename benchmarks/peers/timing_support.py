"""Pieces of the timing driver (``timing.py``): the handle of a worker
process, and the checks of the options and of the environment."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def missing_peers() -> str | None:
    """The name of the first missing peer package, or ``None``."""
    import importlib.util

    for name in ("torch", "captum", "pytorch_grad_cam"):
        if importlib.util.find_spec(name) is None:
            return name
    return None


def dist_version(name: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return "unknown"


def gpu_fallbacks() -> list[str]:
    """Why a ``--device cuda`` run would not be a GPU comparison (empty: it is)."""
    import jax
    import torch

    reasons = []
    if jax.default_backend() != "gpu":
        reasons.append(
            f"ours (jax {jax.__version__}) would run on {jax.default_backend()!r}: "
            "install jax with CUDA (GPU.md)"
        )
    if not torch.cuda.is_available():
        reasons.append(
            f"the peers (torch {torch.__version__}) would run on the CPU: "
            "torch.cuda.is_available() is False"
        )
    return reasons


def parse_cases(text: str, parser) -> list[tuple[int, int]]:
    """``"8x64,16x256"`` -> ``[(8, 64), (16, 256)]``; errors name ``--cases``."""
    cases = []
    for item in text.split(","):
        parts = item.strip().lower().split("x")
        if len(parts) != 2 or not all(p.isdigit() and int(p) > 0 for p in parts):
            parser.error(
                f"--cases: expected BATCHxSIDE items such as 8x64,16x256, got {item!r}"
            )
        cases.append((int(parts[0]), int(parts[1])))
    return cases


class Worker:
    """One side (``"ours"`` or ``"peer"``) in its own process (``timing_workers``)."""

    def __init__(self, side: str, args: list[str]):
        script = os.path.join(HERE, "timing_workers.py")
        self.side = side
        self.proc = subprocess.Popen(
            [sys.executable, script, side, *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "TQDM_DISABLE": "1"},
        )
        self.info = self._read()  # {"ready": true, ...}: the side is built

    def _read(self) -> dict:
        for line in self.proc.stdout:
            if line.startswith("@@"):
                return json.loads(line[2:])
        code = self.proc.wait()
        self.close()
        raise RuntimeError(f"the {self.side} timing worker exited with status {code}")

    def request(self, **msg) -> dict:
        self.proc.stdin.write(json.dumps(msg) + "\n")
        self.proc.stdin.flush()
        return self._read()

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write(json.dumps({"cmd": "quit"}) + "\n")
                self.proc.stdin.flush()
                self.proc.wait(timeout=60)
            except (BrokenPipeError, subprocess.TimeoutExpired):
                self.proc.kill()
        for stream in (self.proc.stdin, self.proc.stdout):
            with contextlib.suppress(BrokenPipeError):
                stream.close()
