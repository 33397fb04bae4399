"""What an occluded or deleted pixel becomes: the fills (substrates).

Occlusion sensitivity replaces a patch of the image, deletion/insertion curves
move pixels to or from a substrate; both draw on this one module so that a
"grey" or "blur" fill means the same thing everywhere.

A fill is a pure, jittable function

    fill(key, x [H, W, C], mask [H, W]) -> x_filled [H, W, C]

that blends the image with a substrate, ``x * (1 - m) + substrate * m``
(:func:`apply_fill`); ``mask`` may be soft (values in ``[0, 1]``). The
substrate alone is ``fill.substrate(key, x, mask)``; for every kind except
``"patch_mean"`` it does not depend on ``mask`` (``fill.depends_on_mask`` is
False), so a deletion curve can compute it once and reuse it for every step.

Kinds:
  ``"black"`` 0, ``"white"`` 1, ``"grey"`` 0.5 (images in ``[0, 1]``);
  ``"dataset_mean"`` a given per-channel ``mean``;
  ``"image_mean"`` the per-channel mean of ``x``;
  ``"patch_mean"`` the per-channel mean of ``x`` over the masked pixels
  (weighted by a soft mask);
  ``"blur"`` a Gaussian blur of ``x`` (separable; kernel 11, sigma 5 as in
  RISE's insertion substrate);
  ``"noise"`` Gaussian noise ``N(noise_mean, noise_std^2)`` drawn from ``key``
  (same key, same noise);
  ``"uniform_noise"`` noise uniform in ``[0, 1]`` drawn from ``key``;
  ``"noisy_linear"`` ROAD's noisy linear imputation: each removed pixel is the
  weighted mean of its 8 neighbours (weight 1/6 for the 4 direct ones, 1/12 for
  the diagonals), solved jointly for all removed pixels with the kept pixels as
  boundary values, plus Gaussian noise of std ``noise_std`` (0.01 in ROAD). It
  depends on the mask and is meant for binary masks (``mask > 0.5`` = removed);
  2-D images only;
  or a user callable ``substrate_fn(key, x, mask) -> [H, W, C]``.

References:
  Petsiuk, Das, Saenko. RISE: Randomized input sampling for explanation of
  black-box models. BMVC 2018 (blurred insertion substrate, kernel 11, sigma 5).
  Gipiskis, Kurasova. Occlusion-based approach for interpretable semantic
  segmentation. CISTI 2023 (fills compared for segmentation occlusion).
  Rong, Leemann, Borisov, Kasneci, Kasneci. A consistent and efficient
  evaluation strategy for attribution methods (ROAD). ICML 2022 (noisy linear
  imputation, its neighbour weights and noise).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from segxai_jax import random_draws, validation
from segxai_jax.imputation import noisy_linear_imputation

FILL_KINDS = (
    "black",
    "white",
    "grey",
    "dataset_mean",
    "image_mean",
    "patch_mean",
    "blur",
    "noise",
    "uniform_noise",
    "noisy_linear",
)
BLUR_PADDINGS = ("symmetric", "zeros")

SubstrateFn = Callable[[jax.Array, jax.Array, jax.Array], jax.Array]


def apply_fill(x: jax.Array, substrate: jax.Array, mask: jax.Array) -> jax.Array:
    """``x * (1 - m) + substrate * m``.

    Args:
      x: image ``[H, W, C]``.
      substrate: ``[H, W, C]`` (or broadcastable, e.g. ``[C]``).
      mask: ``[H, W]`` in ``[0, 1]``; 1 = replaced by the substrate.

    Returns:
      ``[H, W, C]``.
    """
    m = mask[..., None].astype(x.dtype)
    return x * (1 - m) + substrate * m


@dataclasses.dataclass(frozen=True)
class Fill:
    """A fill: call it as ``fill(key, x, mask) -> x_filled [H, W, C]``.

    Attributes:
      kind: the kind's name (``"callable"`` for a user function).
      substrate: ``substrate(key, x, mask) -> [H, W, C]``, the value every
        fully masked pixel takes.
      depends_on_mask: whether the substrate changes with ``mask``
        (``"patch_mean"`` and possibly a user callable).
    """

    kind: str
    substrate: SubstrateFn
    depends_on_mask: bool

    def __call__(self, key: jax.Array, x: jax.Array, mask: jax.Array) -> jax.Array:
        return apply_fill(x, self.substrate(key, x, mask), mask)


def _shape_checked(substrate_fn: SubstrateFn) -> SubstrateFn:
    """``substrate_fn`` whose result must be ``[H, W, C]``, ``[C]`` or a scalar.

    Shapes are static, so the check costs nothing under ``jit``; without it a
    wrong shape surfaces as a broadcasting error inside jax.
    """

    @functools.wraps(substrate_fn)
    def checked(key, x, mask):
        out = substrate_fn(key, x, mask)
        shape = tuple(jnp.shape(out))
        if shape not in (tuple(x.shape), tuple(x.shape[-1:]), ()):
            raise ValueError(
                f"kind: the fill callable returned a substrate of shape {shape}; "
                f"expected the image's shape {tuple(x.shape)} ([H, W, C]), "
                f"{tuple(x.shape[-1:])} ([C]) or a scalar"
            )
        return out

    return checked


def gaussian_kernel_1d(kernel_size: int, sigma: float) -> np.ndarray:
    """Normalised 1-D Gaussian ``[kernel_size]`` (odd size), centred."""
    validation.check_int(kernel_size, "kernel_size", minimum=1)
    if kernel_size % 2 == 0:
        raise ValueError(f"kernel_size: expected a positive odd int, got {kernel_size}")
    validation.check_real(sigma, "sigma", minimum=0.0, exclusive_minimum=True)
    r = kernel_size // 2
    t = np.arange(-r, r + 1, dtype=np.float64)
    k = np.exp(-0.5 * (t / sigma) ** 2)
    return (k / k.sum()).astype(np.float32)


def gaussian_blur(
    x: jax.Array,
    *,
    kernel_size: int = 11,
    sigma: float = 5.0,
    padding: str = "symmetric",
) -> jax.Array:
    """Separable Gaussian blur of ``x [H, W, C]``, each channel on its own.

    Args:
      x: image ``[H, W, C]``.
      kernel_size: odd kernel width (11 in RISE).
      sigma: standard deviation in pixels (5 in RISE).
      padding: ``"symmetric"`` mirrors the border (edge pixel repeated, as
        ``scipy.ndimage``'s ``"reflect"``): a constant image stays constant.
        ``"zeros"`` pads with 0 as RISE's code does, which darkens the border.

    Returns:
      ``[H, W, C]``, equal to ``scipy.ndimage.gaussian_filter(x, (sigma, sigma,
      0), truncate=(kernel_size // 2) / sigma, mode="reflect")`` for
      ``"symmetric"``.
    """
    validation.check_choice(padding, "padding", BLUR_PADDINGS)
    validation.check_float_array(
        x, "x", ndim=range(2, 8), what="one image [H, W, C] (any spatial rank)"
    )
    kernel = jnp.asarray(gaussian_kernel_1d(kernel_size, sigma))
    r = kernel_size // 2
    mode = "symmetric" if padding == "symmetric" else "constant"
    if x.ndim != 3:
        return _separable_blur(x, kernel, r, mode)
    padded = jnp.pad(x, ((r, r), (r, r), (0, 0)), mode=mode)
    # Channels as the batch axis, one input feature: [C, 1, H + 2r, W + 2r].
    images = jnp.transpose(padded, (2, 0, 1))[:, None]
    dn = ("NCHW", "OIHW", "NCHW")
    rows = jax.lax.conv_general_dilated(
        images,
        kernel.reshape(1, 1, -1, 1).astype(x.dtype),
        (1, 1),
        "VALID",
        dimension_numbers=dn,
    )
    both = jax.lax.conv_general_dilated(
        rows,
        kernel.reshape(1, 1, 1, -1).astype(x.dtype),
        (1, 1),
        "VALID",
        dimension_numbers=dn,
    )
    return jnp.transpose(both[:, 0], (1, 2, 0))


def _separable_blur(x: jax.Array, kernel: jax.Array, r: int, mode: str) -> jax.Array:
    """The same blur along every spatial axis of ``x [*S, C]`` (volumes)."""
    for axis in range(x.ndim - 1):
        pad = [(0, 0)] * x.ndim
        pad[axis] = (r, r)
        padded = jnp.pad(x, pad, mode=mode)
        n = x.shape[axis]
        # out[i] = sum_t k[t] padded[i + t]: a window sum, written as a product
        # with the [n + 2r, n] band matrix of the kernel.
        band = sum(
            kernel[t] * jnp.eye(n + 2 * r, n, -t, dtype=x.dtype)
            for t in range(2 * r + 1)
        )
        moved = jnp.moveaxis(padded, axis, -1)
        x = jnp.moveaxis(moved @ band, -1, axis)
    return x


def _constant(value):
    def substrate(key, x, mask):
        del key, mask
        return jnp.full_like(x, value)

    return substrate


def make_fill(
    kind: str | SubstrateFn = "grey",
    *,
    mean: Sequence[float] | None = None,
    blur_kernel_size: int = 11,
    blur_sigma: float = 5.0,
    blur_padding: str = "symmetric",
    noise_mean: float = 0.5,
    noise_std: float | None = None,
    depends_on_mask: bool = True,
) -> Fill:
    """Builds a :class:`Fill` of a given kind.

    Args:
      kind: one of :data:`FILL_KINDS`, or a callable
        ``substrate_fn(key, x [H, W, C], mask [H, W]) -> [H, W, C]``.
      mean: per-channel values ``[C]`` for ``"dataset_mean"`` (required there).
      blur_kernel_size: odd kernel width of ``"blur"``.
      blur_sigma: Gaussian sigma of ``"blur"`` in pixels.
      blur_padding: border handling of ``"blur"`` (see :func:`gaussian_blur`).
      noise_mean: mean of the ``"noise"`` fill. Choice: 0.5 (mid-grey) and
        ``noise_std`` 0.2 keep most values inside ``[0, 1]`` images; values are
        not clipped.
      noise_std: standard deviation of the ``"noise"`` fill (default 0.2) and
        of the noise ``"noisy_linear"`` adds to imputed pixels (default 0.01,
        as ROAD).
      depends_on_mask: for a callable, whether its substrate depends on the mask
        (False lets callers compute it once).

    Returns:
      A :class:`Fill`; ``fill(key, x, mask)`` is pure and jittable. Only
      ``"noise"``, ``"uniform_noise"``, ``"noisy_linear"`` (and possibly a
      callable) use ``key``.

    Raises:
      ValueError: unknown ``kind``, ``"dataset_mean"`` without ``mean``, bad
        blur or noise settings.
    """
    validation.check_bool(depends_on_mask, "depends_on_mask")
    if callable(kind):
        validation.check_callable(
            kind, "kind", "substrate_fn(key, x, mask) -> [H, W, C]", 3
        )
        return Fill("callable", _shape_checked(kind), bool(depends_on_mask))
    validation.check_choice(kind, "kind", FILL_KINDS)
    if kind in ("black", "white", "grey"):
        value = {"black": 0.0, "white": 1.0, "grey": 0.5}[kind]
        return Fill(kind, _constant(value), False)
    if kind == "dataset_mean":
        if mean is None:
            raise ValueError("mean: the 'dataset_mean' fill needs per-channel values")
        mean_array = np.asarray(mean)
        if not np.issubdtype(mean_array.dtype, np.number) or mean_array.ndim != 1:
            raise TypeError(f"mean: expected per-channel numbers [C], got {mean!r}")
        if not np.all(np.isfinite(mean_array)):
            raise ValueError(f"mean: expected finite values, got {mean!r}")
        values = jnp.asarray(mean_array, jnp.float32)

        def dataset_mean(key, x, mask):
            del key, mask
            if values.shape[0] != x.shape[-1]:
                raise ValueError(
                    f"mean: expected {x.shape[-1]} values (one per channel), got "
                    f"{values.shape[0]}"
                )
            return jnp.broadcast_to(values.astype(x.dtype), x.shape)

        return Fill(kind, dataset_mean, False)
    if kind == "image_mean":

        def image_mean(key, x, mask):
            del key, mask
            spatial = tuple(range(x.ndim - 1))
            return jnp.broadcast_to(x.mean(axis=spatial), x.shape)

        return Fill(kind, image_mean, False)
    if kind == "patch_mean":

        def patch_mean(key, x, mask):
            del key
            m = mask[..., None].astype(x.dtype)
            # An empty mask gives 0; it is then not used by apply_fill anyway.
            spatial = tuple(range(x.ndim - 1))
            total = jnp.maximum(m.sum(axis=spatial), jnp.finfo(x.dtype).tiny)
            return jnp.broadcast_to((x * m).sum(axis=spatial) / total, x.shape)

        return Fill(kind, patch_mean, True)
    if kind == "blur":
        validation.check_int(blur_kernel_size, "blur_kernel_size", minimum=1)
        if blur_kernel_size % 2 == 0:
            raise ValueError(
                f"blur_kernel_size: expected a positive odd int, got {blur_kernel_size}"
            )
        validation.check_real(
            blur_sigma, "blur_sigma", minimum=0.0, exclusive_minimum=True
        )
        validation.check_choice(blur_padding, "blur_padding", BLUR_PADDINGS)

        def blur(key, x, mask):
            del key, mask
            return gaussian_blur(
                x, kernel_size=blur_kernel_size, sigma=blur_sigma, padding=blur_padding
            )

        return Fill(kind, blur, False)
    if kind == "uniform_noise":

        def uniform_noise(key, x, mask):
            del mask
            return random_draws.uniform(key, x.shape, x.dtype)

        return Fill(kind, uniform_noise, False)
    if noise_std is None:
        noise_std = 0.01 if kind == "noisy_linear" else 0.2
    validation.check_real(noise_std, "noise_std", minimum=0.0)
    if kind == "noisy_linear":

        def noisy_linear(key, x, mask):
            return noisy_linear_imputation(key, x, mask, noise_std=noise_std)

        return Fill(kind, noisy_linear, True)
    validation.check_real(noise_mean, "noise_mean")

    def noise(key, x, mask):
        del mask
        return noise_mean + noise_std * random_draws.normal(key, x.shape, x.dtype)

    return Fill(kind, noise, False)


def as_fill(fill: str | SubstrateFn | Fill, options: dict | None = None) -> Fill:
    """A :class:`Fill` from a kind name, a substrate callable or a Fill.

    Args:
      fill: what the caller passed; error messages name it ``fill``.
      options: keyword options for :func:`make_fill`.
    """
    if options is not None:
        validation.check_instance(options, "fill_options", dict)
    if isinstance(fill, Fill):
        if options:
            raise ValueError(
                "fill_options: a Fill is already configured; pass options only "
                "with a kind name or a callable"
            )
        return fill
    if isinstance(fill, str) and fill not in FILL_KINDS:
        raise ValueError(
            f"fill: expected one of {FILL_KINDS} or a callable, got {fill!r}"
        )
    if not isinstance(fill, str) and not callable(fill):
        raise TypeError(f"fill: expected a kind name or a callable, got {fill!r}")
    try:
        return make_fill(fill, **(options or {}))
    except TypeError as error:
        if "unexpected keyword" in str(error):
            raise TypeError(f"fill_options: {error}") from error
        raise
