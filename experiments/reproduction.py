"""Pieces shared by the experiments that reproduce published findings.

Used by ``occlusion_study``, ``ablation_regions`` and ``context_bias``:
config checks whose errors name the field, the teacher (a trained one, or one
trained here with the quickstart's recipe), 95 % confidence intervals and
paired tests over images, and the "finding -> reproduced?" list of the
reports.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from ml_collections import config_dict
from scipy import stats

from experiments import common
from experiments.reporting import write_json
from segxai_jax.models import UNetConfig
from segxai_jax.training import evaluate, write_atomic

VERDICTS = ("yes", "partly", "no")


# ----------------------------------------------------------------- config checks
def check_int(value, field: str, *, minimum: int = 1) -> int:
    """``value`` as an int, or a ``ValueError`` naming ``config.<field>``."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise ValueError(f"config.{field}: expected an int >= {minimum}, got {value!r}")
    if value < minimum:
        raise ValueError(f"config.{field}: expected an int >= {minimum}, got {value}")
    return int(value)


def check_choices(values, field: str, allowed: Sequence[str]) -> tuple[str, ...]:
    """A non-empty tuple of distinct names from ``allowed``."""
    if isinstance(values, str):
        values = (values,)
    values = tuple(values)
    if not values:
        raise ValueError(f"config.{field}: expected at least one of {tuple(allowed)}")
    for value in values:
        if value not in allowed:
            raise ValueError(
                f"config.{field}: expected names from {tuple(allowed)}, got {value!r}"
            )
    if len(set(values)) != len(values):
        raise ValueError(f"config.{field}: names must be distinct, got {values}")
    return values


def check_fraction(value, field: str, *, upper_inclusive: bool = False) -> float:
    """A number in ``[0, 1)`` (``[0, 1]`` with ``upper_inclusive``)."""
    number = isinstance(value, int | float | np.number) and not isinstance(value, bool)
    inside = number and (0.0 <= value <= 1.0 if upper_inclusive else 0.0 <= value < 1.0)
    if not inside:
        bracket = "]" if upper_inclusive else ")"
        raise ValueError(
            f"config.{field}: expected a number in [0, 1{bracket}, got {value!r}"
        )
    return float(value)


# ---------------------------------------------------------------------- teacher
def teacher_workdir(teacher_config, workdir) -> Path:
    """The work directory whose ``teacher/`` holds the teacher."""
    return Path(teacher_config.workdir) if teacher_config.workdir else Path(workdir)


def teacher_needs_training(teacher_config, workdir) -> bool:
    """Whether :func:`resolve_teacher` trains (so the train split is needed).

    True when ``teacher_config.workdir`` is empty (the recipe is trained or
    resumed in the experiment's own ``workdir/teacher``; a finished run returns
    at once) or when the given work directory has no teacher yet and
    ``train_if_missing`` is set.
    """
    del workdir
    if not teacher_config.workdir:
        return True
    folder = common.teacher_dir_of(teacher_config.workdir)
    missing = not (folder / common.MODEL_FILE).exists()
    return missing and bool(teacher_config.train_if_missing)


def resolve_teacher(teacher_config, data_config, data: dict, workdir, *, seed):
    """The teacher ``(model, params, info)`` an experiment explains.

    ``teacher_config.workdir`` non-empty: a quickstart-style work directory
    whose ``teacher/`` (``model.json`` plus Orbax checkpoints) is loaded as is;
    if it has none and ``teacher_config.train_if_missing`` is set, the recipe
    (``teacher_config.model``/``.train`` on ``data_config``; the quickstart's
    in the full configs, so the folder is the quickstart's teacher) is trained
    there first. Empty: the recipe is trained, or resumed, in
    ``workdir/teacher``.

    Args:
      teacher_config: ``workdir``, ``train_if_missing``, ``model``, ``train``.
      data_config: the dataset the teacher is trained on when it is trained.
      data: ``common.load_data`` output; the ``"train"`` and ``"validation"``
        splits are needed only when :func:`teacher_needs_training`.
      workdir: the experiment's work directory.
      seed: seed of the training run.

    Returns:
      ``(model, params, info)``; ``info`` says where the teacher came from
      (and holds the training history when it was trained here).
    """
    home = teacher_workdir(teacher_config, workdir)
    folder = common.teacher_dir_of(home)
    if not teacher_needs_training(teacher_config, workdir):
        model, params = common.load_teacher(folder)
        return model, params, {"dir": str(folder), "trained_here": False}
    for split in ("train", "validation"):
        if split not in data:
            raise ValueError(f"data: training the teacher needs the {split!r} split")
    recipe = config_dict.ConfigDict(
        {
            "seed": seed,
            "data": data_config,
            "model": teacher_config.model,
            "train": teacher_config.train,
        }
    )
    model, result = common.train_teacher(recipe, home, data)
    info = {"dir": str(folder), "trained_here": True, "history": result.history}
    return model, result.state.params, info


def load_data_and_teacher(config, workdir, timer, *, splits=("test",)):
    """The data splits an experiment needs, its teacher and the teacher's scores.

    Loads ``splits`` of ``config.data`` (plus train and validation when the
    teacher is trained here, see :func:`teacher_needs_training`), resolves the
    teacher with :func:`resolve_teacher` and adds its test-split scores to the
    teacher info. ``timer`` records the ``"data"`` and ``"teacher"`` phases.

    Returns:
      ``(data, model, params, teacher_info)``.
    """
    with timer("data"):
        if teacher_needs_training(config.teacher, workdir):
            splits = ("train", "validation", "test")
        data = common.load_data(config.data, splits=splits)
    with timer("teacher"):
        model, params, teacher = resolve_teacher(
            config.teacher, config.data, data, workdir, seed=config.seed
        )
    teacher["test_scores"] = teacher_scores(
        model, params, data["test"], data["spec"].num_classes
    )
    return data, model, params, teacher


def teacher_scores(model, params, split: dict, num_classes: int) -> dict:
    """mIoU, pixel accuracy and mean Dice of the teacher on one split."""
    scores = evaluate(model, params, split, num_classes=num_classes, batch_size=100)
    return {k: scores[k] for k in ("miou", "pixel_accuracy", "mean_dice")}


# ------------------------------------------------------------------- statistics
def mean_ci(values, confidence: float = 0.95) -> dict:
    """Mean and Student-t confidence interval over the finite ``values``.

    Returns:
      ``{"mean", "ci_low", "ci_high", "std", "n"}``; with fewer than two
      values the interval is the mean itself (no spread to estimate).
    """
    values = np.asarray(values, np.float64).ravel()
    values = values[np.isfinite(values)]
    n = int(values.size)
    if n == 0:
        nan = float("nan")
        return {"mean": nan, "ci_low": nan, "ci_high": nan, "std": nan, "n": 0}
    mean = float(values.mean())
    std = float(values.std(ddof=1)) if n > 1 else 0.0
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1) * std / math.sqrt(n))
    half = half if n > 1 else 0.0
    return {
        "mean": mean,
        "ci_low": mean - half,
        "ci_high": mean + half,
        "std": std,
        "n": n,
    }


def paired_difference(a, b, confidence: float = 0.95) -> dict:
    """``mean_ci(a - b)`` plus the share of pairs with ``a > b``."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    summary = mean_ci(a - b, confidence)
    finite = np.isfinite(a) & np.isfinite(b)
    summary["fraction_a_greater"] = (
        float(np.mean(a[finite] > b[finite])) if finite.any() else float("nan")
    )
    return summary


def sign_of(summary: dict) -> int:
    """+1 / -1 when the CI excludes 0 on that side, else 0."""
    if summary["n"] < 2:
        return 0
    if summary["ci_low"] > 0:
        return 1
    if summary["ci_high"] < 0:
        return -1
    return 0


def fmt_ci(summary: dict, digits: int = 3) -> str:
    """``"m [lo, hi]"`` with ``digits`` significant digits."""
    if summary["n"] == 0:
        return "n/a"
    f = f"{{:.{digits}g}}"
    return (
        f"{f.format(summary['mean'])} "
        f"[{f.format(summary['ci_low'])}, {f.format(summary['ci_high'])}]"
    )


# --------------------------------------------------------------------- findings
@dataclasses.dataclass(frozen=True)
class Finding:
    """One published finding and what this run measured.

    Attributes:
      claim: the finding as published.
      source: where it was published.
      reproduced: ``"yes"``, ``"partly"`` or ``"no"``.
      evidence: the numbers behind the verdict, in words.
    """

    claim: str
    source: str
    reproduced: str
    evidence: str

    def __post_init__(self):
        if self.reproduced not in VERDICTS:
            raise ValueError(
                f"reproduced: expected one of {VERDICTS}, got {self.reproduced!r}"
            )


def findings_markdown(findings: Sequence[Finding]) -> str:
    """A numbered list: claim (source) -> verdict, evidence."""
    lines = []
    for i, f in enumerate(findings, start=1):
        lines.append(f"{i}. **{f.claim}** ({f.source})")
        lines.append(f"   - reproduced: **{f.reproduced}**")
        lines.append(f"   - evidence: {f.evidence}")
    return "\n".join(lines)


def write_results(
    workdir: Path,
    results: dict,
    *,
    findings: Sequence[Finding],
    figures: dict,
    seconds: dict[str, float],
    report: Callable[[dict], str],
) -> dict:
    """Completes an experiment's results and writes them with its report.

    Appends, in this order, ``findings`` (as dicts), ``figures``, ``seconds``
    and the environment to ``results``, then writes ``results.json`` and
    ``report.md`` (``report(results)``) into ``workdir``.

    Args:
      workdir: the experiment's output folder.
      results: the experiment's own entries (teacher, options, summaries...).
      findings: the verdicts of the run.
      figures: figure name -> file name.
      seconds: stage name -> wall time (e.g. ``Timer.seconds``).
      report: renders the markdown report from the completed results.

    Returns:
      The completed results.
    """
    results = {
        **results,
        "findings": [f.__dict__ for f in findings],
        "figures": figures,
        "seconds": seconds,
        "environment": common.environment(),
    }
    write_json(workdir / "results.json", results)
    write_atomic(workdir / "report.md", report(results))
    return results


def repeated_measures_p(groups) -> float:
    """p-value that paired samples differ: Friedman (3+ groups) or Wilcoxon (2).

    Args:
      groups: sequences of equal length ``n`` (one value per image each).

    Returns:
      The p-value, NaN when the test is undefined (e.g. ``n < 2`` or all
      differences zero).
    """
    arrays = [np.asarray(g, np.float64) for g in groups]
    finite = np.all([np.isfinite(a) for a in arrays], axis=0)
    arrays = [a[finite] for a in arrays]
    if len(arrays) < 2 or arrays[0].size < 2:
        return float("nan")
    try:
        if len(arrays) == 2:
            return float(stats.wilcoxon(arrays[0], arrays[1]).pvalue)
        return float(stats.friedmanchisquare(*arrays).pvalue)
    except ValueError:
        return float("nan")


def teacher_probe_names(teacher_config, workdir) -> tuple[str, ...]:
    """Probe points of the teacher :func:`resolve_teacher` will return.

    Read from the teacher's ``model.json`` when it exists, else from the recipe,
    so that layer names in a config can be checked before any loading or
    training.
    """
    folder = common.teacher_dir_of(teacher_workdir(teacher_config, workdir))
    model_file = folder / common.MODEL_FILE
    if teacher_config.workdir and model_file.exists():
        fields = json.loads(model_file.read_text())
    else:
        fields = {"num_classes": 2, **teacher_config.model.to_dict()}
    return UNetConfig(**fields).probe_names
