"""Why prototype replay alone does not protect old classes: their features move.

Reads the final checkpoint of a ``continual_replay`` prototype run (the
model after the last task and its stored prototypes) and reports:

* how the classifier scores the replayed prototype samples (does the replay
  hold the classifier?), and
* for every class, on the stream's test images: the share of its pixels
  predicted correctly and the relative distance between the mean feature of
  its pixels now and the prototype mean stored after its task
  (``|mean_now - mean_stored| / |mean_stored|``; does the encoder drift?).

Run (after the unit has trained in ``runs/c64``)::

    python -m experiments.main \\
        --config experiments/continual_replay/config.py:sixty_four \\
        --workdir runs/c64 --minutes 25
    python benchmarks/prototype_drift.py \\
        --checkpoint runs/c64/runs/prototypes_b0_s0/checkpoints/5 \\
        --out benchmarks/results/prototype_drift.json

About a minute on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import orbax.checkpoint as ocp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from experiments.continual_replay import measure  # noqa: E402
from experiments.continual_replay.config import get_config  # noqa: E402
from experiments.shared.results import environment  # noqa: E402
from segxai_jax.continual import prototypes as pt  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", required=True, help="a task checkpoint dir")
    parser.add_argument("--variant", default="sixty_four")
    parser.add_argument("--scope", default="logits", choices=("logits", "head"))
    parser.add_argument("--images", type=int, default=200, help="test images used")
    parser.add_argument("--out", default="")
    args = parser.parse_args(argv)
    checkpoint = Path(args.checkpoint)
    if not (checkpoint / "params").is_dir() or not (checkpoint / "prototypes").is_dir():
        raise SystemExit(
            f"--checkpoint: expected a prototype run's task checkpoint with "
            f"params/ and prototypes/, got {checkpoint}"
        )
    reader = ocp.PyTreeCheckpointer()
    params = reader.restore((checkpoint / "params").resolve())
    stored = reader.restore((checkpoint / "prototypes").resolve())
    state = pt.PrototypeState(
        *(jnp.asarray(stored[k]) for k in ("mean", "std", "stored"))
    )
    config = get_config(args.variant)
    data = measure.load_stream_data(config.data)
    stream = measure.setup_stream(
        config.model, config.classes_per_task, config.saliency_layer, data
    )
    replay = pt.unet_prototype_replay(stream.model, (*stream.hw, 3), scope=args.scope)
    features, labels, _ = pt.sample_features(state, jax.random.key(0), 4096)
    replayed = replay.head(params, features).argmax(-1) == labels
    images = jnp.asarray(data["test"]["image"][: args.images])
    masks = np.asarray(data["test"]["mask"][: args.images]).reshape(-1)
    pixels = np.asarray(jax.jit(replay.features)(params, images))
    pixels = pixels.reshape(-1, replay.channels)
    predicted = np.asarray(replay.head(params, jnp.asarray(pixels)).argmax(-1))
    classes = {}
    for c in np.flatnonzero(np.asarray(state.stored)):
        chosen = masks == c
        stored_mean = np.asarray(state.mean[c])
        drift = np.linalg.norm(pixels[chosen].mean(0) - stored_mean)
        classes[int(c)] = {
            "pixels": int(chosen.sum()),
            "correct_share": float((predicted[chosen] == c).mean()),
            "most_predicted": int(np.bincount(predicted[chosen]).argmax()),
            "relative_mean_drift": float(drift / np.linalg.norm(stored_mean)),
        }
    results = {
        "checkpoint": str(checkpoint),
        "variant": args.variant,
        "scope": args.scope,
        "replayed_samples_correct_share": float(replayed.mean()),
        "classes": classes,
        "command": "python benchmarks/prototype_drift.py "
        + " ".join(argv or sys.argv[1:]),
        "environment": environment(),
    }
    print(json.dumps(results, indent=1))
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
