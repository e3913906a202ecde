"""d2lmini: the helpers that the d2lmini notebooks share.

Everything a chapter needs is importable from here, with d2l's names:
`synthetic_data`, `data_iter`, `linreg`, `squared_loss`, `sgd`, `load_array`, `try_gpu`, ...
Plotting and widget helpers load matplotlib and ipywidgets only when first used.
"""

from importlib import import_module

from .data import Batches, data_iter, load_array, synthetic_data
from .device import set_seed, try_gpu
from .regularize import dropout_layer, l1_penalty, l2_penalty
from .scratch import cross_entropy, linreg, sgd, softmax, squared_loss
from .train import History, accuracy, evaluate_accuracy, train, watch

__version__ = "0.2.0"

# name -> module, imported on first use so that `import d2lmini` stays cheap
_LAZY = {
    "check": "check",
    "plot": "plot",
    "ema": "plot",
    "show_images": "plot",
    "words": "plot",
    "style": "style",
    "use_style": "style",
    "classroom": "style",
    "LivePanel": "widgets",
    "Superseded": "widgets",
    "lr_slider": "widgets",
    "batch_slider": "widgets",
    "int_slider": "widgets",
    "choice_slider": "widgets",
    "optim": "optim",
    "race": "race",
    "load_data_fashion_mnist": "fashion_mnist",
    "get_fashion_mnist_labels": "fashion_mnist",
    "fashion_mnist_tensors": "fashion_mnist",
}


def __getattr__(name: str):
    """Import plotting, widget and dataset helpers when they are first asked for."""
    if name not in _LAZY:
        raise AttributeError(f"module 'd2lmini' has no attribute {name!r}")
    module = import_module(f".{_LAZY[name]}", __name__)
    return module if _LAZY[name] == name else getattr(module, name)


__all__ = ["Batches", "History", "accuracy", "cross_entropy", "data_iter", "dropout_layer",
           "evaluate_accuracy", "l1_penalty", "l2_penalty", "linreg", "load_array", "set_seed",
           "sgd", "softmax", "squared_loss", "synthetic_data", "train", "try_gpu", "watch",
           *_LAZY]
