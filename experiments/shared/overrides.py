"""Command-line overrides checked before the flags are parsed.

``ml_collections`` refuses ``--config.num_imags=3`` deep inside flag parsing,
with a traceback. :func:`unknown_overrides` names each override whose field
does not exist in one line, with the nearest field names, so that
``experiments.main`` can stop before anything is loaded or written.
"""

from __future__ import annotations

import difflib
import importlib.util
from collections.abc import Mapping, Sequence
from pathlib import Path

from experiments.shared.options import config_to_dict


def field_paths(tree: Mapping, prefix: str = "") -> list[str]:
    """Every dotted field path of a config (sections and leaves)."""
    paths = []
    for key, value in tree.items():
        path = f"{prefix}{key}"
        paths.append(path)
        if isinstance(value, Mapping):
            paths.extend(field_paths(value, f"{path}."))
    return paths


def load_config(spec: str):
    """The config of ``path[:variant]`` as ``--config`` would load it."""
    path, _, variant = spec.partition(":")
    module_spec = importlib.util.spec_from_file_location("_config_file", path)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module.get_config(variant) if variant else module.get_config()


def unknown_overrides(config, argv: Sequence[str], flag: str = "config") -> list[str]:
    """One message per ``--<flag>.<field>=...`` argument naming a missing field.

    Args:
      config: the loaded config (a ``ConfigDict`` or a nested mapping).
      argv: the command-line arguments.
      flag: the config flag's name.

    Returns:
      ``"--config.a.b: no such field; nearest: a.c, a.d"`` per unknown field
      (empty when every override names a field).
    """
    paths = field_paths(config_to_dict(config))
    known = set(paths)
    messages = []
    lead = f"--{flag}."
    for argument in argv:
        if not argument.startswith(lead):
            continue
        path = argument[len(lead) :].partition("=")[0]
        if path in known:
            continue
        nearest = difflib.get_close_matches(path, paths, n=3, cutoff=0.5)
        hint = f"nearest: {', '.join(nearest)}" if nearest else "see the config file"
        messages.append(f"--{flag}.{path}: no such config field; {hint}")
    return messages


def check_overrides(argv: Sequence[str], flag: str = "config") -> list[str]:
    """:func:`unknown_overrides` for the config file named by ``--<flag>``.

    Returns no message when ``--<flag>`` is absent or its file cannot be
    loaded: the flag parser reports those itself.
    """
    spec = None
    for i, argument in enumerate(argv):
        if argument.startswith(f"--{flag}="):
            spec = argument.split("=", 1)[1]
        elif argument == f"--{flag}" and i + 1 < len(argv):
            spec = argv[i + 1]
    if not spec or not Path(spec.partition(":")[0]).is_file():
        return []
    try:
        config = load_config(spec)
    except Exception:  # noqa: BLE001 - the flag parser reports it with context
        return []
    return unknown_overrides(config, argv, flag)
