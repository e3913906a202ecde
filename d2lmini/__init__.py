"""d2lmini: the helpers that the d2lmini notebooks share.

Everything a chapter needs is importable from here, with d2l's names:
`synthetic_data`, `data_iter`, `linreg`, `squared_loss`, `sgd`, `load_array`, `try_gpu`, ...
The modules at this level are what the chapters teach, each readable line by line; the
`machinery` subpackage holds what a learner need not open (the live panel, the download,
the exercise checkers). Plotting, widget and dataset helpers load on first use, so that
`import d2lmini` stays cheap.
"""

from importlib import import_module

from . import autograd
from .autograd import add_to_class
from .data import Batches, data_iter, load_array, synthetic_data, two_class_2d
from .device import set_seed, try_gpu
from .language import set_language
from .regularize import dropout_layer, l1_penalty, l2_penalty
from .scratch import cross_entropy, linreg, sgd, softmax, squared_loss
from .training import History, TrainingInterrupted, accuracy, evaluate_accuracy, train

__version__ = "0.4.0"

# name -> module, imported on first use so that `import d2lmini` stays cheap
_LAZY = {
    "plot": "plot",
    "ema": "plot",
    "show_images": "plot",
    "words": "plot",
    "style": "style",
    "use_style": "machinery.figures",
    "classroom": "machinery.figures",
    "optim": "optim",
    "load_data_fashion_mnist": "fashion_mnist",
    "get_fashion_mnist_labels": "fashion_mnist",
    "fashion_mnist_tensors": "fashion_mnist",
    "machinery": "machinery",
    "check": "machinery.check",
    "race": "machinery.race",
    "plot_weight_histogram": "machinery.weight_histogram",
    "draw_graph": "machinery.graph",
    "watch": "machinery.stream",
    "LivePanel": "machinery.panel",
    "Superseded": "machinery.panel",
    "lr_slider": "machinery.controls",
    "batch_slider": "machinery.controls",
    "int_slider": "machinery.controls",
    "choice_slider": "machinery.controls",
}


def __getattr__(name: str):
    """Import plotting, widget and dataset helpers when they are first asked for."""
    if name not in _LAZY:
        raise AttributeError(f"module 'd2lmini' has no attribute {name!r}")
    module = import_module(f".{_LAZY[name]}", __name__)
    return module if _LAZY[name].rpartition(".")[2] == name else getattr(module, name)


__all__ = ["Batches", "History", "TrainingInterrupted", "accuracy", "add_to_class", "autograd",
           "cross_entropy", "data_iter", "dropout_layer", "evaluate_accuracy", "l1_penalty",
           "l2_penalty", "linreg", "load_array", "set_language", "set_seed", "sgd", "softmax",
           "squared_loss", "synthetic_data", "train", "try_gpu", "two_class_2d", *_LAZY]
