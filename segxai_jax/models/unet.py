"""A configurable U-Net whose every stage is a probe point.

The network follows Ronneberger et al. (2015) with three choices that serve
explanation work:

* every stage output (encoder stages, bottleneck, decoder stages) passes through
  ``Module.perturb``, so activations can be read and replaced from outside the
  model (see :mod:`segxai_jax.probes`) without editing it;
* the activation is swappable at call time: ``softplus_beta`` replaces ReLU by
  ``softplus_beta(z) = log(1 + exp(beta z)) / beta``, whose second derivative is
  non-zero (attacks on gradient explanations need it);
* no normalisation by default (optional GroupNorm, per image, never batch
  statistics), so apply functions stay pure functions of ``(params, x)``.

Down-sampling is a 2x2 max-pool written as reshape + max (identical to
``reduce_window`` and cheaper to differentiate on CPU); up-sampling is a 2x2,
stride-2 transposed convolution written as a 1x1 convolution to ``4 * C``
channels followed by a depth-to-space shuffle, which is the same linear map
without the zero-dilated FLOPs a generic transposed convolution spends.

References:
  Ronneberger, Fischer, Brox. U-Net: Convolutional networks for biomedical image
  segmentation. MICCAI 2015.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from segxai_jax import validation

ACTIVATIONS = ("relu", "softplus")
NORMS = ("group", "none")
INPUT_NORMS = ("none", "per_image")
_INPUT_NORM_EPS = 0.05  # keeps flat images (std ~ 0) finite
_MIN_VARIANCE = 1e-12  # below it the std is constant: no 0/0 in its gradient


def standardize_per_image(x: jax.Array) -> jax.Array:
    """``(x - mean) / (std + 0.05)`` per image and channel of ``x [B, H, W, C]``.

    The standard deviation is ``sqrt(max(var, 1e-12))``: the same value as
    ``x.std()`` for any image with some contrast, and a finite gradient for a
    channel that is constant (``d sqrt(var)`` is ``0 / 0`` there; a plain
    ``x.std()`` turns every input gradient of such an image into NaN).
    """
    mean = x.mean(axis=(1, 2), keepdims=True)
    var = x.var(axis=(1, 2), keepdims=True)
    std = jnp.sqrt(jnp.maximum(var, _MIN_VARIANCE))
    return (x - mean) / (std + _INPUT_NORM_EPS)


@dataclasses.dataclass(frozen=True)
class UNetConfig:
    """Architecture of a :class:`UNet`.

    Attributes:
      num_classes: number of output classes K (logits are ``[..., K]``).
      widths: channels per level, encoder level 0 first; the last entry is the
        bottleneck. ``len(widths) - 1`` is the depth (number of 2x poolings), so
        the input height and width must be divisible by ``2 ** depth``.
      blocks_per_stage: convolutions per stage, one int for every stage or a
        sequence of ``2 * depth + 1`` ints (encoder stages, bottleneck, decoder
        stages from deepest to shallowest).
      kernel_size: spatial size of the stage convolutions (odd): one int for
        every stage or a sequence of ``2 * depth + 1`` ints in the order of
        ``blocks_per_stage`` (the students of :mod:`segxai_jax.nas` choose a
        kernel per stage).
      activation: ``"relu"`` or ``"softplus"``.
      softplus_beta: temperature of the softplus activation (larger = closer
        to ReLU); used when ``activation == "softplus"``.
      in_channels: channels of the input image.
      norm: ``"none"`` or ``"group"`` (GroupNorm after every stage
        convolution, groups of ``group_size`` channels). Group statistics are
        per image, so the apply function stays a pure per-image function. On
        TextureDigits the 11-class models trained faster without it.
      group_size: channels per normalisation group; divides every width.
      input_norm: ``"none"`` or ``"per_image"``: standardise each image's
        channels, ``(x - mean) / (std + 0.05)`` over its pixels, inside the
        model (so explainers see the raw [0, 1] input). Removes brightness and
        contrast offsets; on TextureDigits it shortens the early plateau of
        training. The model is then nearly invariant to scaling the image,
        which integrated gradients from a constant baseline integrate poorly.
      bottleneck_head: add class scores computed from the bottleneck (a 1x1
        conv), up-sampled by nearest neighbour, to the output logits, as the
        coarse scoring layer of FCN (Long et al., CVPR 2015). Gives the deep
        path a direct gradient from the loss: on TextureDigits the digit
        classes are learned several times faster.
    """

    num_classes: int = 11
    widths: tuple[int, ...] = (16, 32, 64, 128)
    blocks_per_stage: int | tuple[int, ...] = 2
    kernel_size: int | tuple[int, ...] = 3
    activation: str = "relu"
    softplus_beta: float = 10.0
    in_channels: int = 3
    norm: str = "none"
    group_size: int = 4
    input_norm: str = "none"
    bottleneck_head: bool = False

    def __post_init__(self):
        check = validation
        check.check_int(self.num_classes, "num_classes", minimum=2)
        widths = check.check_int_sequence(self.widths, "widths", minimum=1)
        if len(widths) < 2:
            raise ValueError(
                "widths: expected at least 2 positive channel counts (one level and "
                f"the bottleneck), got {self.widths}"
            )
        object.__setattr__(self, "widths", widths)
        for name in ("blocks_per_stage", "kernel_size"):
            value = getattr(self, name)
            if isinstance(value, int | np.integer) and not isinstance(value, bool):
                check.check_int(value, name, minimum=1)
                object.__setattr__(self, name, int(value))
            else:
                object.__setattr__(
                    self,
                    name,
                    check.check_int_sequence(
                        value, name, length=self.num_stages, minimum=1
                    ),
                )
        if any(k % 2 == 0 for k in self.stage_kernels):
            raise ValueError(
                "kernel_size: expected a positive odd int or "
                f"{self.num_stages} positive odd ints, got {self.kernel_size}"
            )
        check.check_choice(self.activation, "activation", ACTIVATIONS)
        check.check_real(
            self.softplus_beta, "softplus_beta", minimum=0.0, exclusive_minimum=True
        )
        check.check_int(self.in_channels, "in_channels", minimum=1)
        check.check_choice(self.norm, "norm", NORMS)
        check.check_int(self.group_size, "group_size", minimum=1)
        if self.norm == "group" and any(w % self.group_size for w in self.widths):
            raise ValueError(
                f"widths: with norm='group' every width must be a multiple of "
                f"group_size={self.group_size}, got {self.widths}"
            )
        check.check_choice(self.input_norm, "input_norm", INPUT_NORMS)
        check.check_bool(self.bottleneck_head, "bottleneck_head")

    @property
    def depth(self) -> int:
        """Number of 2x down-sampling steps."""
        return len(self.widths) - 1

    @property
    def num_stages(self) -> int:
        return 2 * self.depth + 1

    @property
    def stage_blocks(self) -> tuple[int, ...]:
        if isinstance(self.blocks_per_stage, int):
            return (self.blocks_per_stage,) * self.num_stages
        return tuple(self.blocks_per_stage)

    @property
    def stage_kernels(self) -> tuple[int, ...]:
        if isinstance(self.kernel_size, int):
            return (self.kernel_size,) * self.num_stages
        return tuple(self.kernel_size)

    @property
    def probe_names(self) -> tuple[str, ...]:
        """Probe points in forward order: ``enc0.., bottleneck, dec{depth-1}..dec0``."""
        enc = tuple(f"enc{i}" for i in range(self.depth))
        dec = tuple(f"dec{i}" for i in reversed(range(self.depth)))
        return (*enc, "bottleneck", *dec)

    @property
    def stage_widths(self) -> tuple[int, ...]:
        """Output channels of each stage, in :attr:`probe_names` order."""
        enc = self.widths[: self.depth]
        dec = tuple(reversed(self.widths[: self.depth]))
        return (*enc, self.widths[-1], *dec)


def softplus_with_beta(z: jax.Array, beta: jax.Array | float) -> jax.Array:
    """``log(1 + exp(beta z)) / beta``: a smooth ReLU that tends to it as beta grows."""
    return jax.nn.softplus(beta * z) / beta


def max_pool_2x2(x: jax.Array) -> jax.Array:
    """2x2 max-pool with stride 2 on ``[B, H, W, C]`` (H and W even)."""
    b, h, w, c = x.shape
    return x.reshape(b, h // 2, 2, w // 2, 2, c).max(axis=(2, 4))


def depth_to_space_2x2(x: jax.Array) -> jax.Array:
    """``[B, H, W, 4C] -> [B, 2H, 2W, C]``; channel index = (dy * 2 + dx) * C + c."""
    b, h, w, c4 = x.shape
    c = c4 // 4
    x = x.reshape(b, h, w, 2, 2, c)
    return x.transpose(0, 1, 3, 2, 4, 5).reshape(b, 2 * h, 2 * w, c)


_KERNEL_INIT = nn.initializers.variance_scaling(2.0, "fan_in", "truncated_normal")


class UNet(nn.Module):
    """U-Net for semantic segmentation, batched: ``[B, H, W, C] -> [B, H, W, K]``.

    Parameter names: ``{stage}_conv{j}`` for the j-th convolution of a stage,
    ``{stage}_norm{j}`` for its GroupNorm, ``dec{i}_up`` for the up-sampling
    into decoder stage i, ``head`` for the final 1x1 convolution,
    ``bottleneck_head`` for the optional coarse scores. Probe points are
    :attr:`UNetConfig.probe_names`.

    Attributes:
      config: the architecture.
    """

    config: UNetConfig

    def _activate(self, z: jax.Array, softplus_beta) -> jax.Array:
        if softplus_beta is not None:
            return softplus_with_beta(z, softplus_beta)
        if self.config.activation == "softplus":
            return softplus_with_beta(z, self.config.softplus_beta)
        return nn.relu(z)

    def _stage(self, name, h, width: int, blocks: int, k: int, beta):
        for j in range(blocks):
            conv = nn.Conv(
                width,
                (k, k),
                padding="SAME",
                kernel_init=_KERNEL_INIT,
                name=f"{name}_conv{j}",
            )
            h = conv(h)
            if self.config.norm == "group":
                h = nn.GroupNorm(
                    num_groups=None,
                    group_size=self.config.group_size,
                    name=f"{name}_norm{j}",
                )(h)
            h = self._activate(h, beta)
        return self.perturb(name, h)

    @nn.compact
    def __call__(
        self, x: jax.Array, *, softplus_beta: jax.Array | float | None = None
    ) -> jax.Array:
        """Pre-softmax logits.

        Args:
          x: images ``[B, H, W, in_channels]``; H and W divisible by
            ``2 ** depth``.
          softplus_beta: if given, every activation is ``softplus_with_beta``
            with this (possibly traced) temperature instead of the configured
            one: lets an attack anneal beta without recompiling.

        Returns:
          Logits ``[B, H, W, num_classes]``.
        """
        cfg = self.config
        if x.ndim != 4 or x.shape[-1] != cfg.in_channels:
            raise ValueError(
                f"x: expected images [B, H, W, {cfg.in_channels}], got shape {x.shape}"
            )
        factor = 2**cfg.depth
        if x.shape[1] % factor or x.shape[2] % factor:
            raise ValueError(
                f"x: height and width must be divisible by 2**depth = {factor}, got "
                f"{x.shape[1]}x{x.shape[2]}"
            )
        names, widths, blocks = cfg.probe_names, cfg.stage_widths, cfg.stage_blocks
        kernels = cfg.stage_kernels
        if cfg.input_norm == "per_image":
            x = standardize_per_image(x)
        h, skips = x, []
        for s in range(cfg.depth):
            h = self._stage(
                names[s], h, widths[s], blocks[s], kernels[s], softplus_beta
            )
            skips.append(h)
            h = max_pool_2x2(h)
        s = cfg.depth
        h = self._stage(names[s], h, widths[s], blocks[s], kernels[s], softplus_beta)
        coarse = None
        if cfg.bottleneck_head:
            coarse = nn.Conv(cfg.num_classes, (1, 1), name="bottleneck_head")(h)
        for s in range(cfg.depth + 1, cfg.num_stages):
            skip = skips.pop()
            up = nn.Conv(
                4 * widths[s], (1, 1), kernel_init=_KERNEL_INIT, name=f"{names[s]}_up"
            )
            h = jnp.concatenate([depth_to_space_2x2(up(h)), skip], axis=-1)
            h = self._stage(
                names[s], h, widths[s], blocks[s], kernels[s], softplus_beta
            )
        logits = nn.Conv(cfg.num_classes, (1, 1), name="head")(h)
        if coarse is not None:
            logits = logits + jnp.repeat(
                jnp.repeat(coarse, factor, axis=1), factor, axis=2
            )
        return logits


def init_unet(
    key: jax.Array, config: UNetConfig, *, image_size: int | Sequence[int] = 64
):
    """Initialises a :class:`UNet`; returns ``(model, params)``.

    Args:
      key: PRNG key.
      config: the architecture.
      image_size: input height and width used to trace shapes (the parameters do
        not depend on it).
    """
    validation.check_instance(config, "config", UNetConfig)
    if isinstance(image_size, int | np.integer) and not isinstance(image_size, bool):
        image_size = (image_size, image_size)
    hw = validation.check_int_sequence(image_size, "image_size", length=2, minimum=1)
    factor = 2**config.depth
    if hw[0] % factor or hw[1] % factor:
        raise ValueError(
            f"image_size: height and width must be divisible by 2**depth = "
            f"{factor}, got {hw[0]}x{hw[1]}"
        )
    validation.check_key(key)
    model = UNet(config)
    x = jnp.zeros((1, *hw, config.in_channels), jnp.float32)
    params = jax.jit(model.init)(key, x)["params"]
    return model, params


def unet_apply_fn(model: UNet, *, softplus_beta: float | None = None):
    """The library's single-image apply function for a :class:`UNet`.

    Returns:
      ``apply_fn(params, x) -> logits`` with ``x: [H, W, C]`` and
      ``logits: [H, W, K]``, the contract every explainer and metric expects.
    """

    validation.check_instance(model, "model", nn.Module, "a Flax Linen model")
    if softplus_beta is not None and not hasattr(softplus_beta, "dtype"):
        # A Python number is checked; arrays may be traced (attacks anneal it).
        validation.check_real(
            softplus_beta, "softplus_beta", minimum=0.0, exclusive_minimum=True
        )

    def apply_fn(params, x):
        if getattr(x, "ndim", None) != 3:
            raise ValueError(
                f"x: expected one image [H, W, C], got shape {getattr(x, 'shape', x)}"
            )
        with validation.params_errors(model):
            logits = model.apply(
                {"params": params}, x[None], softplus_beta=softplus_beta
            )
        return logits[0]

    return apply_fn
