"""The search space of CAM-NAS students: U-Nets encoded as integer genomes.

A genome is a fixed-shape ``int32`` vector of choice indices, so a population
is one ``[P, G]`` array that ``jax.vmap`` and ``jax.sharding`` handle like any
batch. With ``D = max(depths)`` the layout is::

    [depth | width[0..D] | down_blocks[0..D] | down_kernel[0..D]
           | up_blocks[0..D-1] | up_kernel[0..D-1]]

* ``depth``: index into :attr:`SearchSpace.depths` (number of poolings ``d``).
* ``width[l]``: channels of level ``l`` (index into ``widths[l]``); encoder and
  decoder stages of a level share it, as in :class:`~segxai_jax.models.UNet`,
  and the stage at level ``d`` is the bottleneck.
* ``down_*[l]``: blocks and kernel of the stage at level ``l`` on the way down:
  encoder stage ``enc{l}`` for ``l < d``, the bottleneck for ``l == d``.
* ``up_*[l]``: blocks and kernel of decoder stage ``dec{l}`` (``l < d``).

Genes of levels the depth does not use are inert (they do not change the
network); :func:`active_genes` says which genes matter. A genome materialises
as a :class:`~segxai_jax.models.UNetConfig` (:meth:`SearchSpace.to_config`),
whose parameter and FLOP counts (:mod:`segxai_jax.models.counting`) equal the
vectorised :func:`genome_cost` exactly (FLOPs in units of ``2 * H * W / 4**D``
multiply-accumulates, so int32 never overflows for practical sizes).

References:
  Zhang, Wang, Joe. CAM-NAS: an efficient and interpretable neural
  architecture search model based on class activation mapping. Applied
  Sciences 13(17), 9686, 2023.
  Lin et al. Zen-NAS: a zero-shot NAS for high-performance image recognition.
  ICCV 2021.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from segxai_jax import validation
from segxai_jax.models import UNetConfig


def _int_tuple(values, name: str) -> tuple[int, ...]:
    values = validation.check_int_sequence(values, name, minimum=1)
    if len(set(values)) != len(values):
        raise ValueError(f"{name}: expected distinct positive ints, got {values}")
    return tuple(sorted(values))


@dataclasses.dataclass(frozen=True)
class SearchSpace:
    """U-Net students: per-level widths, per-stage blocks and kernels, depth.

    Attributes:
      num_classes: K of every student.
      depths: allowed numbers of 2x poolings (>= 1).
      widths: per level ``0..max(depths)``, the allowed channel counts.
      blocks: allowed convolutions per stage.
      kernels: allowed (odd) kernel sizes per stage.
      in_channels: image channels.
      input_norm: ``UNetConfig.input_norm`` of every student.
      bottleneck_head: ``UNetConfig.bottleneck_head`` of every student.

    Choice lists are sorted ascending, so index 0 is always the smallest
    choice and every count grows with every gene index (used by
    :meth:`min_cost`).
    """

    num_classes: int
    depths: tuple[int, ...] = (2, 3)
    widths: tuple[tuple[int, ...], ...] = (
        (4, 6, 8),
        (8, 12, 16),
        (16, 24, 32),
        (32, 48, 64),
    )
    blocks: tuple[int, ...] = (1, 2)
    kernels: tuple[int, ...] = (1, 3, 5)
    in_channels: int = 3
    input_norm: str = "per_image"
    bottleneck_head: bool = True

    def __post_init__(self):
        validation.check_int(self.num_classes, "num_classes", minimum=2)
        validation.check_int(self.in_channels, "in_channels", minimum=1)
        validation.check_bool(self.bottleneck_head, "bottleneck_head")
        if isinstance(self.widths, str) or not isinstance(self.widths, tuple | list):
            raise TypeError(
                "widths: expected one sequence of widths per level, got "
                f"{self.widths!r}"
            )
        set_ = object.__setattr__
        set_(self, "depths", _int_tuple(self.depths, "depths"))
        set_(self, "blocks", _int_tuple(self.blocks, "blocks"))
        set_(self, "kernels", _int_tuple(self.kernels, "kernels"))
        if any(k % 2 == 0 for k in self.kernels):
            raise ValueError(f"kernels: expected odd sizes, got {self.kernels}")
        widths = tuple(_int_tuple(w, f"widths[{i}]") for i, w in enumerate(self.widths))
        set_(self, "widths", widths)
        if len(widths) != self.max_depth + 1:
            raise ValueError(
                f"widths: expected {self.max_depth + 1} levels (max depth "
                f"{self.max_depth} plus the deepest level), got {len(widths)}"
            )
        # Fails early on options the U-Net rejects.
        self.to_config(np.zeros(self.genome_length, np.int32))

    # ------------------------------------------------------------- layout
    @property
    def max_depth(self) -> int:
        return max(self.depths)

    @property
    def genome_length(self) -> int:
        d = self.max_depth
        return 1 + 3 * (d + 1) + 2 * d

    def _slices(self) -> dict[str, slice]:
        d, start, out = self.max_depth, 0, {}
        for name, size in (
            ("depth", 1),
            ("width", d + 1),
            ("down_blocks", d + 1),
            ("down_kernel", d + 1),
            ("up_blocks", d),
            ("up_kernel", d),
        ):
            out[name] = slice(start, start + size)
            start += size
        return out

    def gene_names(self) -> tuple[str, ...]:
        """Names like ``"width[2]"`` for error messages and logs."""
        names = []
        for name, sl in self._slices().items():
            size = sl.stop - sl.start
            names += (
                [name] if name == "depth" else [f"{name}[{i}]" for i in range(size)]
            )
        return tuple(names)

    @property
    def num_choices(self) -> np.ndarray:
        """``[G]`` number of choices of each gene."""
        d = self.max_depth
        return np.asarray(
            [len(self.depths)]
            + [len(w) for w in self.widths]
            + [len(self.blocks)] * (d + 1)
            + [len(self.kernels)] * (d + 1)
            + [len(self.blocks)] * d
            + [len(self.kernels)] * d,
            np.int32,
        )

    def split(self, genome):
        """Dict of gene groups (views into ``genome [..., G]``)."""
        return {name: genome[..., sl] for name, sl in self._slices().items()}

    # ------------------------------------------------------ checks, decoding
    def check_genome(self, genome, *, name: str = "genome") -> np.ndarray:
        """``genome`` as an int32 array ``[G]`` or ``[P, G]``, or a ``ValueError``.

        Raises:
          ValueError: wrong shape, non-integer values or a gene outside its
            choices (the message names the gene and its range).
        """
        if isinstance(genome, jax.core.Tracer):
            raise TypeError(f"{name}: expected a concrete genome, got a traced value")
        array = np.asarray(genome)
        if array.ndim not in (1, 2) or array.shape[-1] != self.genome_length:
            raise ValueError(
                f"{name}: expected shape [{self.genome_length}] or "
                f"[P, {self.genome_length}], got {array.shape}"
            )
        if not np.issubdtype(array.dtype, np.integer):
            raise TypeError(f"{name}: expected integer genes, got {array.dtype}")
        limits = self.num_choices
        bad = (array < 0) | (array >= limits)
        if bad.any():
            row, gene = np.argwhere(bad.reshape(-1, self.genome_length))[0]
            value = array.reshape(-1, self.genome_length)[row, gene]
            raise ValueError(
                f"{name}: gene {self.gene_names()[gene]} = {value} is outside the "
                f"space (expected 0..{limits[gene] - 1})"
                + (f" in row {row}" if array.ndim == 2 else "")
            )
        return array.astype(np.int32)

    def to_config(self, genome) -> UNetConfig:
        """The :class:`~segxai_jax.models.UNetConfig` a genome ``[G]`` encodes."""
        g = self.split(self.check_genome(genome))
        if g["depth"].ndim != 1:
            raise ValueError("genome: expected one genome [G], got a population")
        d = self.depths[int(g["depth"][0])]
        widths = tuple(self.widths[i][int(g["width"][i])] for i in range(d + 1))
        down_b = [self.blocks[int(i)] for i in g["down_blocks"][: d + 1]]
        down_k = [self.kernels[int(i)] for i in g["down_kernel"][: d + 1]]
        up_b = [self.blocks[int(i)] for i in g["up_blocks"][:d]][::-1]
        up_k = [self.kernels[int(i)] for i in g["up_kernel"][:d]][::-1]
        return UNetConfig(
            num_classes=self.num_classes,
            widths=widths,
            blocks_per_stage=(*down_b, *up_b),
            kernel_size=(*down_k, *up_k),
            in_channels=self.in_channels,
            norm="none",
            input_norm=self.input_norm,
            bottleneck_head=self.bottleneck_head,
        )

    def min_genome(self, depth_index: int = 0) -> np.ndarray:
        """The smallest genome of a depth: every other gene at choice 0."""
        genome = np.zeros(self.genome_length, np.int32)
        genome[0] = depth_index
        return genome

    def flop_unit(self, image_size: int | tuple[int, int]) -> float:
        """FLOPs per unit of :func:`genome_cost` for an ``H x W`` image."""
        h, w = (image_size, image_size) if isinstance(image_size, int) else image_size
        factor = 2**self.max_depth
        if h % factor or w % factor:
            raise ValueError(
                f"image_size: expected sides divisible by 2**max_depth = {factor}, "
                f"got {h}x{w}"
            )
        return 2.0 * h * w / 4**self.max_depth


def active_genes(space: SearchSpace, genome: jax.Array) -> jax.Array:
    """``[G]`` bool: genes that change the network for this genome's depth.

    Genes with a single choice are never active (mutating them is a no-op).
    """
    depth = jnp.asarray(space.depths, jnp.int32)[genome[0]]
    d = space.max_depth
    levels = jnp.arange(d + 1)
    up_levels = jnp.arange(d)
    active = jnp.concatenate(
        [
            jnp.ones(1, bool),
            levels <= depth,
            levels <= depth,
            levels <= depth,
            up_levels < depth,
            up_levels < depth,
        ]
    )
    return active & (jnp.asarray(space.num_choices) > 1)


def genome_cost(space: SearchSpace, genome: jax.Array):
    """Parameters and FLOP units of one genome, jittable and vmappable.

    Mirrors :func:`segxai_jax.models.conv_specs` with the depth as data: every
    level's terms are computed and the unused ones multiplied by zero.

    Args:
      space: the search space.
      genome: ``[G]`` int32.

    Returns:
      ``(params [], flop_units [])`` int32; FLOPs for an ``H x W`` image are
      ``flop_units * space.flop_unit((H, W))`` (exact: every convolution's
      output pixels are ``H * W / 4**level`` and ``level <= max_depth``).
      A genome with a gene outside the space is refused with a ``ValueError``
      when it is concrete; under ``jit`` its cost is the largest int32 in both
      entries, so that no budget admits it (never the cost of a clamped gene).
    """
    if not isinstance(genome, jax.core.Tracer):
        genome = space.check_genome(genome)
        if genome.ndim != 1:
            raise ValueError(
                f"genome: expected one genome [{space.genome_length}], got shape "
                f"{genome.shape} (jax.vmap over a population)"
            )
    genome = jnp.asarray(genome)
    outside = jnp.any(
        (genome < 0) | (genome >= jnp.asarray(space.num_choices, genome.dtype))
    )
    params, units = _genome_cost(space, genome)
    worst = jnp.iinfo(jnp.int32).max
    return jnp.where(outside, worst, params), jnp.where(outside, worst, units)


def _genome_cost(space: SearchSpace, genome: jax.Array):
    g = space.split(genome)
    d_max, k_cls = space.max_depth, space.num_classes
    depth = jnp.asarray(space.depths, jnp.int32)[g["depth"][0]]
    blocks = jnp.asarray(space.blocks, jnp.int32)
    kernels = jnp.asarray(space.kernels, jnp.int32)
    width = [
        jnp.asarray(space.widths[i], jnp.int32)[g["width"][i]] for i in range(d_max + 1)
    ]
    params = jnp.zeros((), jnp.int32)
    units = jnp.zeros((), jnp.int32)

    def conv(cin, cout, k, level, used):
        macs_per_px = (k * k * cin * cout) * used
        return (
            (k * k * cin * cout + cout) * used,
            macs_per_px * 4 ** (d_max - level),
        )

    def stage(cin, cout, n_blocks, k, level, used):
        p = u = jnp.zeros((), jnp.int32)
        # The first convolution changes channels; the others keep them.
        dp, du = conv(cin, cout, k, level, used)
        p, u = p + dp, u + du
        dp, du = conv(cout, cout, k, level, used * (n_blocks - 1))
        return p + dp, u + du

    cin = jnp.int32(space.in_channels)
    for level in range(d_max + 1):
        used = (level <= depth).astype(jnp.int32)
        b = blocks[g["down_blocks"][level]]
        k = kernels[g["down_kernel"][level]]
        dp, du = stage(cin, width[level], b, k, level, used)
        params, units = params + dp, units + du
        if space.bottleneck_head:
            is_bottleneck = (level == depth).astype(jnp.int32)
            dp, du = conv(width[level], k_cls, 1, level, is_bottleneck)
            params, units = params + dp, units + du
        cin = width[level]
    for level in range(d_max):
        used = (level < depth).astype(jnp.int32)
        # dec{level}'s 1x1 up-projection runs at level + 1 on that level's width.
        dp, du = conv(width[level + 1], 4 * width[level], 1, level + 1, used)
        params, units = params + dp, units + du
        b = blocks[g["up_blocks"][level]]
        k = kernels[g["up_kernel"][level]]
        dp, du = stage(2 * width[level], width[level], b, k, level, used)
        params, units = params + dp, units + du
    dp, du = conv(width[0], k_cls, 1, 0, 1)
    return params + dp, units + du
