"""Argument checks shared by every public entry point of the library.

One rule everywhere: a bad argument is refused at once with an error that names
the argument, what was expected and what came.

* ``TypeError``: the wrong kind of object (a float where an int is meant, a
  bool where a number is meant, a tuple where a :class:`~segxai_jax.Target` is
  meant, an integer image where a float image is meant, an apply function where
  an explainer is meant).
* ``ValueError``: the right kind with a wrong value (out of range, NaN or inf,
  an unknown choice, a wrong shape, an empty region of interest).

Shapes are static under ``jax.jit``, so shape checks always run. Checks of
array VALUES (finite, within a range, a non-empty ROI, a class id below ``K``)
run only when the array is concrete, i.e. outside ``jit``/``vmap``/``grad``.
Under ``jit`` an invalid target makes the explained score NaN (see
:func:`segxai_jax.targets.target_score`), so every map, curve and metric built
on it is NaN instead of a plausible-looking zero map. Users who ``jit`` an
explainer can check concrete inputs once beforehand with
:func:`validate_explainer_inputs`.
"""

from segxai_jax.validation.arrays import (
    as_integer_labels,
    check_finite,
    check_float_array,
    check_label_array,
    check_num_classes,
)
from segxai_jax.validation.explainer_inputs import (
    attach_class_count,
    check_class_id,
    check_image,
    check_input,
    check_target,
    check_target_against,
    check_target_classes,
    check_target_kind,
    class_count_of,
    logits_class_count,
    params_errors,
    validate_explainer_inputs,
)
from segxai_jax.validation.scalars import (
    check_bool,
    check_callable,
    check_choice,
    check_instance,
    check_int,
    check_int_sequence,
    check_key,
    check_optional_int,
    check_optional_real,
    check_real,
    is_concrete,
)

__all__ = [
    "as_integer_labels",
    "attach_class_count",
    "check_bool",
    "check_callable",
    "check_choice",
    "check_class_id",
    "check_target_kind",
    "check_finite",
    "check_float_array",
    "check_image",
    "check_input",
    "check_instance",
    "check_int",
    "check_int_sequence",
    "check_key",
    "check_label_array",
    "check_num_classes",
    "check_optional_int",
    "check_optional_real",
    "check_real",
    "check_target",
    "check_target_against",
    "check_target_classes",
    "class_count_of",
    "is_concrete",
    "logits_class_count",
    "params_errors",
    "validate_explainer_inputs",
]
