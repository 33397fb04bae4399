"""Analytic parameter and FLOP counts of a :class:`~segxai_jax.models.UNetConfig`.

FLOPs follow the usual convention: 2 x the multiply-accumulates of every
convolution (bias additions, activations and pooling are not counted). The tests
check both counts exactly against the parameter tree and the traced program.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

from segxai_jax import validation
from segxai_jax.models.unet import UNetConfig


@dataclasses.dataclass(frozen=True)
class ConvSpec:
    """One convolution: input/output channels, kernel size and output resolution."""

    name: str
    in_channels: int
    out_channels: int
    kernel_size: int
    downsample: int  # output resolution = input resolution / downsample

    @property
    def num_params(self) -> int:
        return self.kernel_size**2 * self.in_channels * self.out_channels + (
            self.out_channels
        )

    def flops(self, height: int, width: int) -> int:
        out_pixels = (height // self.downsample) * (width // self.downsample)
        macs = out_pixels * self.kernel_size**2 * self.in_channels * self.out_channels
        return 2 * macs


def conv_specs(config: UNetConfig) -> Iterator[ConvSpec]:
    """Every convolution of the network in forward order."""
    names, widths, blocks = (
        config.probe_names,
        config.stage_widths,
        config.stage_blocks,
    )
    kernels, depth = config.stage_kernels, config.depth
    channels = config.in_channels
    for s, name in enumerate(names):
        level = s if s <= depth else 2 * depth - s
        if s > depth:
            # 1x1 up-projection at the coarser level, then concatenation with
            # the skip connection of the same width.
            yield ConvSpec(f"{name}_up", channels, 4 * widths[s], 1, 2 ** (level + 1))
            channels = 2 * widths[s]
        for j in range(blocks[s]):
            yield ConvSpec(f"{name}_conv{j}", channels, widths[s], kernels[s], 2**level)
            channels = widths[s]
    yield ConvSpec("head", channels, config.num_classes, 1, 1)
    if config.bottleneck_head:
        yield ConvSpec(
            "bottleneck_head",
            config.widths[-1],
            config.num_classes,
            1,
            2**depth,
        )


def count_params(config: UNetConfig) -> int:
    """Number of trainable parameters of a :class:`UNet` with this config."""
    total = sum(spec.num_params for spec in conv_specs(config))
    if config.norm == "group":  # a scale and a bias per stage-convolution output
        total += sum(
            2 * width * blocks
            for width, blocks in zip(
                config.stage_widths, config.stage_blocks, strict=True
            )
        )
    return total


def count_flops(
    config: UNetConfig, *, height: int = 64, width: int | None = None
) -> int:
    """Forward FLOPs (2 x conv multiply-accumulates) per ``height x width`` image."""
    validation.check_instance(config, "config", UNetConfig)
    height = validation.check_int(height, "height", minimum=1)
    width = height if width is None else validation.check_int(width, "width", minimum=1)
    return sum(spec.flops(height, width) for spec in conv_specs(config))
