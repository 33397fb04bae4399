"""A PyTorch twin of :class:`segxai_jax.models.unet.UNet`, for peer benchmarks.

The twin computes the same function as the Flax model when it carries the same
weights (:func:`load_flax_params`): the same stages and convolutions, ``SAME``
padding, 2x2 max-pool, up-sampling as a 1x1 convolution to ``4 * C`` channels
followed by depth-to-space, optional per-image input standardisation, optional
GroupNorm, optional bottleneck head (nearest-neighbour up-sampled class scores
added to the logits), ReLU or softplus. Tensors are NCHW (``[B, C, H, W]``);
memory format is left to the caller (``model.to(memory_format=
torch.channels_last)`` is the fastest layout for torch on CPU).

Layout facts used by the weight copy:

* Flax ``Conv`` kernels are ``[kh, kw, in, out]`` (HWIO); torch's are
  ``[out, in, kh, kw]`` (OIHW). Both compute a cross-correlation, so the copy is
  a transpose, no flip.
* The Flax depth-to-space orders up-sampling channels as
  ``(dy * 2 + dx) * C + c``; ``torch.nn.PixelShuffle`` reads ``c * 4 + dy * 2 +
  dx``. The copy permutes the output channels of every ``dec*_up`` kernel so
  that the twin can use the fast native ``pixel_shuffle``.

Every stage is its own module (``model.stages[name]``, names as
:attr:`UNetConfig.probe_names`), whose output is the probe point of the Flax
model: hook it (e.g. pytorch-grad-cam's ``target_layers=[model.stages[
"bottleneck"]]``) to read the same activations.

Only torch is needed to build and run the twin; :func:`load_flax_params` takes
the Flax params as a nested mapping of array-likes (NumPy or JAX arrays).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

INPUT_NORM_EPS = 0.05  # segxai_jax.models.unet._INPUT_NORM_EPS
MIN_VARIANCE = 1e-12  # segxai_jax.models.unet._MIN_VARIANCE
FLAX_GROUP_NORM_EPS = 1e-6  # flax.linen.GroupNorm's default epsilon
POOLS = ("reshape", "max_pool2d")


class Activation(nn.Module):
    """ReLU, or ``softplus(beta z) / beta`` as in ``softplus_with_beta``."""

    def __init__(self, kind: str, beta: float):
        super().__init__()
        self.kind, self.beta = kind, float(beta)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        if self.kind == "softplus":
            # torch's threshold (linear above beta * z > 20) differs from
            # log1p(exp) by < 3e-9 there; a large threshold keeps it exact.
            return F.softplus(z, beta=self.beta, threshold=1e4)
        return F.relu(z)


class Stage(nn.Module):
    """``blocks`` x (conv k x k SAME -> optional GroupNorm -> activation)."""

    def __init__(self, in_ch, width, blocks, kernel_size, norm, group_size, act):
        super().__init__()
        self.convs = nn.ModuleList()
        self.norms = nn.ModuleList()
        for j in range(blocks):
            self.convs.append(
                nn.Conv2d(
                    in_ch if j == 0 else width,
                    width,
                    kernel_size,
                    padding=kernel_size // 2,
                )
            )
            if norm == "group":
                self.norms.append(
                    nn.GroupNorm(width // group_size, width, eps=FLAX_GROUP_NORM_EPS)
                )
        self.act = act

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        for j, conv in enumerate(self.convs):
            h = conv(h)
            if len(self.norms):
                h = self.norms[j](h)
            h = self.act(h)
        return h


def max_pool_2x2(x: torch.Tensor, pool: str = "reshape") -> torch.Tensor:
    """2x2 max-pool, stride 2, on ``[B, C, H, W]``.

    ``"reshape"`` (reshape + ``amax``) mirrors the Flax model exactly, gradient
    included: at ties ``amax`` splits the gradient evenly, as JAX's ``max``
    does. ``"max_pool2d"`` gives the same values and sends the gradient to one
    element of a tie (only differs where a window holds equal values).
    """
    if pool == "max_pool2d":
        return F.max_pool2d(x, 2)
    b, c, h, w = x.shape
    return x.reshape(b, c, h // 2, 2, w // 2, 2).amax(dim=(3, 5))


class TorchUNet(nn.Module):
    """NCHW twin of ``segxai_jax.models.unet.UNet``: ``[B, C, H, W] -> [B, K, H, W]``.

    Args:
      config: a ``segxai_jax.models.unet.UNetConfig`` (or any object with the
        same attributes and properties).
      pool: ``"reshape"`` (exact mirror) or ``"max_pool2d"``; see
        :func:`max_pool_2x2`.
    """

    def __init__(self, config, *, pool: str = "reshape"):
        super().__init__()
        if config.activation not in ("relu", "softplus"):
            raise ValueError(f"activation: unsupported {config.activation!r}")
        if pool not in POOLS:
            raise ValueError(f"pool: expected one of {POOLS}, got {pool!r}")
        self.config, self.pool = config, pool
        depth = config.depth
        names = tuple(config.probe_names)
        widths = tuple(config.stage_widths)
        blocks = tuple(config.stage_blocks)
        kernels = tuple(config.stage_kernels)
        act = Activation(config.activation, config.softplus_beta)
        self.stages = nn.ModuleDict()
        self.ups = nn.ModuleDict()
        in_ch = config.in_channels
        for s, name in enumerate(names):
            if s > depth:  # decoder: up-sampled deeper features + skip
                self.ups[name] = nn.Conv2d(widths[s - 1], 4 * widths[s], 1)
                in_ch = widths[s] + widths[2 * depth - s]
            self.stages[name] = Stage(
                in_ch,
                widths[s],
                blocks[s],
                kernels[s],
                config.norm,
                config.group_size,
                act,
            )
            in_ch = widths[s]
        self.head = nn.Conv2d(widths[-1], config.num_classes, 1)
        self.bottleneck_head = (
            nn.Conv2d(config.widths[-1], config.num_classes, 1)
            if config.bottleneck_head
            else None
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        cfg = self.config
        depth = cfg.depth
        names = tuple(cfg.probe_names)
        if cfg.input_norm == "per_image":
            mean = x.mean(dim=(2, 3), keepdim=True)
            # As segxai_jax.models.unet.standardize_per_image: a finite
            # gradient for constant channels.
            var = x.var(dim=(2, 3), keepdim=True, correction=0)
            std = var.clamp_min(MIN_VARIANCE).sqrt()
            x = (x - mean) / (std + INPUT_NORM_EPS)
        h, skips = x, []
        for s in range(depth):
            h = self.stages[names[s]](h)
            skips.append(h)
            h = max_pool_2x2(h, self.pool)
        h = self.stages[names[depth]](h)
        coarse = self.bottleneck_head(h) if self.bottleneck_head is not None else None
        for s in range(depth + 1, len(names)):
            up = F.pixel_shuffle(self.ups[names[s]](h), 2)
            h = self.stages[names[s]](torch.cat([up, skips.pop()], dim=1))
        logits = self.head(h)
        if coarse is not None:
            factor = 2**depth
            coarse = coarse.repeat_interleave(factor, dim=2)
            logits = logits + coarse.repeat_interleave(factor, dim=3)
        return logits


def _np(value) -> np.ndarray:
    return np.asarray(value, dtype=np.float32)


def _conv_weight(kernel, *, pixel_shuffle: bool = False) -> torch.Tensor:
    k = _np(kernel)  # [kh, kw, in, out]
    if pixel_shuffle:  # out index (dy*2+dx)*C + c  ->  c*4 + dy*2+dx
        kh, kw, cin, c4 = k.shape
        k = k.reshape(kh, kw, cin, 4, c4 // 4).transpose(0, 1, 2, 4, 3)
        k = k.reshape(kh, kw, cin, c4)
    return torch.from_numpy(np.ascontiguousarray(k.transpose(3, 2, 0, 1)))


def _conv_bias(bias, *, pixel_shuffle: bool = False) -> torch.Tensor:
    b = _np(bias)
    if pixel_shuffle:
        b = b.reshape(4, -1).T.reshape(-1)
    return torch.from_numpy(np.ascontiguousarray(b))


def flax_to_state_dict(params: Mapping, config) -> dict[str, torch.Tensor]:
    """Maps Flax ``UNet`` params to a :class:`TorchUNet` state dict.

    Raises:
      KeyError: a Flax parameter is missing (wrong config for these params).
      ValueError: Flax params left unused (wrong config for these params).
    """
    depth = config.depth
    names = tuple(config.probe_names)
    blocks = tuple(config.stage_blocks)
    state: dict[str, torch.Tensor] = {}
    used = set()

    def conv(flax_name, prefix, pixel_shuffle=False):
        p = params[flax_name]
        state[f"{prefix}.weight"] = _conv_weight(
            p["kernel"], pixel_shuffle=pixel_shuffle
        )
        state[f"{prefix}.bias"] = _conv_bias(p["bias"], pixel_shuffle=pixel_shuffle)
        used.add(flax_name)

    for s, name in enumerate(names):
        if s > depth:
            conv(f"{name}_up", f"ups.{name}", pixel_shuffle=True)
        for j in range(blocks[s]):
            conv(f"{name}_conv{j}", f"stages.{name}.convs.{j}")
            if config.norm == "group":
                p = params[f"{name}_norm{j}"]
                state[f"stages.{name}.norms.{j}.weight"] = torch.from_numpy(
                    _np(p["scale"])
                )
                state[f"stages.{name}.norms.{j}.bias"] = torch.from_numpy(
                    _np(p["bias"])
                )
                used.add(f"{name}_norm{j}")
    conv("head", "head")
    if config.bottleneck_head:
        conv("bottleneck_head", "bottleneck_head")
    unused = set(params) - used
    if unused:
        raise ValueError(f"params: not used by this config: {sorted(unused)}")
    return state


def load_flax_params(model: TorchUNet, params: Mapping) -> TorchUNet:
    """Copies Flax ``UNet`` params into ``model`` (strict); returns ``model``."""
    model.load_state_dict(flax_to_state_dict(params, model.config), strict=True)
    return model


def nhwc_to_nchw(x) -> torch.Tensor:
    """``[B, H, W, C]`` array-like -> contiguous float32 ``[B, C, H, W]`` tensor."""
    return torch.from_numpy(np.ascontiguousarray(_np(x).transpose(0, 3, 1, 2)))


def logit_parity(model_fn, params, torch_model: TorchUNet, x_nhwc) -> float:
    """Max abs difference of logits, Flax vs torch, on the same NHWC batch.

    Args:
      model_fn: ``model_fn(params, x[B, H, W, C]) -> logits[B, H, W, K]`` (e.g.
        ``lambda p, x: model.apply({"params": p}, x)``).
      params: the Flax params loaded into ``torch_model``.
      torch_model: the twin.
      x_nhwc: input batch ``[B, H, W, C]``.
    """
    ours = np.asarray(model_fn(params, x_nhwc), np.float32)
    with torch.no_grad():
        theirs = torch_model(nhwc_to_nchw(x_nhwc)).numpy().transpose(0, 2, 3, 1)
    return float(np.max(np.abs(ours - theirs)))
