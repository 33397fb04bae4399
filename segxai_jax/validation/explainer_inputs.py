"""What explainers and their wrappers check: one image, one target, the K."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable

import jax
import numpy as np

from segxai_jax.types import Target
from segxai_jax.validation.arrays import _shape, check_finite, check_float_array
from segxai_jax.validation.scalars import check_instance, check_int, is_concrete

TARGET_KINDS = ("class", "binary")


def check_image(x, *, name: str = "x", value_range=None) -> None:
    """One image ``[H, W, C]`` of floats; finite (and in range) if concrete."""
    check_float_array(x, name, ndim=3, what="one image [H, W, C]")
    check_finite(x, name, value_range)


def check_input(
    x, target, *, name: str = "x", allow_tree: bool = False, value_range=None
) -> None:
    """One input of an explainer, for ``target``.

    Arrays: one image ``[H, W, C]`` for an ROI ``[H, W]``, or one volume
    ``[D, H, W, C]`` for an ROI ``[D, H, W]``; floats, finite if concrete.
    Where ``allow_tree``, also a pytree of such arrays (a model with several
    inputs, e.g. ``{"rgb": [H, W, 3], "depth": [H, W, 1]}``); the ROI is then
    checked against the logits by the score.

    Raises:
      TypeError, ValueError: naming ``x`` (or the leaf, ``x['depth']``) or
        ``target.mask`` and the expected layout.
    """
    check_target(target)
    if not (hasattr(x, "shape") and hasattr(x, "dtype")):
        leaves = jax.tree_util.tree_leaves_with_path(x)
        if not allow_tree or not leaves or isinstance(x, str | bytes):
            hint = (
                "; inputs of several arrays (a dict, a tuple) work with the "
                "gradient family, SmoothGrad, integrated gradients and occlusion"
            )
            raise TypeError(
                f"{name}: expected one image [H, W, C] (or a volume [D, H, W, C]) "
                f"as an array, got {type(x).__name__}{'' if allow_tree else hint}"
            )
        for path, leaf in leaves:
            leaf_name = f"{name}{jax.tree_util.keystr(path)}"
            check_float_array(
                leaf, leaf_name, ndim=range(1, 8), what="an input array [..., C]"
            )
            check_finite(leaf, leaf_name, value_range)
        check_target_against(target, _shape(target.mask), name="target")
        return
    check_float_array(
        x, name, ndim=(3, 4), what="one image [H, W, C] (or [D, H, W, C])"
    )
    mask_rank = len(_shape(target.mask) or ())
    if x.ndim == 4 and mask_rank == 2:
        raise ValueError(
            f"{name}: expected one image [H, W, C] for a target.mask [H, W], got "
            f"shape {tuple(x.shape)}; a volume [D, H, W, C] needs an ROI [D, H, W], "
            "a batch of images explain_batch (or jax.vmap)"
        )
    check_finite(x, name, value_range)
    check_target_against(target, x.shape[:-1])


def check_target(target, name: str = "target"):
    """A :class:`~segxai_jax.targets.Target` (not a ``(class, mask)`` tuple)."""
    return check_instance(
        target, name, Target, "build it with segxai_jax.make_target(class_id, mask)"
    )


def check_target_against(target, spatial_shape, *, name: str = "target") -> None:
    """A single target for an image of ``spatial_shape``; ROI non-empty if concrete."""
    check_target(target, name)
    mask, class_id = target.mask, target.class_id
    if _shape(mask) != tuple(spatial_shape):
        raise ValueError(
            f"{name}.mask: expected shape {tuple(spatial_shape)} (the input's "
            "spatial shape: H, W of an image, D, H, W of a volume), "
            f"got {_shape(mask)}"
        )
    if getattr(class_id, "ndim", 0) != 0:
        raise ValueError(
            f"{name}.class_id: expected a scalar, got shape {_shape(class_id)}; "
            "vmap the explainer over a batch of targets"
        )
    if not np.issubdtype(np.dtype(class_id.dtype), np.integer):
        raise TypeError(f"{name}.class_id: expected an integer, got {class_id.dtype}")
    if is_concrete(mask):
        values = np.asarray(mask)
        if not np.all(np.isfinite(values)):
            raise ValueError(f"{name}.mask: expected finite values")
        if values.sum() <= 0:
            raise ValueError(
                f"{name}.mask: expected a non-empty ROI (at least one positive pixel)"
            )


def check_target_kind(target: Target, num_classes: int) -> None:
    """A binary target needs a one-logit model, a class target a K-way one.

    Static (shapes and the target's kind only), so it raises under ``jit`` too.

    Raises:
      ValueError: naming ``target`` and the model's K.
    """
    if target.kind not in TARGET_KINDS:
        raise ValueError(
            f"target.kind: expected one of {TARGET_KINDS}, got {target.kind!r}"
        )
    if target.kind == "binary" and num_classes != 1:
        raise ValueError(
            f"target: a binary target (one-logit segmenter) for a model with K = "
            f"{num_classes} classes; use segxai_jax.make_target(class_id, mask)"
        )
    if target.kind == "class" and num_classes == 1:
        raise ValueError(
            "target: the model has one output logit (K = 1, a binary segmenter); "
            "use segxai_jax.binary_target(mask) (foreground: score z, background: "
            "score -z)"
        )


def check_class_id(target, num_classes: int, *, name: str = "target") -> None:
    """Class id(s) within ``[0, num_classes)``, if concrete."""
    kind = getattr(target, "kind", "class")
    if kind == "binary" and num_classes != 1 or kind == "class" and num_classes == 1:
        check_target_kind(target, num_classes)
    if is_concrete(target.class_id):
        c = np.asarray(target.class_id)
        limit = 2 if kind == "binary" else num_classes
        if np.any(c < 0) or np.any(c >= limit):
            expected = (
                "0 (background) or 1 (foreground)"
                if kind == "binary"
                else (f"[0, {num_classes}) (the model's K)")
            )
            raise ValueError(
                f"{name}.class_id: expected values in {expected}, got {c.tolist()}"
            )


def validate_explainer_inputs(x, target, *, num_classes: int | None = None) -> None:
    """Checks concrete explainer inputs before a jitted call.

    Args:
      x: one image ``[H, W, C]`` or a batch ``[B, H, W, C]``.
      target: a single target for one image, or a batch of targets (leading
        axis ``B`` or ``T``) whose masks match the image's ``H, W``.
      num_classes: K, to check class ids (skipped if ``None``).

    Raises:
      TypeError, ValueError: naming the argument and what was expected.
    """
    check_float_array(x, "x", ndim=(3, 4), what="[H, W, C] or [B, H, W, C]")
    check_finite(x, "x")
    check_target(target)
    images = x if x.ndim == 4 else x[None]
    mask = np.asarray(target.mask)
    if mask.shape[-2:] != tuple(images.shape[1:3]):
        raise ValueError(
            f"target.mask: expected [..., {images.shape[1]}, {images.shape[2]}] "
            f"(the image's H, W), got {mask.shape}"
        )
    masks = mask.reshape(-1, *mask.shape[-2:])
    if not np.all(np.isfinite(masks)):
        raise ValueError("target.mask: expected finite values")
    if np.any(masks.reshape(len(masks), -1).sum(-1) <= 0):
        raise ValueError(
            "target.mask: expected a non-empty ROI (at least one positive pixel)"
        )
    if num_classes is not None:
        check_class_id(target, check_int(num_classes, "num_classes", minimum=1))


def attach_class_count(
    explain: Callable, class_count: Callable, *, perturbed: bool = False
) -> Callable:
    """Records how to find the model's ``K`` on an explainer function.

    Args:
      explain: ``explain(key, params, x, target)``.
      class_count: ``class_count(params, x) -> K`` (shape-only, e.g. through
        ``jax.eval_shape``).
      perturbed: the map is built from forward passes of perturbed inputs or
        activations (occlusion, ablation, RISE), recorded as
        ``explain.perturbed``: attacks on it go through
        :func:`segxai_jax.attacks.gradient_free_attack`, not input gradients.

    Returns:
      ``explain`` itself. Wrappers (SmoothGrad, batches, metrics) use it to
      check concrete class ids BEFORE they ``vmap`` or ``jit``, where the
      explainer's own check cannot see values.
    """
    explain.class_count = class_count
    explain.perturbed = perturbed
    return explain


def class_count_of(explain: Callable, params, x) -> int | None:
    """``K`` of the model behind ``explain`` for input ``x``, or ``None``."""
    class_count = getattr(explain, "class_count", None)
    return None if class_count is None else int(class_count(params, x))


def logits_class_count(apply_fn: Callable) -> Callable:
    """``class_count(params, x)`` of an apply function (shape evaluation only)."""

    def class_count(params, x):
        return jax.eval_shape(apply_fn, params, x).shape[-1]

    return class_count


def check_target_classes(
    explain: Callable, params, x, target, *, num_classes: int | None = None
) -> None:
    """Concrete class ids of ``target`` below the model's ``K``.

    ``K`` is ``num_classes`` when given, else what ``explain`` records (see
    :func:`attach_class_count`); with neither, or with traced inputs, nothing
    is checked (an invalid class then gives NaN maps).
    """
    if not is_concrete(target.class_id):
        return
    if num_classes is None:
        num_classes = class_count_of(explain, params, x)
    if num_classes is not None:
        check_class_id(target, num_classes)


@contextlib.contextmanager
def params_errors(model, name: str = "params"):
    """Turns Flax's parameter-structure errors into a ``ValueError`` on ``params``.

    Flax raises ``ScopeParamShapeError`` / ``ScopeParamNotFoundError`` from deep
    inside a model when it is applied to another model's weights; this names
    the argument and the model instead.
    """
    from flax import errors as flax_errors

    try:
        yield
    except (
        flax_errors.ScopeParamShapeError,
        flax_errors.ScopeParamNotFoundError,
        flax_errors.ApplyScopeInvalidVariablesTypeError,
        flax_errors.ApplyScopeInvalidVariablesStructureError,
        flax_errors.ScopeCollectionNotFound,
        flax_errors.ScopeVariableNotFoundError,
    ) as error:
        model_name = type(model).__name__
        missing = re.search(r'from collection "([^"]+)"', str(error))
        if (
            isinstance(error, flax_errors.ScopeCollectionNotFound)
            and missing
            and missing.group(1) != "params"
        ):
            collection = missing.group(1)
            raise ValueError(
                f"{name}: the model {model_name} also needs its {collection!r} "
                f"variables: pass the whole variables dict (what model.init "
                f"returns, e.g. {{'params': ..., {collection!r}: ...}}) as "
                f"{name}, not params alone"
            ) from error
        raise ValueError(
            f"{name}: do not fit the model {model_name} (weights of another "
            f"architecture, size or class count?): {type(error).__name__}: "
            f"{str(error).splitlines()[0]}"
        ) from error
