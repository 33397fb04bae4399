"""The population axis sharded over 4 (forced host) devices equals 1 device."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np

_SCRIPT = textwrap.dedent(
    """
    import json, sys
    sys.path.insert(0, sys.argv[1])
    from segxai_jax import runtime
    runtime.configure()
    import jax, jax.numpy as jnp
    import numpy as np
    from conftest import TINY_SPACE as space, random_genomes
    from segxai_jax.nas import init_supernet, make_population_evaluator
    from segxai_jax.nas import make_zen_proxy

    weights = init_supernet(jax.random.key(0), space)
    fitness = make_zen_proxy(space, jax.random.key(1), image_shape=(8, 8, 3),
                             batch_size=2)
    genomes = random_genomes(space, 8, seed=4)
    sharded = make_population_evaluator(fitness)
    single = make_population_evaluator(fitness, devices=jax.devices()[:1])
    strict = make_population_evaluator(fitness, pad=False)
    try:
        strict(weights, genomes[:6])
        error = ""
    except ValueError as e:
        error = str(e)
    out = {
        "devices": len(jax.devices()),
        "mesh": int(sharded.mesh.size),
        "sharded": sharded(weights, genomes).tolist(),
        "padded": sharded(weights, genomes[:6]).tolist(),
        "single": single(weights, genomes).tolist(),
        "error": error,
    }
    print(json.dumps(out))
    """
)


def test_sharded_population_equals_single_device(tmp_path):
    env = dict(os.environ)
    flags = env.get("XLA_FLAGS", "")  # the suite's flags (tests/conftest.py)
    env["XLA_FLAGS"] = f"{flags} --xla_force_host_platform_device_count=4".strip()
    env["PYTHONPATH"] = os.pathsep.join(
        [str(Path(__file__).parents[2]), env.get("PYTHONPATH", "")]
    )
    script = tmp_path / "shard.py"
    script.write_text(_SCRIPT)
    done = subprocess.run(
        [sys.executable, str(script), str(Path(__file__).parent)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["devices"] == 4 and out["mesh"] == 4
    np.testing.assert_allclose(out["sharded"], out["single"], rtol=1e-6)
    np.testing.assert_allclose(out["padded"], out["single"][:6], rtol=1e-6)
    assert "not divisible by the 4 devices" in out["error"]
