"""torch_registry.py: the registry of PyTorch twins (torch_models.py and
torch_models_v2.py fill it) and the helpers the parity scripts share:
building a twin with seeded weights and randomised normalisation
statistics, making its inputs, running it.

MODELS maps (example path relative to the repository, model name) to a
builder taking no arguments; INPUTS maps the same keys to the declared inputs,
[(name, shape)], where the string "N" in a shape is the batch.
"""
import torch
import torch.nn as nn

MODELS = {}
INPUTS = {}


def register(path, name, inputs):
    """Decorator: registers a builder for model `name` of `path`."""
    def wrap(fn):
        key = (path, name)
        assert key not in MODELS, key
        MODELS[key] = fn
        INPUTS[key] = [(n, tuple(s)) for n, s in inputs]
        return fn
    return wrap


def sequential_model(name, *args):
    """`model NAME(...) = Sequential(...)`: a subclass of Sequential named NAME."""
    return type(name, (nn.Sequential,), {})(*args)


def input_shapes(key, batch):
    """The concrete input shapes of a model for `batch` (a fixed batch wins)."""
    return [tuple(batch if d == "N" else d for d in shape)
            for _, shape in INPUTS[key]]


def fixed_batch(key):
    """The model's fixed batch, or None when the batch is chosen at run time."""
    first = INPUTS[key][0][1][0]
    return None if first == "N" else first


def randomize(model, seed):
    """Seeds torch, builds nothing: gives every BatchNorm random running
    statistics and affine parameters, every LayerNorm and GroupNorm a random
    affine and every PReLU random slopes, so
    that folding and normalisation are really exercised. Call on a model
    built right after torch.manual_seed(seed)."""
    g = torch.Generator().manual_seed(seed + 1000003)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                c = m.num_features
                m.running_mean.copy_(torch.randn(c, generator=g) * 0.5)
                m.running_var.copy_(torch.rand(c, generator=g) * 1.5 + 0.5)
                if m.affine:
                    m.weight.copy_(torch.rand(c, generator=g) + 0.5)
                    m.bias.copy_(torch.randn(c, generator=g) * 0.2)
                m.num_batches_tracked.fill_(int(torch.randint(1, 1000, (1,), generator=g)))
            elif isinstance(m, (nn.LayerNorm, nn.GroupNorm)) and getattr(
                    m, "elementwise_affine", getattr(m, "affine", False)):
                m.weight.copy_(torch.rand(m.weight.shape, generator=g) + 0.5)
                m.bias.copy_(torch.randn(m.bias.shape, generator=g) * 0.2)
            elif isinstance(m, nn.PReLU):
                m.weight.copy_(torch.rand(m.weight.shape, generator=g) * 0.6 - 0.1)
    return model


def build(key, seed=None):
    """Builds the model for `key` in eval() mode; with `seed`, its weights are
    drawn from that seed and its normalisation statistics randomised."""
    if seed is not None:
        torch.manual_seed(seed)
    model = MODELS[key]()
    if seed is not None:
        randomize(model, seed)
    return model.eval()


def make_inputs(key, batch, seed):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(shape, generator=g) for shape in input_shapes(key, batch)]


def run(model, inputs):
    with torch.no_grad():
        return model(*[t.clone() for t in inputs])
