"""The live panel's controls: sliders on values people write (0.001, 0.002, 0.005, ...)."""

import math
from collections.abc import Sequence

import ipywidgets as widgets

from ..plot import number

SLIDERS = (widgets.IntSlider, widgets.FloatSlider, widgets.FloatLogSlider, widgets.SelectionSlider)


def nice_values(low: float, high: float) -> list[float]:
    """1, 2 and 5 times the powers of ten from low to high: 0.001, 0.002, 0.005, 0.01, ..."""
    values = []
    for exponent in range(math.floor(math.log10(low)), math.ceil(math.log10(high)) + 1):
        for mantissa in (1, 2, 5):
            value = float(f"{mantissa}e{exponent}")  # exactly 0.002, not 0.0020000000000000005
            if low * (1 - 1e-9) <= value <= high * (1 + 1e-9):
                values.append(value)
    return values


def lr_slider(value: float = 0.03, low: float = 1e-3, high: float = 10.0,
              also: Sequence[float] = ()) -> widgets.SelectionSlider:
    """A learning-rate slider on the 1-2-5 values from low to high, plus value and `also`."""
    if not 0 < low < high:
        raise ValueError(f"lr_slider needs 0 < low < high, got low={low!r}, high={high!r}")
    options = [float(v) for v in (value, *also)]
    for v in options:
        if not low <= v <= high:
            raise ValueError(f"lr_slider: {v!r} is outside low={low!r} .. high={high!r}")
    return _selection("learning rate", sorted({*nice_values(low, high), *options}), float(value))


def batch_slider(value: int, high: int, low: int = 1,
                 also: Sequence[int] = ()) -> widgets.SelectionSlider:
    """A batch-size slider on the powers of two from low to high (the data size), plus
    low, high, value and `also`: 1, 2, 4, 8, 10, 16, ..., 512, 1000."""
    if not 1 <= low <= high or int(low) != low or int(high) != high:
        raise ValueError(f"batch_slider needs whole numbers 1 <= low <= high, "
                         f"got low={low!r}, high={high!r}")
    options = [int(v) for v in (value, *also)]
    for v, given in zip(options, (value, *also)):
        if v != given or not low <= v <= high:
            raise ValueError(f"batch_slider: {given!r} is not a whole number in "
                             f"low={low!r} .. high={high!r}")
    powers = [2**k for k in range(int(math.log2(high)) + 1) if low <= 2**k <= high]
    return _selection("batch size", sorted({*powers, int(low), int(high), *options}), int(value))


def int_slider(description: str, value: int, low: int, high: int) -> widgets.IntSlider:
    """An integer slider from low to high (e.g. epochs)."""
    return widgets.IntSlider(value=value, min=low, max=high, description=description)


def choice_slider(description: str, value, options: Sequence) -> widgets.SelectionSlider:
    """A slider over the given values, e.g. choice_slider("λ", 0, [0, 1e-4, 1e-3, 1e-2])."""
    options = list(options)
    if value not in options:
        raise ValueError(f"choice_slider: value {value!r} must be one of the options {options}")
    return _selection(description, options, value)


def _selection(description: str, options: list, value) -> widgets.SelectionSlider:
    """A slider over the given values, each shown as people write it."""
    return widgets.SelectionSlider(options=[(number(v), v) for v in options], value=value,
                                   description=description)
