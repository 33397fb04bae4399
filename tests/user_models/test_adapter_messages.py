"""The model adapters name the fix when a user's model needs more than params.

A Linen model with a ``train`` flag and BatchNorm, one that returns
``(logits, aux)``, and their NNX counterparts: each mistake a new user makes
gets an error naming the option that fixes it (``apply_kwargs=`` /
``call_kwargs=``, the whole variables dict, ``output=``).
"""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

import segxai_jax as sx


class FlagNet(nn.Module):
    @nn.compact
    def __call__(self, x, train):
        x = nn.Conv(4, (3, 3))(x)
        x = nn.BatchNorm(use_running_average=not train)(x)
        return nn.Conv(3, (1, 1))(x)


class AuxNet(nn.Module):
    @nn.compact
    def __call__(self, x):
        logits = nn.Conv(3, (1, 1))(x)
        return logits, logits.mean()


class NnxAux(nnx.Module):
    def __init__(self, rngs):
        self.conv = nnx.Conv(3, 3, (1, 1), rngs=rngs)

    def __call__(self, x, *, train):
        del train
        y = self.conv(x)
        return {"logits": y, "aux": y.mean()}


X = jnp.ones((8, 8, 3)) * 0.5


@pytest.fixture(scope="module")
def flag_net():
    model = FlagNet()
    variables = model.init(jax.random.key(0), X[None], train=False)
    return model, variables


def test_a_missing_train_flag_names_apply_kwargs(flag_net):
    model, variables = flag_net
    with pytest.raises(TypeError, match="apply_kwargs="):
        sx.linen_apply_fn(model)(variables, X)
    logits = sx.linen_apply_fn(model, apply_kwargs={"train": False})(variables, X)
    assert logits.shape == (8, 8, 3)


def test_params_alone_for_a_batchnorm_model_asks_for_the_variables_dict(flag_net):
    model, variables = flag_net
    apply_fn = sx.linen_apply_fn(model, apply_kwargs={"train": False})
    with pytest.raises(ValueError, match="whole variables dict.*batch_stats"):
        apply_fn(variables["params"], X)


def test_a_tuple_output_is_refused_naming_output():
    model = AuxNet()
    variables = model.init(jax.random.key(0), X[None])
    with pytest.raises(ValueError, match=r"returns a tuple of 2.*output="):
        sx.linen_apply_fn(model)(variables, X)
    apply_fn = sx.linen_apply_fn(model, output=lambda o: o[0])
    np.testing.assert_allclose(
        apply_fn(variables, X), model.apply(variables, X[None])[0][0]
    )


def test_nnx_dict_output_and_missing_flag_name_the_options():
    model = NnxAux(nnx.Rngs(0))
    apply_fn, state = sx.nnx_apply_fn(model)
    with pytest.raises(TypeError, match="call_kwargs="):
        apply_fn(state, X)
    apply_fn, state = sx.nnx_apply_fn(model, call_kwargs={"train": False})
    with pytest.raises(ValueError, match=r"dict of 2 with keys \['logits', 'aux'\]"):
        apply_fn(state, X)
    apply_fn, state = sx.nnx_apply_fn(
        model, call_kwargs={"train": False}, output=lambda o: o["logits"]
    )
    assert apply_fn(state, X).shape == (8, 8, 3)
