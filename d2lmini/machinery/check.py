"""Exercise checkers: run the learner's function on random inputs, answer in one line.

A checker passes only a function that is right in general, not one that is right only on the
inputs tried: it varies every argument (shapes, n = 1, hyperparameters, random inputs on each
call), checks that results keep their gradient where training needs it, and checks that a
random function draws fresh, independent random numbers. Checkers leave the notebook's random
numbers alone (each runs under torch.random.fork_rng).

Each call of the learner's function has a deadline, CALL_SECONDS, and all its calls in one
check together TOTAL_SECONDS: a function that sleeps or loops forever gets "took too long"
instead of holding the cell. Where Python can (the main thread, on a system with SIGALRM:
Linux and macOS, so Jupyter, Colab and Kaggle), a timer (signal.setitimer) interrupts the
function at the deadline, between two Python steps; one long torch operation is interrupted
only when it returns. Elsewhere (another thread, Windows) the time is measured after each call,
so an endless function still holds the cell. A timer set before the check (pytest-timeout's)
is put back with the time it had left.
"""

import copy
import functools
import math
import numbers
import signal
import threading
import time
from collections.abc import Callable

import torch

from .. import scratch
from ..autograd import Value
from ..language import either, say

# The verdicts, "✓ solved" and "✗ not solved yet", are language.MESSAGES': text symbols (U+2713,
# U+2717), not emoji, which need an emoji font.


def _keep_grad() -> str:
    """What to say when a result that training differentiates has lost its gradient (a
    function, not a constant: it speaks the language set when the check runs)."""
    return either("the result must keep its gradient, or training cannot learn through it: "
                  "compute it with torch operations only (no .detach(), .item(), float(), numpy "
                  "or torch.no_grad())",
                  "结果必须保留梯度，否则训练无法通过它学习：请只用torch运算来计算它（不要用"
                  ".detach()、.item()、float()、numpy或torch.no_grad()）")


def report(ok: bool, message: str, fix: str | None = None) -> bool:
    """Print one line, the verdict in words and a symbol, and return ok (a cell may assert it).

    An unsolved exercise reads "✗ not solved yet: <message> — fix <fix> and run this cell
    again", so that on Run All it looks like work to do, not like a broken notebook. `fix`
    defaults to "the function above". In d2lmini's Chinese (a Chinese chapter) it reads
    "✗ 尚未解决：<message>。请修改<fix>，然后再次运行本单元格".
    """
    if ok:
        print(say("verdict", verdict=say("solved"), message=message))
    else:
        fix = say("the function above") if fix is None else fix
        print(say("verdict", verdict=say("not solved"),
                  message=say("fix", message=message, fix=fix)))
    return ok


# Deadlines. The reference answers take under a millisecond a call (1 ms at most, cold, on
# this project's CI machine; a Python loop over every entry, as a learner may write dropout,
# 0.12 s): 2 s leaves a slow laptop 15 times that loop's time and still answers a class within
# seconds. The total bounds checkers that call the function hundreds of times (warmup_cosine:
# 713 calls); the loop-over-entries dropout needs 1 s of it.
CALL_SECONDS = 2.0
TOTAL_SECONDS = 20.0


class _TookTooLong(BaseException):
    """The learner's function ran past its deadline. A BaseException, like KeyboardInterrupt,
    so that an `except Exception` in the learner's function cannot swallow it."""


class _Deadline:
    """Gives each call of the learner's function CALL_SECONDS, and all of them TOTAL_SECONDS,
    during one check (a context manager; wrap(fn) gives the timed function)."""

    def __init__(self, name: str):
        self.name, self.spent, self.calls, self.running, self.fired = name, 0.0, 0, False, False
        self.by_total = False  # whether the call running now has less than CALL_SECONDS left
        self.timer = (hasattr(signal, "setitimer") and hasattr(signal, "SIGALRM")
                      and threading.current_thread() is threading.main_thread()
                      and signal.getsignal(signal.SIGALRM) is not None)  # None: set outside Python

    def __enter__(self) -> "_Deadline":
        if self.timer:
            self.old_handler = signal.signal(signal.SIGALRM, self._alarm)
            self.old_timer = signal.setitimer(signal.ITIMER_REAL, 0)  # put back in __exit__
            self.entered = time.monotonic()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
        if self.timer:
            signal.signal(signal.SIGALRM, self.old_handler)
            delay, interval = self.old_timer
            if delay:  # an earlier timer: the time it had left (at once if that has passed)
                left = delay - (time.monotonic() - self.entered)
                signal.setitimer(signal.ITIMER_REAL, max(left, 1e-3), interval)

    def stop(self) -> None:
        """No more alarms: the check is over (an alarm may have ended it anywhere)."""
        self.running = False
        if self.timer:
            signal.setitimer(signal.ITIMER_REAL, 0)

    def _alarm(self, signum, frame) -> None:
        if self.running:  # a late alarm after the call has returned is ignored
            self.fired = True
            raise _TookTooLong(self._message())

    def _message(self, took: float | None = None) -> str:
        if self.spent >= TOTAL_SECONDS or self.by_total:
            return either(f"{self.name} took too long: its {self.calls} calls took more than "
                          f"{TOTAL_SECONDS:g} s in all, where the reference takes under a "
                          f"millisecond a call: use tensor operations, not Python loops over "
                          f"entries",
                          f"{self.name}耗时过长：它的{self.calls}次调用共用了{TOTAL_SECONDS:g}秒"
                          f"以上，而参考实现每次调用不到1毫秒：请用张量运算，不要用Python循环"
                          f"逐个处理元素")
        ran = (either(f"ran {took:.3g} s, more than", f"运行了{took:.3g}秒，超过了") if took
               else either("ran past", "超过了"))
        return either(f"{self.name} took too long: a call {ran} the {CALL_SECONDS:g} s allowed "
                      f"(the reference takes under a millisecond): look for a loop that never "
                      f"ends or a time.sleep",
                      f"{self.name}耗时过长：有一次调用{ran}允许的{CALL_SECONDS:g}秒（参考实现"
                      f"不到1毫秒）：请检查是否有永不结束的循环或time.sleep")

    def wrap(self, fn: Callable) -> Callable:
        """fn, timed: raises _TookTooLong when a call runs past its deadline."""
        @functools.wraps(fn)
        def timed(*args, **kwargs):
            if self.running:  # a call inside a call runs under the outer call's deadline
                return fn(*args, **kwargs)
            limit = min(CALL_SECONDS, TOTAL_SECONDS - self.spent)
            self.by_total = limit < CALL_SECONDS
            if limit <= 0:
                raise _TookTooLong(self._message())
            self.calls += 1
            start = time.monotonic()
            self.running = True
            if self.timer:  # again every 0.1 s, should the function swallow the first one
                signal.setitimer(signal.ITIMER_REAL, limit, 0.1)
            try:
                result = fn(*args, **kwargs)
            finally:
                if self.timer:
                    signal.setitimer(signal.ITIMER_REAL, 0)
                self.running = False
                took = time.monotonic() - start
                self.spent += took
            if self.fired or took > limit:  # a swallowed alarm, or no timer here
                raise _TookTooLong(self._message(took))
            return result
        return timed


# checkers whose first argument may be a number instead of the learner's function
_TAKES_A_NUMBER = {"lr_max"}


def _keeps_rng(checker: Callable) -> Callable:
    """Run checker under torch.random.fork_rng, so that the notebook's random numbers stay as
    they were (checkers build models, whose initialisation draws random numbers); give the
    learner's function (the first argument) its deadlines; refuse what is not a function."""
    @functools.wraps(checker)
    def wrapper(*args, **kwargs):
        name = checker.__name__
        your_fn = args[0] if args else None
        if not callable(your_fn) and name not in _TAKES_A_NUMBER:
            result = (either(" (a result? pass the function itself, without (...))",
                             "（这是结果？请传入函数本身，不要加(...)）")
                      if isinstance(your_fn, torch.Tensor | numbers.Number | tuple) else "")
            return report(False, either(f"d2lmini.check.{name} needs your function, e.g. "
                                        f"d2lmini.check.{name}(my_{name}), got a "
                                        f"{type(your_fn).__name__}{result}",
                                        f"d2lmini.check.{name}需要传入你的函数，例如"
                                        f"d2lmini.check.{name}(my_{name})，得到的却是一个"
                                        f"{type(your_fn).__name__}{result}"),
                          fix=either("the argument of this check", "传给本检查的参数"))
        grad_mode = torch.is_grad_enabled()
        try:
            with torch.random.fork_rng(devices=[]), _Deadline(name) as deadline:
                if callable(your_fn):
                    args = (deadline.wrap(your_fn), *args[1:])
                try:
                    return checker(*args, **kwargs)
                except _TookTooLong as slow:
                    deadline.stop()
                    return report(False, str(slow))
        finally:  # an interrupted `with torch.no_grad()` in the learner's function
            torch.set_grad_enabled(grad_mode)
    return wrapper


def compare(your_fn: Callable, reference: Callable, make_args: Callable, name: str,
            trials: int = 5, atol: float = 1e-5, grad_args: dict[int, str] | None = None,
            diagnose: Callable | None = None, shape_hint: Callable | None = None,
            numbers_ok: bool = False) -> bool:
    """Check your_fn(*args) against reference(*args) on `trials` random argument tuples.

    make_args(generator, trial) gives the arguments of one trial. grad_args maps the position
    of each argument that training differentiates to its name: the result must then carry a
    gradient to it (when it is a tensor), equal to the reference's. diagnose(got, args) and
    shape_hint(got) may name a classic mistake when the values or the shape differ. With
    numbers_ok, a plain number may stand for a 0-d tensor (until the gradient is checked).
    """
    tried = []
    for trial in range(trials):
        args = make_args(torch.Generator().manual_seed(trial), trial)
        tried.append(args)
        try:
            got = your_fn(*[_copy(a) for a in args])
        except Exception as error:
            return report(False, either(f"{name} raised {type(error).__name__}: {error}",
                                        f"{name}引发了{type(error).__name__}：{error}"))
        if numbers_ok and isinstance(got, int | float) and not isinstance(got, bool):
            got = torch.tensor(float(got))
        want = reference(*args)
        hint = shape_hint(got) if shape_hint and isinstance(got, torch.Tensor) else None
        problem = _difference(got, want, args, atol, shape_hint=hint)
        if problem:
            mistake = (diagnose(got, args) if diagnose and isinstance(got, torch.Tensor)
                       and got.shape == want.shape and got.is_floating_point() else None)
            return report(False, either(f"{name}: {problem}", f"{name}：{problem}")
                          + (either(f" ({mistake})", f"（{mistake}）") if mistake else ""))
    for trial, args in enumerate(tried if grad_args else []):  # the values are right: gradients
        problem = _gradient_problem(your_fn, reference, args, grad_args, trial)
        if problem:
            return report(False, either(f"{name}: {problem}", f"{name}：{problem}"))
    return report(True, either(f"{name} agrees with the reference on {trials} random inputs",
                               f"{name}在{trials}组随机输入上与参考实现一致"))


def _gradient_problem(your_fn: Callable, reference: Callable, args: tuple,
                      grad_args: dict[int, str], trial: int) -> str | None:
    """What is wrong with the gradient of your_fn(*args) with respect to the tensor arguments
    named in grad_args (position -> name), compared with the reference's; None if nothing."""
    grad_args = {i: n for i, n in grad_args.items() if isinstance(args[i], torch.Tensor)}

    def run(fn):
        inputs = [_copy(a) for a in args]
        for i in grad_args:
            inputs[i].requires_grad_()
        return fn(*inputs), [inputs[i] for i in grad_args]

    try:
        got, leaves = run(your_fn)
    except Exception as error:
        return either(f"{_keep_grad()}; with inputs that require a gradient it raised "
                      f"{type(error).__name__}: {error}",
                      f"{_keep_grad()}；输入需要梯度时，它引发了{type(error).__name__}：{error}")
    if not isinstance(got, torch.Tensor):
        return either(f"it returned a {type(got).__name__}, but {_keep_grad()}",
                      f"它返回了一个{type(got).__name__}，但{_keep_grad()}")
    if not got.requires_grad:
        return _keep_grad()
    want, want_leaves = run(reference)
    weights = torch.randn(want.shape, generator=torch.Generator().manual_seed(100 + trial))
    grads = torch.autograd.grad((got * weights).sum(), leaves, allow_unused=True)
    want_grads = torch.autograd.grad((want * weights).sum(), want_leaves)
    for grad, want_grad, arg in zip(grads, want_grads, grad_args.values()):
        if grad is None or not torch.allclose(grad.float(), want_grad, atol=1e-4, rtol=1e-3):
            return either(f"the gradient with respect to {arg} is wrong: part of the "
                          f"computation is cut off from {arg} (no .detach(), .data or numpy on "
                          f"the way)",
                          f"关于{arg}的梯度不对：有一部分计算与{arg}断开了（计算过程中不要用"
                          f".detach()、.data或numpy）")
    return None


def _loss_shape_hint(got: torch.Tensor) -> str | None:
    """The usual cause of a per-example loss of the wrong shape."""
    if got.dim() == 2 and got.shape[0] == got.shape[1] and got.shape[0] > 1:
        return either("a (n, 1) minus an (n,) tensor broadcasts to (n, n); "
                      "reshape one like the other first",
                      "形状为(n, 1)的张量减去形状为(n,)的张量会广播成(n, n)；"
                      "请先把其中一个重塑成另一个的形状")
    if got.dim() == 3:
        return either("y may already have shape (n, 1): reshape it like y_hat, "
                      "y.reshape(y_hat.shape)",
                      "y的形状可能已经是(n, 1)：请把它重塑成y_hat的形状，即y.reshape(y_hat.shape)")
    if got.dim() == 0:
        return either("return one loss per example, not their mean or sum",
                      "请为每个样本返回一个损失，而不是它们的平均值或总和")
    return None


@_keeps_rng
def squared_loss(your_fn: Callable) -> bool:
    """Check a squared_loss(y_hat, y) that returns half the squared error per example, for y
    of shape (n,) or (n, 1) and any n (also 1), with the gradient with respect to y_hat."""
    def make_args(gen, trial):
        n = int(torch.randint(2, 20, (1,), generator=gen)) if trial < 5 else 1
        y_hat, y = torch.randn(n, 1, generator=gen), torch.randn(n, generator=gen)
        return y_hat, (y.reshape(n, 1) if trial % 2 else y)  # the chapter's labels are (n, 1)
    return compare(your_fn, scratch.squared_loss, make_args, "squared_loss", trials=6,
                   grad_args={0: "y_hat"}, shape_hint=_loss_shape_hint)


@_keeps_rng
def linreg(your_fn: Callable) -> bool:
    """Check a linreg(X, w, b) that returns X @ w + b for any n and d (also 1), b a tensor or
    a number, with the gradients with respect to w and b."""
    def make_args(gen, trial):
        n, d = (int(v) for v in torch.randint(1, 10, (2,), generator=gen))
        n, d = {5: (1, 3), 6: (7, 1)}.get(trial, (n, d))
        X, w = torch.randn(n, d, generator=gen), torch.randn(d, 1, generator=gen)
        b = torch.randn(1, generator=gen)
        return X, w, (0.5 if trial == 7 else b)  # the chapter also calls linreg(X, w, 0.0)
    return compare(your_fn, scratch.linreg, make_args, "linreg", trials=8,
                   grad_args={1: "w", 2: "b"})


@_keeps_rng
def sgd(your_fn: Callable) -> bool:
    """Check an sgd(params, lr, batch_size) that updates every parameter in place by
    lr * grad / batch_size and zeroes the gradients, for any lr, batch size and parameters."""
    for trial in range(6):
        gen = torch.Generator().manual_seed(trial)
        if trial == 0:
            shapes, lr, batch_size = [(3, 1), (1,)], 0.1, 4
        else:
            count = int(torch.randint(1, 5, (1,), generator=gen))
            shapes = [tuple(int(s) for s in torch.randint(1, 6, (1 + i % 2,), generator=gen))
                      for i in range(count)]
            lr = round(10 ** (float(torch.rand(1, generator=gen)) * 3 - 2.5), 4)
            batch_size = int(torch.randint(1, 300, (1,), generator=gen))
        params = [torch.randn(s, generator=gen).requires_grad_() for s in shapes]
        for p in params:
            p.grad = torch.randn(p.shape, generator=gen)
        before = [p.detach().clone() for p in params]
        steps = [lr * p.grad / batch_size for p in params]
        try:
            returned = your_fn(params, lr, batch_size)
        except Exception as error:
            return report(False, either(
                f"sgd raised {type(error).__name__}: {error}{_sgd_hint(error)}",
                f"sgd引发了{type(error).__name__}：{error}{_sgd_hint(error)}"))
        del returned  # whatever sgd returns is ignored: the parameters are what count
        problem = _sgd_problem(params, before, steps, lr, batch_size)
        if problem:
            return report(False, problem)
        for p in params:
            if p.grad is not None and p.grad.abs().sum() != 0:
                return report(False, either("sgd: the gradients were not zeroed (call "
                                            "param.grad.zero_())",
                                            "sgd：梯度没有清零（请调用param.grad.zero_()）"))
    return report(True, either("sgd updates in place and zeroes the gradients",
                               "sgd原地更新了参数，并将梯度清零"))


def _sgd_problem(params: list[torch.Tensor], before: list[torch.Tensor],
                 steps: list[torch.Tensor], lr: float, batch_size: int) -> str | None:
    """What is wrong with the parameters after a learner's sgd step, or None."""
    taken = [(b - p.detach()) for p, b in zip(params, before)]
    if all(torch.allclose(t, s, atol=1e-6) for t, s in zip(taken, steps)):
        return None
    message = either("sgd: the parameters are not param - lr * grad / batch_size",
                     "sgd：参数不等于param - lr * grad / batch_size")
    in_place = either(" (update them in place, e.g. `param -= ...`)",
                      "（请原地更新参数，例如`param -= ...`）")
    moved = [bool(t.abs().sum() > 0) for t in taken]
    if not any(moved):
        return message + in_place
    if not all(moved):
        return either(f"{message}: only {sum(moved)} of the {len(params)} parameters changed "
                      f"(loop over all of params)",
                      f"{message}：{len(params)}个参数中只有{sum(moved)}个改变了（请遍历params中"
                      f"的所有参数）")
    ratio = (sum((t * s).sum() for t, s in zip(taken, steps))
             / sum((s * s).sum() for s in steps)).item()
    if all(torch.allclose(t, ratio * s, atol=1e-6) for t, s in zip(taken, steps)):
        return either(f"{message}: with lr={lr:g} and batch_size={batch_size} the step is "
                      f"{ratio:.3g} times that (use the arguments lr and batch_size, not fixed "
                      f"numbers)",
                      f"{message}：当lr={lr:g}、batch_size={batch_size}时，实际更新量是应有值的"
                      f"{ratio:.3g}倍（请使用参数lr和batch_size，而不是固定的数）")
    return message + in_place


def _sgd_hint(error: Exception) -> str:
    """What usually causes this error in a learner's sgd."""
    if "leaf Variable" in str(error):
        return either(" (update the parameters under `with torch.no_grad():`)",
                      "（请在`with torch.no_grad():`下更新参数）")
    if "NoneType" in str(error):
        return either(" (`param = param - ...` makes a new tensor without a gradient; "
                      "update in place with `param -= ...`)",
                      "（`param = param - ...`会创建一个没有梯度的新张量；"
                      "请用`param -= ...`原地更新）")
    return ""


@_keeps_rng
def softmax(your_fn: Callable) -> bool:
    """Check a softmax(X) whose rows are probabilities: for logits of +-1000 (no overflow) and
    for moderate ones mixed with large ones (not an argmax), with its gradient."""
    def make_args(gen, trial):
        n, k = (int(v) for v in torch.randint(2, 10, (2,), generator=gen))
        if trial == 0:  # large logits only: exp overflows unless the row's max is subtracted
            return (torch.randn(n, k, generator=gen) * 1000,)
        n = 1 if trial == 5 else n
        # each row: moderate logits, large ones, or large and close together (no one-hot)
        scale = torch.tensor([3.0, 1000.0, 1.0])[torch.randint(0, 3, (n, 1), generator=gen)]
        shift = torch.where(scale == 1, 1000.0, 0.0) * torch.sign(torch.randn(n, 1, generator=gen))
        if trial == 1:
            scale, shift = torch.full((n, 1), 2.0), torch.zeros(n, 1)  # moderate only
        return (torch.randn(n, k, generator=gen) * scale + shift,)

    def diagnose(got, args):
        X, = args
        naive = torch.exp(X)
        if torch.allclose(got.detach(), naive / naive.sum(dim=1, keepdim=True), equal_nan=True):
            return None  # exp overflows: the values say enough (chapter 3 explains)
        if ((got == 0) | (got == 1)).all():
            return either("that is an argmax: 0s and a 1; every class gets a share "
                          "exp(x - max) / sum exp(x - max)",
                          "这是argmax：一个1，其余都是0；每个类别都应分到一份"
                          "exp(x - max) / sum exp(x - max)")
        global_max = torch.exp(X - X.max())
        if torch.allclose(got.detach(), global_max / global_max.sum(dim=1, keepdim=True),
                          equal_nan=True):
            return either("subtract each row's own largest logit, X.max(dim=1, keepdim=True)",
                          "请减去每一行自己的最大logit，即X.max(dim=1, keepdim=True)")
        return None
    return compare(your_fn, scratch.softmax, make_args, "softmax", trials=6,
                   grad_args={0: "X"}, diagnose=diagnose)


@_keeps_rng
def cross_entropy(your_fn: Callable) -> bool:
    """Check a cross_entropy(y_hat, y) that returns -log of each true-class probability, one
    per example, with the gradient with respect to y_hat."""
    def make_args(gen, trial):
        n, k = (int(v) for v in torch.randint(2, 10, (2,), generator=gen))
        n = 1 if trial == 5 else n
        sharp = 1.0 if trial < 3 else 3.0  # later trials: some probabilities close to 0 and 1
        return (torch.rand(n, k, generator=gen).mul(sharp).softmax(dim=1),
                torch.randint(0, k, (n,), generator=gen))

    def shape_hint(got):
        if got.dim() == 2 and got.shape[0] == got.shape[1]:
            return either("y_hat[:, y] takes every label's column for every row: pick one "
                          "entry per row with y_hat[range(len(y_hat)), y]",
                          "y_hat[:, y]会为每一行取出所有标签对应的列：请用"
                          "y_hat[range(len(y_hat)), y]在每行只取一个元素")
        return (either("return one loss per example, not their mean or sum",
                       "请为每个样本返回一个损失，而不是它们的平均值或总和")
                if got.dim() == 0 else None)
    return compare(your_fn, scratch.cross_entropy, make_args, "cross_entropy", trials=6,
                   grad_args={0: "y_hat"}, shape_hint=shape_hint)


@_keeps_rng
def accuracy(your_fn: Callable) -> bool:
    """Check an accuracy(y_hat, y) that returns the fraction of correct predictions (a tensor
    or a number), for any n (also 1) and number of classes."""
    def make_args(gen, trial):
        n, k = (int(v) for v in torch.randint(2, 30, (2,), generator=gen))
        n = {5: 1, 6: 200}.get(trial, n)
        return torch.randn(n, k, generator=gen), torch.randint(0, k, (n,), generator=gen)

    def reference(y_hat, y):
        return torch.tensor(float((y_hat.argmax(dim=1) == y).float().mean()))
    return compare(your_fn, reference, make_args, "accuracy", trials=7, numbers_ok=True)


@_keeps_rng
def huber_loss(your_fn: Callable) -> bool:
    """Check a huber_loss(y_hat, y, delta) that returns the Huber loss of each example, for
    any delta, y of shape (n,) or (n, 1), with the gradient with respect to y_hat."""
    def make_args(gen, trial):
        n = int(torch.randint(2, 20, (1,), generator=gen))
        delta = 0.5 + float(torch.rand(1, generator=gen)) * 1.5
        # spread 3: some errors fall below delta, some above, so both branches are tested
        y_hat, y = 3 * torch.randn(n, 1, generator=gen), 3 * torch.randn(n, generator=gen)
        if trial >= 5:  # the labels of chapter 2 are (n, 1); delta far from 1 too
            y, delta = y.reshape(n, 1), (0.2, 4.0)[trial - 5]
        return y_hat, y, delta

    def reference(y_hat, y, delta):
        return torch.nn.functional.huber_loss(y_hat, y.reshape(y_hat.shape), reduction="none",
                                              delta=delta)

    def diagnose(got, args):
        y_hat, y, delta = args
        if delta != 1 and torch.allclose(got.float(), reference(y_hat, y, 1.0), atol=1e-5):
            return either(f"that is the loss for delta = 1; use the argument delta (here "
                          f"{delta:.3g})",
                          f"这是delta = 1时的损失；请使用参数delta（这里是{delta:.3g}）")
        return None
    return compare(your_fn, reference, make_args, "huber_loss", trials=7,
                   grad_args={0: "y_hat"}, diagnose=diagnose, shape_hint=_loss_shape_hint)


# the (optimizer, loss) pairs a train_step is tried with: each trial changes both
_TRAIN_STEP_SETUPS = [
    (lambda ps: torch.optim.SGD(ps, lr=0.1), torch.nn.HuberLoss),
    (lambda ps: torch.optim.SGD(ps, lr=0.37), torch.nn.MSELoss),
    (lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.9, weight_decay=0.01), torch.nn.L1Loss),
    (lambda ps: torch.optim.Adam(ps, lr=0.01), torch.nn.HuberLoss),
]


@_keeps_rng
def train_step(your_fn: Callable) -> bool:
    """Check a train_step(net, loss, optimizer, X, y) that makes one step of the optimizer it
    is given on the loss it is given and returns the loss: zero_grad(), backward(), step(),
    with gradients left over from an earlier step; loss, optimizer and shapes change."""
    for trial, (make_optimizer, make_loss) in enumerate(_TRAIN_STEP_SETUPS):
        gen = torch.Generator().manual_seed(trial)
        n, d = (8, 3) if trial == 0 else (int(v) for v in torch.randint(1, 12, (2,), generator=gen))
        X, y = torch.randn(n, d, generator=gen), torch.randn(n, 1, generator=gen)
        net = torch.nn.Sequential(torch.nn.Linear(d, 1))
        with torch.no_grad():
            for p in net.parameters():
                p.copy_(torch.randn(p.shape, generator=gen))
                p.grad = torch.randn(p.shape, generator=gen)  # left over from an earlier step
        before = [p.detach().clone() for p in net.parameters()]
        want, want_loss = _optimizer_step(net, X, y, make_optimizer, make_loss, zero=True)
        stale, _ = _optimizer_step(net, X, y, make_optimizer, make_loss, zero=False)
        try:
            returned = your_fn(net, make_loss(), make_optimizer(net.parameters()), X, y)
        except Exception as error:
            hint = (either(" (the optimizer steps: optimizer.step(), not l.step())",
                           "（更新参数的是优化器：optimizer.step()，而不是l.step()）")
                    if "step" in str(error) else "")
            return report(False, either(
                f"train_step raised {type(error).__name__}: {error}{hint}",
                f"train_step引发了{type(error).__name__}：{error}{hint}"))
        got = [p.detach() for p in net.parameters()]
        if not _all_close(got, want):
            if all(torch.equal(g, b) for g, b in zip(got, before)):
                return report(False, either("train_step: the parameters did not change (call "
                                            "optimizer.zero_grad(), then l.backward(), then "
                                            "optimizer.step())",
                                            "train_step：参数没有改变（请依次调用"
                                            "optimizer.zero_grad()、l.backward()和"
                                            "optimizer.step()）"))
            if _all_close(got, stale):
                return report(False, either("train_step: the step used stale gradients too "
                                            "(call optimizer.zero_grad() before l.backward())",
                                            "train_step：这一步还用到了之前残留的梯度（请在"
                                            "l.backward()之前调用optimizer.zero_grad()）"))
            return report(False, either("train_step: the parameters differ from one step of "
                                        "the given optimizer on the given loss(net(X), y) (use "
                                        "the `loss` and `optimizer` passed in, not new ones; "
                                        "zero_grad, backward, step, in that order)",
                                        "train_step：参数与用给定的优化器在给定的loss(net(X), y)"
                                        "上更新一步的结果不同（请使用传入的`loss`和`optimizer`，"
                                        "不要新建；并按zero_grad、backward、step的顺序调用）"))
        value = returned.detach() if isinstance(returned, torch.Tensor) else returned
        try:
            ok = value is not None and abs(float(value) - want_loss) < 1e-5
        except (TypeError, ValueError, RuntimeError):
            ok = False
        if not ok:
            return report(False, either("train_step steps correctly but does not return the "
                                        "loss (return l, the loss before the step)",
                                        "train_step的更新正确，但没有返回损失（请返回l，即更新"
                                        "前的损失）"))
    return report(True, either("train_step clears old gradients, backpropagates and steps",
                               "train_step清除了旧梯度，进行了反向传播并更新了参数"))


def _optimizer_step(net: torch.nn.Module, X: torch.Tensor, y: torch.Tensor,
                    make_optimizer: Callable, make_loss: Callable,
                    zero: bool) -> tuple[list[torch.Tensor], float]:
    """The parameters after one step of a fresh optimizer on a copy of net; and the loss."""
    stale = [p.grad.clone() for p in net.parameters()]
    net = copy.deepcopy(net)  # deepcopy leaves the gradients behind: put them back
    for p, grad in zip(net.parameters(), stale):
        p.grad = grad
    optimizer = make_optimizer(net.parameters())
    if zero:
        optimizer.zero_grad()
    l = make_loss()(net(X), y)
    l.backward()
    optimizer.step()
    return [p.detach() for p in net.parameters()], l.item()


def _all_close(a: list[torch.Tensor], b: list[torch.Tensor]) -> bool:
    return all(torch.allclose(x, y, atol=1e-6) for x, y in zip(a, b))


@_keeps_rng
def weight_grad(your_fn: Callable) -> bool:
    """Check a weight_grad(net, X, y) that returns the gradient of nn.MSELoss()(net(X), y)
    with respect to net[0].weight, when net may hold gradients from an earlier backward."""
    for trial in range(5):
        gen = torch.Generator().manual_seed(trial)
        n, d = int(torch.randint(2, 20, (1,), generator=gen)), 2 + trial
        n, d = {3: (1, 4), 4: (30, 1)}.get(trial, (n, d))
        X, y = torch.randn(n, d, generator=gen), torch.randn(n, 1, generator=gen)
        net = torch.nn.Sequential(torch.nn.Linear(d, 1))
        with torch.no_grad():  # weights from gen: the verdict must not depend on the notebook
            for p in net.parameters():
                p.copy_(torch.randn(p.shape, generator=gen))
        stale = torch.randn(1, d, generator=gen)
        net[0].weight.grad = stale.clone() if trial else None  # trial 0: a fresh net
        want = torch.autograd.grad(torch.nn.functional.mse_loss(net(X), y), net[0].weight)[0]
        try:
            got = your_fn(net, X, y)
        except Exception as error:
            return report(False, either(f"weight_grad raised {type(error).__name__}: {error}",
                                        f"weight_grad引发了{type(error).__name__}：{error}"))
        if isinstance(got, torch.Tensor) and got.shape == want.shape and torch.allclose(
                got.float(), want + stale, atol=1e-5) and trial:
            return report(False, either("weight_grad: the gradient includes one left over from "
                                        "an earlier backward (call net.zero_grad() first)",
                                        "weight_grad：梯度中包含了之前一次backward残留的梯度"
                                        "（请先调用net.zero_grad()）"))
        problem = _difference(got, want, (), 1e-5)
        if problem:
            return report(False, either(f"weight_grad: {problem}", f"weight_grad：{problem}"))
    return report(True, either("weight_grad gives the gradient of the weight, shape (1, d)",
                               "weight_grad给出了权重的梯度，形状为(1, d)"))


def _copy(value):
    """A copy of a tensor argument, so the learner's function cannot change the reference's."""
    return value.clone() if isinstance(value, torch.Tensor) else value


def _difference(got, want: torch.Tensor, args: tuple, atol: float,
                shape_hint: str | None = None) -> str | None:
    """What is wrong with got compared with want, in words, or None when they agree."""
    if got is None:
        return either("returned None: did you forget `return`?", "返回了None：可能忘了写`return`")
    if not isinstance(got, torch.Tensor):
        return either(f"returned a {type(got).__name__}, expected a tensor",
                      f"返回了一个{type(got).__name__}，应为张量")
    got = got.detach()
    if got.dtype == torch.bool or got.is_complex():
        return either(f"returned a tensor of {got.dtype}, expected real numbers ({want.dtype})",
                      f"返回了{got.dtype}类型的张量，应为实数（{want.dtype}）")
    if got.shape != want.shape:
        hint = either(f": {shape_hint}", f"：{shape_hint}") if shape_hint else ""
        return either(f"returned shape {tuple(got.shape)}, expected {tuple(want.shape)}{hint}",
                      f"返回的形状为{tuple(got.shape)}，应为{tuple(want.shape)}{hint}")
    if not torch.allclose(got.float(), want.float(), atol=atol, rtol=1e-4):
        i = int((got - want).abs().argmax())
        ratio = (got.flatten()[i] / want.flatten()[i]).item() if want.flatten()[i] != 0 else None
        hint = (either(f" (off by a factor {ratio:.3g})", f"（是应有值的{ratio:.3g}倍）")
                if ratio and abs(ratio - 1) > 0.01 else "")
        return either(f"value {got.flatten()[i].item():.4g} where "
                      f"{want.flatten()[i].item():.4g} was expected{hint}",
                      f"有一个值为{got.flatten()[i].item():.4g}，应为"
                      f"{want.flatten()[i].item():.4g}{hint}")
    return None


# ---------------------------------------------------------------- chapter 4: optimizers

def _pair(got, name: str) -> str | None:
    """What is wrong with a returned pair of tensors, or None."""
    if not isinstance(got, tuple | list) or len(got) != 2:
        return either(f"{name} must return a pair (two values), got {type(got).__name__}",
                      f"{name}必须返回一对值（两个值），得到的却是一个{type(got).__name__}")
    return None


def _random_shape(gen: torch.Generator) -> tuple[int, ...]:
    """A random shape of 1 or 2 dimensions, sizes 1 to 5."""
    return tuple(int(s) for s in torch.randint(1, 6, (int(torch.randint(1, 3, (1,),
                                                                        generator=gen)),),
                                                 generator=gen))


def _close(got, want: torch.Tensor) -> bool:
    """Whether got is a tensor of want's shape with the same values."""
    return (isinstance(got, torch.Tensor) and got.shape == want.shape
            and torch.allclose(got.detach().float(), want, atol=1e-5, rtol=1e-4))


# (lr, momentum) tried: lr never equals 1 - momentum or momentum, so that each mistake shows
_MOMENTUM_SETTINGS = [(0.1, 0.8), (0.03, 0.9), (0.5, 0.3), (1.0, 0.99), (0.2, 0.5), (0.01, 0.6)]


@_keeps_rng
def momentum_step(your_fn: Callable) -> bool:
    """Check a momentum_step(w, v, g, lr, momentum) -> (w, v): v = momentum v + g, w -= lr v,
    for several lr and momentum values and shapes."""
    for trial, (lr, mu) in enumerate(_MOMENTUM_SETTINGS):
        gen = torch.Generator().manual_seed(trial)
        shape = (4,) if trial == 0 else _random_shape(gen)
        w, v, g = (torch.randn(shape, generator=gen) for _ in range(3))
        want_v = mu * v + g
        want = (w - lr * want_v, want_v)
        try:
            got = your_fn(w.clone(), v.clone(), g.clone(), lr, mu)
        except Exception as error:
            return report(False, either(
                f"momentum_step raised {type(error).__name__}: {error}",
                f"momentum_step引发了{type(error).__name__}：{error}"))
        problem = _pair(got, "momentum_step")
        if problem:
            return report(False, problem)
        if _difference(got[1], want[1], (), 1e-5):
            v_mistakes = [
                (mu * v + (1 - mu) * g, either("that v is the textbook average mu v + (1 - mu) g; "
                                               "torch's buffer is v = mu v + g",
                                               "这个v是教科书中的加权平均mu v + (1 - mu) g；"
                                               "torch的动量缓冲区是v = mu v + g")),
                (mu * v + lr * g, either("lr does not go into v: v = momentum v + g, then "
                                         "w = w - lr v",
                                         "v中不应有lr：先v = momentum v + g，再w = w - lr v")),
                (lr * v + g, either("lr and momentum are swapped", "lr和momentum用反了")),
                (0.9 * v + g, either("use the argument momentum, not 0.9",
                                     "请使用参数momentum，而不是0.9")),
            ]
            hint = next((h for value, h in v_mistakes if _close(got[1], value)), None)
            if hint:
                return report(False, either(f"momentum_step: {hint}", f"momentum_step：{hint}"))
            return report(False, either(f"momentum_step: the new v is wrong: "
                                        f"{_difference(got[1], want[1], (), 1e-5)}",
                                        f"momentum_step：新的v不对："
                                        f"{_difference(got[1], want[1], (), 1e-5)}"))
        if _difference(got[0], want[0], (), 1e-5):
            w_mistakes = [(w - lr * g, either(": step along the new velocity v, not the gradient g",
                                              "：应沿新的速度v更新，而不是沿梯度g")),
                          (w - lr * v, either(": step along the new v (update v first, then w)",
                                              "：应沿新的v更新（先更新v，再更新w）")),
                          (w - want_v, either(": multiply the step by lr", "：更新量要乘以lr")),
                          (w - 0.1 * want_v, either(": use the argument lr, not 0.1",
                                                    "：请使用参数lr，而不是0.1"))]
            hint = next((h for value, h in w_mistakes if _close(got[0], value)), "")
            return report(False, either(f"momentum_step: the new w is wrong{hint}",
                                        f"momentum_step：新的w不对{hint}"))
    return report(True, either(f"momentum_step matches torch.optim.SGD's momentum on "
                               f"{len(_MOMENTUM_SETTINGS)} random inputs",
                               f"momentum_step在{len(_MOMENTUM_SETTINGS)}组随机输入上与"
                               f"torch.optim.SGD的动量法一致"))


@_keeps_rng
def bias_correction(your_fn: Callable) -> bool:
    """Check a bias_correction(m, v, beta1, beta2, t) -> (m / (1 - beta1^t), v / (1 - beta2^t))
    for several steps t, several beta1 and beta2, and shapes."""
    settings = [(t, 0.9, 0.999) for t in [1, 2, 5, 10, 100]]
    # then other betas (none equal to Adam's defaults 0.9 and 0.999, so that each mistake shows)
    settings += [(1, 0.5, 0.95), (3, 0.8, 0.99), (7, 0.95, 0.9999), (50, 0.99, 0.98),
                 (1000, 0.85, 0.9995)]
    for trial, (t, beta1, beta2) in enumerate(settings):
        gen = torch.Generator().manual_seed(trial)
        shape = (3,) if trial < 5 else _random_shape(gen)
        m, v = torch.randn(shape, generator=gen), torch.rand(shape, generator=gen)
        want = (m / (1 - beta1 ** t), v / (1 - beta2 ** t))
        try:
            got = your_fn(m.clone(), v.clone(), beta1, beta2, t)
        except Exception as error:
            return report(False, either(
                f"bias_correction raised {type(error).__name__}: {error}",
                f"bias_correction引发了{type(error).__name__}：{error}"))
        problem = _pair(got, "bias_correction")
        if problem:
            return report(False, problem)
        for value, expected, which, x, beta, other in zip(got, want, ("m_hat", "v_hat"), (m, v),
                                                          (beta1, beta2), (beta2, beta1)):
            problem = _difference(value, expected, (), 1e-5)
            if not problem:
                continue
            names = ("beta1", "beta2") if which == "m_hat" else ("beta2", "beta1")
            mistakes = [(x / (1 - beta), either(" (the correction depends on t)",
                                                "（修正与t有关）")),
                        (x / (1 - other ** t), either(f" ({which} is corrected with {names[0]}, "
                                                      f"not {names[1]})",
                                                      f"（{which}应该用{names[0]}修正，而不是"
                                                      f"{names[1]}）")),
                        (x / (1 - (0.9 if which == "m_hat" else 0.999) ** t),
                         either(f" (use the argument {names[0]}, not Adam's default "
                                f"{0.9 if which == 'm_hat' else 0.999})",
                                f"（请使用参数{names[0]}，而不是Adam算法的默认值"
                                f"{0.9 if which == 'm_hat' else 0.999}）")),
                        (x / (1 - beta ** (t + 1)), either(" (t counts the steps from 1: use "
                                                           "beta^t)",
                                                           "（t从1开始计步：应为beta^t）"))]
            hint = next((h for wrong, h in mistakes if _close(value, wrong)), "")
            where = either(f"step t={t}", f"第t={t}步") + (
                either(f" with beta1={beta1:g}, beta2={beta2:g}",
                       f"（取beta1={beta1:g}，beta2={beta2:g}）") if trial > 4 else "")
            return report(False, either(f"bias_correction at {where}: {which}: {problem}{hint}",
                                        f"bias_correction在{where}时，{which}不对：{problem}{hint}"))
    return report(True, either("bias_correction gives m / (1 - beta1^t) and v / (1 - beta2^t)",
                               "bias_correction给出了m / (1 - beta1^t)和v / (1 - beta2^t)"))


def _lr_max_hint(got: float, A: torch.Tensor) -> str:
    """The classic mistake that gives got as lr_max for the symmetric matrix A, or ''."""
    eig = torch.linalg.eigvalsh(A)
    mistakes = [
        (2 / A.diagonal().max().item(), either("use the largest eigenvalue of A, not its largest "
                                               "diagonal entry (torch.linalg.eigvalsh)",
                                               "请用A的最大特征值，而不是它最大的对角元素"
                                               "（torch.linalg.eigvalsh）")),
        (1 / eig.max().item(), either("off by a factor 2: GD is stable while |1 - lr λ| < 1",
                                      "只有应有值的一半：只要|1 - lr λ| < 1，梯度下降就是稳定的")),
        (2 / eig.min().item(), either("the steepest direction (the largest eigenvalue) limits "
                                      "the learning rate",
                                      "限制学习率的是最陡的方向（最大特征值）")),
        (1 / eig.min().item(), either("use the largest eigenvalue of A, and 2 / λ, not 1 / λ",
                                      "请用A的最大特征值，并且用2 / λ，而不是1 / λ")),
        (2 / A.abs().sum(dim=1).max().item(), either("the largest row sum only bounds the "
                                                     "largest eigenvalue; compute the "
                                                     "eigenvalue itself",
                                                     "最大行和只是最大特征值的一个上界；"
                                                     "请计算特征值本身")),
        (2 / eig.sum().item(), either("2 / trace = 2 / (sum of the eigenvalues); only the "
                                      "largest eigenvalue limits the learning rate",
                                      "2 / trace即2 / (特征值之和)；限制学习率的只有最大特征值")),
    ]
    return next((either(f": {hint}", f"：{hint}") for value, hint in mistakes
                 if abs(got - value) <= 1e-3 * abs(value)), "")


@_keeps_rng
def lr_max(value, A: torch.Tensor | None = None) -> bool:
    """Check the largest stable learning rate of GD on (1/2) w^T A w: 2 / (largest eigenvalue).

    value is a number computed for the matrix A, or a function lr_max(A); a function is tried
    on A and on random symmetric positive definite matrices of sizes 1 to 5.
    """
    fix = either("lr_max above", "上面的lr_max")
    if A is not None:
        A, problem = _symmetric_matrix(A)
        if problem:
            return report(False, problem, fix=either("the matrix A given to this check",
                                                     "传给本检查的矩阵A"))
    if callable(value):
        return _lr_max_function(value, A)
    if A is None:
        return report(False, either("pass the matrix too: d2lmini.check.lr_max(lr_max, A)",
                                    "请把矩阵也传进来：d2lmini.check.lr_max(lr_max, A)"),
                      fix=fix)
    want = 2 / torch.linalg.eigvalsh(A).max().item()
    got = _number(value)
    if got is None:
        return report(False, either(f"lr_max must be a number or a function lr_max(A), got a "
                                    f"{type(value).__name__}",
                                    f"lr_max必须是一个数或函数lr_max(A)，得到的却是一个"
                                    f"{type(value).__name__}"), fix=fix)
    if abs(got - want) <= 1e-3 * want:
        return report(True, either(f"lr_max = {got:.4g}: GD converges below it and diverges "
                                   f"above",
                                   f"lr_max = {got:.4g}：学习率低于它时梯度下降收敛，高于它时"
                                   f"发散"), fix=fix)
    return report(False, either(f"lr_max = {got:.4g} is not the largest stable learning rate",
                                f"lr_max = {got:.4g}不是最大的稳定学习率")
                  + _lr_max_hint(got, A), fix=fix)


def _one_number(your_fn: Callable, call: str, *args) -> tuple[float | None, str | None]:
    """your_fn(*args) as a float and None, or None and what is wrong with it (call names the
    call in the message, e.g. "xavier_std(784, 10)")."""
    try:
        result = your_fn(*args)
    except Exception as error:
        return None, either(f"{call} raised {type(error).__name__}: {error}",
                            f"{call}引发了{type(error).__name__}：{error}")
    if result is None:
        return None, either(f"{call} returned None: did you forget `return`?",
                            f"{call}返回了None：可能忘了写`return`")
    got = _number(result)
    if got is None:
        return None, either(f"{call} returned {_what(result)}, expected one number",
                            f"{call}返回了{_what(result)}，应为一个数")
    return got, None


def _number(value) -> float | None:
    """value as a float if it is one number (a 0-d or 1-element tensor, a numpy number), or
    None (a string, a bool, None, a tensor of several numbers)."""
    if isinstance(value, str | bool | bytes) or value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError, RuntimeError):
        return None


def _what(value) -> str:
    """value's kind in words: 'a str', 'a tensor of shape (2,)'."""
    if isinstance(value, torch.Tensor):
        return either(f"a tensor of shape {tuple(value.shape)}",
                      f"一个形状为{tuple(value.shape)}的张量")
    return "None" if value is None else either(f"a {type(value).__name__}",
                                               f"一个{type(value).__name__}")


def _symmetric_matrix(A) -> tuple[torch.Tensor | None, str | None]:
    """A as a float64 tensor, and what is wrong with it as the matrix of (1/2) w^T A w: None,
    or a message (A must be square, symmetric, finite, with eigenvalues >= 0, the largest > 0)."""
    try:
        A = torch.as_tensor(A, dtype=torch.float64)
    except (TypeError, ValueError, RuntimeError):
        return None, either(f"A must be a square matrix of numbers, got a {type(A).__name__}",
                            f"A必须是由数组成的方阵，得到的却是一个{type(A).__name__}")
    if A.ndim != 2 or A.shape[0] != A.shape[1] or not len(A):
        return None, either(f"A must be a square matrix (n, n), got shape {tuple(A.shape)}: the "
                            f"loss (1/2) wᵀAw needs as many rows as columns",
                            f"A必须是方阵(n, n)，得到的形状却是{tuple(A.shape)}：损失(1/2) wᵀAw"
                            f"要求行数与列数相同")
    if not torch.isfinite(A).all():
        return None, either("A holds NaN or inf: give a matrix of finite numbers",
                            "A含有NaN或inf：请给出元素都是有限值的矩阵")
    if not torch.allclose(A, A.T, rtol=1e-5, atol=1e-8):
        return None, either("A must be symmetric (A == A.T): the curvature of (1/2) wᵀAw is "
                            "(A + A.T) / 2, so pass that",
                            "A必须是对称矩阵（A == A.T）：(1/2) wᵀAw的曲率是(A + A.T) / 2，"
                            "请传入它")
    eig = torch.linalg.eigvalsh(A)
    if eig.max() <= 0 or eig.min() < -1e-9 * eig.abs().max():
        return None, either(f"A must have eigenvalues >= 0, the largest > 0 (a bowl), got "
                            f"{eig.min().item():.3g} to {eig.max().item():.3g}: with a negative "
                            f"one GD diverges at any learning rate",
                            f"A的特征值必须都>= 0，且最大的> 0（碗形），得到的却是从"
                            f"{eig.min().item():.3g}到{eig.max().item():.3g}：只要有一个负的"
                            f"特征值，梯度下降在任何学习率下都会发散")
    return A, None


def _lr_max_function(your_fn: Callable, A: torch.Tensor | None) -> bool:
    """Check a function lr_max(A) on A and on random symmetric positive definite matrices."""
    gen = torch.Generator().manual_seed(0)
    matrices = [] if A is None else [torch.as_tensor(A, dtype=torch.float32)]
    for size in [2, 1, 3, 2, 5, 4]:
        Q, _ = torch.linalg.qr(torch.randn(size, size, generator=gen, dtype=torch.float64))
        eig = 0.1 + 10 * torch.rand(size, generator=gen, dtype=torch.float64)
        matrices.append((Q * eig) @ Q.T)  # Q diag(eig) Q^T: eigenvalues eig
    matrices.append(torch.diag(torch.tensor([1.0, 5.0, 2.0])))  # the largest not first
    for M in matrices:
        M = ((M + M.T) / 2).float()
        want = 2 / torch.linalg.eigvalsh(M.double()).max().item()
        try:
            result = your_fn(M.clone())
        except Exception as error:
            return report(False, either(f"lr_max(A) raised {type(error).__name__}: {error}",
                                        f"lr_max(A)引发了{type(error).__name__}：{error}"))
        got = _number(result)
        if got is None:
            return report(False, either(f"lr_max(A) returned {_what(result)}, expected one "
                                        f"number (2 / the largest eigenvalue)",
                                        f"lr_max(A)返回了{_what(result)}，应为一个数（2 / 最大"
                                        f"特征值）"))
        if not abs(got - want) <= 1e-3 * want:
            return report(False, either(f"lr_max(A) = {got:.4g} for a {len(M)}×{len(M)} matrix "
                                        f"whose largest stable learning rate is {want:.4g}",
                                        f"对一个{len(M)}×{len(M)}的矩阵，lr_max(A) = {got:.4g}，"
                                        f"而它的最大稳定学习率是{want:.4g}")
                          + _lr_max_hint(got, M.double()))
    return report(True, either(f"lr_max(A) = 2 / (largest eigenvalue of A) for {len(matrices)} "
                               f"matrices",
                               f"lr_max(A)在{len(matrices)}个矩阵上都等于2 / (A的最大特征值)"))


def _warmup_cosine(step: int, lr: float, warmup: int, total: int) -> float:
    """Linear warm-up lr (step + 1) / warmup, then a cosine from lr to 0 at step total."""
    if step < warmup:
        return lr * (step + 1) / warmup
    return lr * (1 + math.cos(math.pi * (step - warmup) / (total - warmup))) / 2


@_keeps_rng
def warmup_cosine(your_fn: Callable) -> bool:
    """Check a warmup_cosine(step, lr, warmup, total) schedule at every step 0..total of three
    fixed and five random schedules (warmup >= 1, total > warmup)."""
    schedules = [(0.1, 5, 50), (1.0, 10, 100), (3e-4, 1, 20)]
    gen = torch.Generator().manual_seed(0)
    for _ in range(5):
        lr = float(f"{10 ** (float(torch.rand(1, generator=gen)) * 4.5 - 4):.3g}")
        warmup = int(torch.randint(1, 30, (1,), generator=gen))
        schedules.append((lr, warmup, warmup + int(torch.randint(1, 150, (1,), generator=gen))))
    for lr, warmup, total in schedules:
        for step in range(total + 1):
            want = _warmup_cosine(step, lr, warmup, total)
            call = f"warmup_cosine(step={step}, lr={lr:g}, warmup={warmup}, total={total})"
            got, problem = _one_number(your_fn, call, step, lr, warmup, total)
            if problem:
                return report(False, problem)
            if not math.isclose(got, want, rel_tol=1e-6, abs_tol=1e-9 * lr):
                hint = ""
                if step < warmup and math.isclose(got, lr * (1 + math.cos(
                        math.pi * step / total)) / 2, rel_tol=1e-6):
                    hint = either(": warm up first, growing linearly over the first `warmup` "
                                  "steps",
                                  "：要先预热，在前`warmup`步中线性增长")
                elif step >= warmup:
                    hint = either(": the cosine starts at step `warmup` and lasts total - warmup "
                                  "steps",
                                  "：余弦从第`warmup`步开始，持续total - warmup步")
                return report(False, either(f"{call} = {got:.4g}, expected {want:.4g}{hint}",
                                            f"{call} = {got:.4g}，应为{want:.4g}{hint}"))
    return report(True, either(f"warmup_cosine agrees at every step of {len(schedules)} "
                               f"schedules",
                               f"warmup_cosine在{len(schedules)}个学习率调度的每一步上都正确"))


# ---------------------------------------------------------------- chapter 5: regularization

def _call_seeded(your_fn: Callable, seed: int, *args):
    """your_fn(*args) with the global random numbers seeded by seed, then put back."""
    with torch.random.fork_rng(devices=[]):  # leave the notebook's random numbers alone
        torch.manual_seed(seed)
        return your_fn(*args)


@_keeps_rng
def dropout_layer(your_fn: Callable) -> bool:
    """Check a dropout_layer(X, dropout) that zeroes each entry with probability dropout,
    independently of the others and afresh on each call, and scales the kept ones by
    1 / (1 - dropout), keeping the gradient; dropout 1 gives zeros, dropout 0 gives X."""
    gen = torch.Generator().manual_seed(0)
    X = torch.rand(100, 100, generator=gen) + 0.5  # no zeros, so a kept entry is never 0
    cases = [(X, p) for p in [0.5, 0.2, 0.8, 0.0, 1.0]]
    cases += [(torch.rand(shape, generator=gen) + 0.5, p)  # one example; other shapes
              for shape, p in [((1, 3000), 0.3), ((500, 7), 0.6), ((30, 200), 0.1)]]
    for seed, (X, p) in enumerate(cases):
        call = (f"dropout_layer(X, {p})" if X.shape == (100, 100) else
                either(f"dropout_layer(X of shape {tuple(X.shape)}, {p})",
                       f"dropout_layer(X, {p})（X的形状为{tuple(X.shape)}）"))
        try:
            got = _call_seeded(your_fn, seed, X.clone(), p)
        except Exception as error:
            hint = (either(" (when dropout == 1, return X * 0)", "（dropout == 1时，请返回X * 0）")
                    if p == 1 else "")
            return report(False, either(f"{call} raised {type(error).__name__}: {error}{hint}",
                                        f"{call}引发了{type(error).__name__}：{error}{hint}"))
        if not isinstance(got, torch.Tensor) or got.shape != X.shape:
            return report(False, either(f"{call}: {_difference(got, X, (), 0)}",
                                        f"{call}：{_difference(got, X, (), 0)}"))
        got = got.detach()
        if not torch.isfinite(got).all():
            return report(False, either(f"{call} gave nan or inf (when dropout == 1, "
                                        f"return X * 0: dividing by 1 - 1 = 0 fails)",
                                        f"{call}给出了nan或inf（dropout == 1时，请返回X * 0："
                                        f"除以1 - 1 = 0会出错）"))
        kept = got != 0
        share = kept.float().mean().item()
        if abs(share - (1 - p)) > 0.03:
            shared = _shared_mask(kept)
            if shared:
                return report(False, either(f"{call}: {shared}", f"{call}：{shared}"))
            return report(False, either(f"{call} kept {share:.0%} of the entries where "
                                        f"about {1 - p:.0%} was expected (keep each with "
                                        f"probability 1 - dropout)",
                                        f"{call}保留了{share:.0%}的元素，应为约{1 - p:.0%}"
                                        f"（每个元素应以概率1 - dropout保留）"))
        if p < 1 and not torch.allclose(got[kept], X[kept] / (1 - p), rtol=1e-5):
            unscaled = torch.allclose(got[kept], X[kept], rtol=1e-5)
            hint = either(": divide the kept entries by 1 - dropout (inverted dropout), so the "
                          "expected output stays X",
                          "：请把保留的元素除以1 - dropout（inverted dropout），使输出的期望"
                          "仍是X") if unscaled else ""
            return report(False, either(f"{call}: the kept entries are not X / (1 - dropout)"
                                        f"{hint}",
                                        f"{call}：保留的元素不等于X / (1 - dropout){hint}"))
    try:
        problem = _dropout_randomness(your_fn) or _dropout_gradient(your_fn)
    except Exception as error:
        problem = either(f"a later call raised {type(error).__name__}: {error}",
                         f"之后的一次调用引发了{type(error).__name__}：{error}")
    if problem:
        return report(False, either(f"dropout_layer: {problem}", f"dropout_layer：{problem}"))
    return report(True, either("dropout_layer keeps each entry with probability 1 - dropout and "
                               "scales it by 1 / (1 - dropout)",
                               "dropout_layer以概率1 - dropout保留每个元素，并将其乘以"
                               "1 / (1 - dropout)"))


def _shared_mask(kept: torch.Tensor) -> str | None:
    """Whether a mask of kept entries is the same for every row, or every column, or None."""
    how = either("keep each entry on its own coin flip, e.g. torch.rand(X.shape) < 1 - dropout",
                 "每个元素的去留应各自随机决定，例如torch.rand(X.shape) < 1 - dropout")
    if kept.dim() >= 2 and len(kept) > 1 and (kept == kept[:1]).all():
        return either(f"every row (example) gets the same mask: {how}",
                      f"每一行（样本）得到的掩码都相同：{how}")
    if kept.shape[-1] > 1 and (kept == kept[..., :1]).all():
        return either(f"every column of a row gets the same coin flip: {how}",
                      f"同一行中每一列的去留都相同：{how}")
    return None


def _dropout_randomness(your_fn: Callable, p: float = 0.5, calls: int = 40) -> str | None:
    """What is wrong with the randomness of a dropout_layer's masks, or None: each entry must
    be kept independently of the other entries of its row and column, and afresh each call."""
    X = torch.rand(64, 50, generator=torch.Generator().manual_seed(1)) + 0.5
    masks = []
    for i in range(calls):
        got = _call_seeded(your_fn, 1000 + i, X.clone(), p)
        if not isinstance(got, torch.Tensor) or got.shape != X.shape:
            return either(f"a later call {_difference(got, X, (), 0)}",
                          f"之后的一次调用{_difference(got, X, (), 0)}")
        masks.append(got.detach() != 0)
    masks = torch.stack(masks).float()  # (calls, rows, columns)
    if any(torch.equal(masks[i], masks[i + 1]) for i in range(calls - 1)):
        return either("it drops the same entries on every call: draw a fresh random mask each "
                      "call (no fixed seed or generator inside the function)",
                      "每次调用丢弃的都是相同的元素：每次调用都应重新抽取随机掩码（函数内不要"
                      "固定随机种子或生成器）")
    q = 1 - p
    rows, columns = masks.shape[1:]

    def spread(counts: torch.Tensor, size: int) -> float:  # 1 for independent entries
        return counts.var().item() / (size * q * (1 - q))
    how = either("keep each entry on its own coin flip, e.g. torch.rand(X.shape) < 1 - dropout",
                 "每个元素的去留应各自随机决定，例如torch.rand(X.shape) < 1 - dropout")
    if spread(masks.sum(dim=1), rows) > 3:
        return either(f"the rows (examples) do not get independent masks: {how}",
                      f"各行（样本）的掩码并不独立：{how}")
    if spread(masks.sum(dim=2), columns) > 3:
        return either(f"the entries of a row do not get independent coin flips: {how}",
                      f"同一行中各元素的去留并不独立：{how}")
    if spread(masks.sum(dim=2), columns) < 0.3:
        return either(f"each row keeps the same number of entries, not a random number: {how}",
                      f"每一行保留的元素个数都相同，而不是随机的：{how}")
    if spread(masks.sum(dim=(1, 2)), rows * columns) < 0.2:
        return either(f"every call keeps exactly the same number of entries, not a random "
                      f"number: {how}",
                      f"每次调用保留的元素个数都完全相同，而不是随机的：{how}")
    return None


def _dropout_gradient(your_fn: Callable, p: float = 0.5) -> str | None:
    """What is wrong with the gradient of a dropout_layer's output with respect to X, or None:
    it must be 1 / (1 - dropout) for the kept entries, and 0 for the dropped ones."""
    X = (torch.rand(20, 30, generator=torch.Generator().manual_seed(2)) + 0.5).requires_grad_()
    try:
        got = _call_seeded(your_fn, 2000, X * 1, p)  # X * 1: like a layer's input, not a leaf
    except Exception as error:
        return either(f"{_keep_grad()}; with an input that requires a gradient it raised "
                      f"{type(error).__name__}: {error}",
                      f"{_keep_grad()}；输入需要梯度时，它引发了{type(error).__name__}：{error}")
    if not isinstance(got, torch.Tensor) or got.shape != X.shape:
        return either(f"with an input that requires a gradient it {_difference(got, X, (), 0)}",
                      f"输入需要梯度时，它{_difference(got, X, (), 0)}")
    if not got.requires_grad:
        return _keep_grad()
    (grad,) = torch.autograd.grad(got.sum(), X, allow_unused=True)
    if grad is None or not torch.allclose(grad, (got.detach() != 0) / (1 - p), rtol=1e-5):
        return either("the gradient with respect to X is not 1 / (1 - dropout) on the kept "
                      "entries: compute the output as mask * X / (1 - dropout)",
                      "在保留的元素上，关于X的梯度不是1 / (1 - dropout)：请按"
                      "mask * X / (1 - dropout)计算输出")
    return None


@_keeps_rng
def l2_penalty(your_fn: Callable) -> bool:
    """Check an l2_penalty(w) that returns half the sum of the squares of w, for w of any
    shape, as a tensor that keeps its gradient (which is w)."""
    def make_args(gen, trial):
        rows, cols = (int(v) for v in torch.randint(1, 8, (2,), generator=gen))
        shape = {5: (int(rows) + 3,), 6: (int(cols) + 2, 1)}.get(trial, (rows, cols))
        return (torch.randn(shape, generator=gen),)

    def reference(w):
        return (w ** 2).sum() / 2
    return compare(your_fn, reference, make_args, "l2_penalty", trials=7, numbers_ok=True,
                   grad_args={0: "w"})


@_keeps_rng
def standardize(your_fn: Callable) -> bool:
    """Check a standardize(train, test) -> (train_scaled, test_scaled) that subtracts the
    training set's mean and divides by its standard deviation, per column, for both sets
    (the sample or the population standard deviation), and leaves train and test unchanged."""
    gen = torch.Generator().manual_seed(0)
    for trial in range(5):
        if trial == 0:  # columns of very different scales
            scale = torch.tensor([1.0, 10.0, 100.0])
            train = torch.randn(200, 3, generator=gen) * scale + 5
            test = torch.randn(50, 3, generator=gen) * scale + 8  # shifted
        else:  # one column and one test example; few training examples; random shapes
            columns, n_train, n_test = {1: (1, 40, 1), 2: (4, 5, 30)}.get(
                trial, (int(torch.randint(2, 7, (1,), generator=gen)),
                        int(torch.randint(10, 300, (1,), generator=gen)),
                        int(torch.randint(2, 60, (1,), generator=gen))))
            scale = 10 ** (torch.rand(columns, generator=gen) * 5 - 2)
            offset = (torch.rand(columns, generator=gen) - 0.5) * 100
            train = torch.randn(n_train, columns, generator=gen) * scale + offset
            test = torch.randn(n_test, columns, generator=gen) * scale + offset + scale / 2
        problem = _standardize_problem(your_fn, train, test)
        if problem:
            return report(False, problem)
    return report(True, either("standardize scales both sets with the training statistics",
                               "standardize用训练集的统计量标准化了两个数据集"))


def _standardize_problem(your_fn: Callable, train: torch.Tensor,
                         test: torch.Tensor) -> str | None:
    """What is wrong with your_fn(train, test) as a standardize, or None."""
    args = (train.clone(), test.clone())
    try:
        got = your_fn(*args)
    except Exception as error:
        return either(f"standardize raised {type(error).__name__}: {error}",
                      f"standardize引发了{type(error).__name__}：{error}")
    if not (isinstance(got, tuple | list) and len(got) == 2
            and all(isinstance(t, torch.Tensor) for t in got)):
        return either("standardize must return two tensors: (train_scaled, test_scaled)",
                      "standardize必须返回两个张量：(train_scaled, test_scaled)")
    if got[0].shape != train.shape or got[1].shape != test.shape:
        return either(f"standardize returned shapes {tuple(got[0].shape)} and "
                      f"{tuple(got[1].shape)}, expected {tuple(train.shape)} and "
                      f"{tuple(test.shape)} (statistics per column: dim=0)",
                      f"standardize返回的形状为{tuple(got[0].shape)}和{tuple(got[1].shape)}，"
                      f"应为{tuple(train.shape)}和{tuple(test.shape)}（统计量按列计算：dim=0）")

    def scaled(stats_from, unbiased):
        mean, std = stats_from.mean(dim=0), stats_from.std(dim=0, correction=int(unbiased))
        return (train - mean) / std, (test - mean) / std

    def matches(pair):
        return all(torch.allclose(g.detach().float(), w, atol=1e-4, rtol=1e-4)
                   for g, w in zip(got, pair))

    if any(matches(scaled(train, unbiased)) for unbiased in (True, False)):
        if not (torch.equal(args[0], train) and torch.equal(args[1], test)):
            return either("standardize changed train or test in place (`train -= ...`): return "
                          "new tensors and leave the data it is given as it was",
                          "standardize原地修改了train或test（`train -= ...`）：请返回新的张量，"
                          "不要改动传入的数据")
        return None
    both = torch.cat([train, test])
    if any(matches(scaled(both, unbiased)) for unbiased in (True, False)):
        return either("standardize used statistics of training and test data together: "
                      "the test set leaked in (use the training set's mean and std only)",
                      "standardize把训练数据和测试数据合在一起计算统计量：测试集的信息泄漏了进来"
                      "（只能用训练集的均值和标准差）")
    if len(test) == 1 and not torch.isfinite(got[1]).all():
        return either("standardize gave nan for a test set of one example: one new example has "
                      "no standard deviation of its own (use the training set's mean and std)",
                      "对只有一个样本的测试集，standardize给出了nan：单个新样本没有自己的标准差"
                      "（请用训练集的均值和标准差）")
    if len(test) > 1 and torch.allclose(got[1].detach().float().mean(dim=0),
                                        torch.zeros(test.shape[1]), atol=1e-4):
        return either("standardize scaled the test set with its own mean and std, which "
                      "hides how it differs (use the training set's mean and std)",
                      "standardize用测试集自己的均值和标准差缩放测试集，这会掩盖它与训练集的"
                      "差异（请用训练集的均值和标准差）")
    return either("standardize: the result is not (X - mean) / std with the training "
                  "set's mean and standard deviation per column (dim=0)",
                  "standardize：结果不是用训练集按列（dim=0）计算的均值和标准差得到的"
                  "(X - mean) / std")


def pick_lambd(lambd, valid_loss: dict, train_loss: dict | None = None) -> bool:
    """Check that lambd is the value with the lowest validation loss (valid_loss: λ -> loss)."""
    fix = either("best_lambd above", "上面的best_lambd")
    problem = _losses_problem(valid_loss, "valid_loss") or (
        None if train_loss is None else _losses_problem(train_loss, "train_loss"))
    if problem:
        return report(False, problem, fix=either("the arguments of this check",
                                                 "传给本检查的参数"))
    valid_loss = {float(k): float(v) for k, v in valid_loss.items()}
    train_loss = train_loss and {float(k): float(v) for k, v in train_loss.items()}
    tried = ", ".join(f"{v:g}" for v in valid_loss)
    number = _number(lambd)
    match = next((v for v in valid_loss if number is not None  # a number in any form
                  and math.isclose(v, number, rel_tol=1e-9, abs_tol=1e-12)), None)
    if match is None:
        return report(False, either(f"λ = {lambd!r} is not one of the values tried ({tried})",
                                    f"λ = {lambd!r}不是尝试过的值之一（{tried}）"), fix=fix)
    lambd = match
    if not math.isfinite(valid_loss[lambd]):
        return report(False, either(f"λ = {lambd:g} has validation loss {valid_loss[lambd]}: "
                                    f"its run diverged, so it cannot be the best",
                                    f"λ = {lambd:g}的验证损失为{valid_loss[lambd]}：这次运行"
                                    f"发散了，所以它不可能是最佳值"), fix=fix)
    best = min(valid_loss, key=lambda v: (not math.isfinite(valid_loss[v]), valid_loss[v]))
    if lambd == best:
        return report(True, either(f"λ = {lambd:g} has the lowest validation loss, "
                                   f"{valid_loss[lambd]:.4g}",
                                   f"λ = {lambd:g}的验证损失最低，为{valid_loss[lambd]:.4g}"),
                      fix=fix)
    if train_loss and lambd == min(train_loss, key=lambda v: (
            not math.isfinite(train_loss[v]), train_loss[v])):
        return report(False, either(f"λ = {lambd:g} has the lowest training loss, but λ is "
                                    f"there for new data: choose by the validation loss",
                                    f"λ = {lambd:g}的训练损失最低，但选λ是为了新数据：请按验证"
                                    f"损失来选"), fix=fix)
    return report(False, either(f"λ = {lambd:g} has validation loss {valid_loss[lambd]:.4g}; "
                                f"another value tried has a lower one",
                                f"λ = {lambd:g}的验证损失为{valid_loss[lambd]:.4g}；尝试过的另一"
                                f"个值的验证损失更低"), fix=fix)


def _losses_problem(losses, name: str) -> str | None:
    """What is wrong with losses as a dict {λ: final loss} of numbers, or None."""
    if not isinstance(losses, dict):
        return either(f"{name} must be a dict {{λ: final loss}}, e.g. {{lambd: run.metrics"
                      f"['{name}'][-1] for lambd, run in sweep.items()}}, got a "
                      f"{type(losses).__name__}",
                      f"{name}必须是一个字典{{λ: 最终损失}}，例如{{lambd: run.metrics"
                      f"['{name}'][-1] for lambd, run in sweep.items()}}，得到的却是一个"
                      f"{type(losses).__name__}")
    if not losses:
        return either(f"{name} is empty: run the sweep over λ first, so there is something to "
                      f"pick from",
                      f"{name}是空的：请先运行对λ的扫描，这样才有值可选")
    for key, value in losses.items():
        if _number(key) is None or _number(value) is None:
            return either(f"{name} must map each λ (a number) to its final loss (a number), "
                          f"got {key!r}: {value!r:.40}",
                          f"{name}必须把每个λ（一个数）映射到它的最终损失（一个数），得到的却是"
                          f"{key!r}: {value!r:.40}")
    if name == "valid_loss" and not any(math.isfinite(_number(v)) for v in losses.values()):
        return either(f"every run diverged ({name} holds only NaN or inf): rerun the sweep with "
                      f"a smaller learning rate",
                      f"每次运行都发散了（{name}中只有NaN或inf）：请用更小的学习率重新扫描")
    return None


# ---------------------------------------------------------------- chapter 6: backpropagation

def _isclose(got: float, want: float) -> bool:
    """Whether got equals want as far as float64 arithmetic allows (chapter 6 works in it)."""
    return math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-9)


@_keeps_rng
def softplus(your_fn: Callable) -> bool:
    """Check a softplus(x) for chapter 6's Value: a new Value log(1 + e^x) whose parent is x
    with local derivative sigmoid(x), for x in [-30, 30], also for an x that is computed (the
    gradient flows on) and used twice (the gradients add)."""
    gen = torch.Generator().manual_seed(0)
    xs = [1.0, 0.0, -1.0, 30.0, -30.0, 20.5, -12.25]
    xs += (torch.rand(8, generator=gen, dtype=torch.float64) * 60 - 30).tolist()
    for x in xs:
        problem = _softplus_problem(your_fn, x)
        if problem:
            return report(False, problem)
    for trial in range(4):  # x = a * b + a; the last two trials use softplus(x) twice
        a, b = (torch.rand(2, generator=gen, dtype=torch.float64) * 10 - 5).tolist()
        va, vb = Value(a), Value(b)
        x = va * vb + va
        uses = (1.0,) if trial < 2 else (1.0, 2.0)
        try:
            outs = [your_fn(x) for _ in uses]
            Value(0.0, [*zip(outs, uses), (x, 0.5)]).backward()
        except Exception as error:
            return report(False, either(f"softplus(x), x = a * b + a: backward() raised "
                                        f"{type(error).__name__}: {error}",
                                        f"softplus(x)，x = a * b + a：backward()引发了"
                                        f"{type(error).__name__}：{error}"))
        t = torch.tensor([a, b], dtype=torch.float64, requires_grad=True)
        tx = t[0] * t[1] + t[0]
        (sum(torch.nn.functional.softplus(tx, threshold=50) * u for u in uses)
         + 0.5 * tx).backward()
        got = [_number(v.grad) for v in (va, vb)]
        if None in got or not all(_isclose(g, w) for g, w in zip(got, t.grad.tolist())):
            used = (either(" used twice (the gradients of both uses add up)",
                           "，softplus(x)用了两次（两次使用的梯度应相加）")
                    if len(uses) > 1 else "")
            return report(False, either(f"softplus(x), x = a * b + a{used}: backward() gives "
                                        f"a.grad = {va.grad!r}, b.grad = {vb.grad!r}, expected "
                                        f"{t.grad[0]:.10g}, {t.grad[1]:.10g}",
                                        f"softplus(x)，x = a * b + a{used}：backward()得到"
                                        f"a.grad = {va.grad!r}，b.grad = {vb.grad!r}，应为"
                                        f"{t.grad[0]:.10g}和{t.grad[1]:.10g}"))
    return report(True, either(f"softplus gives log(1 + e^x) and passes sigmoid(x) back to x, "
                               f"on {len(xs)} inputs and through a computed x used twice",
                               f"softplus在{len(xs)}个输入上给出log(1 + e^x)，并把sigmoid(x)"
                               f"传回x；x由计算得到、且被使用两次时也是如此"))


def _softplus_problem(your_fn: Callable, x: float) -> str | None:
    """What is wrong with your_fn(Value(x)) as softplus, or None."""
    v, call = Value(x), f"softplus(Value({x:g}))"
    try:
        out = your_fn(v)
    except Exception as error:
        hint = (either(" (x is a Value: compute with its number, x.data)",
                       "（x是一个Value：请用它的数值x.data来计算）")
                if "Value" in str(error) else "")
        return either(f"{call} raised {type(error).__name__}: {error}{hint}",
                      f"{call}引发了{type(error).__name__}：{error}{hint}")
    new = either("return a new Value(log(1 + e^x), [(x, local derivative)])",
                 "请返回一个新的Value(log(1 + e^x), [(x, 局部导数)])")
    if out is None:
        return either(f"{call} returned None: did you forget `return`?",
                      f"{call}返回了None：可能忘了写`return`")
    if not (hasattr(out, "data") and hasattr(out, "parents")):
        return either(f"{call} returned {_what(out)}, expected a Value, which remembers its "
                      f"input: {new}",
                      f"{call}返回了{_what(out)}，应为一个会记住其输入的Value：{new}")
    if out is v or v.data != x:
        did = (either("returned x itself", "返回了x本身") if v.data == x
               else either("changed x.data", "修改了x.data"))
        return either(f"{call} {did}: {new}", f"{call}{did}：{new}")
    if v.grad != 0:
        return either(f"{call} changed x.grad: the forward pass only records the local "
                      f"derivative, {new}; backward() fills .grad",
                      f"{call}修改了x.grad：前向传播只记录局部导数，{new}；.grad由backward()"
                      f"来填写")
    t = torch.tensor(x, dtype=torch.float64)
    want, slope = torch.nn.functional.softplus(t, threshold=50).item(), Value(x).sigmoid().data
    got = _number(out.data)
    if got is None:
        return either(f"{call}.data is {_what(out.data)}, expected a number, log(1 + e^x) = "
                      f"{want:.10g}",
                      f"{call}.data是{_what(out.data)}，应为一个数，即log(1 + e^x) = "
                      f"{want:.10g}")
    if not _isclose(got, want):
        low = math.isclose(got, want, rel_tol=1e-5, abs_tol=1e-6)
        hint = (either(" (float32? use math.log and math.exp on x.data: Python floats are "
                       "float64)",
                       "（用了float32？请对x.data使用math.log和math.exp：Python的float是float64）")
                if low else "")
        return either(f"{call}.data = {got:.10g}, expected log(1 + e^x) = {want:.10g}{hint}",
                      f"{call}.data = {got:.10g}，应为log(1 + e^x) = {want:.10g}{hint}")
    try:
        pairs = [(node, local) for node, local in out.parents]
    except (TypeError, ValueError):
        return either(f"{call}.parents must hold (input, local derivative) pairs: {new}",
                      f"{call}.parents必须由(输入, 局部导数)对组成：{new}")
    if not pairs:
        return either(f"{call} has no parents, so backward() cannot reach x: {new}",
                      f"{call}没有parents，所以backward()到达不了x：{new}")
    node, local = pairs[0]
    if len(pairs) > 1 or node is not v:
        if _reaches(out, v):
            return either(f"{call} is built from other operations: its gradient is right, but "
                          f"the exercise is one operation with its own local derivative: {new}",
                          f"{call}是由其他运算拼成的：它的梯度是对的，但这道练习要的是一个带有"
                          f"自己局部导数的运算：{new}")
        if getattr(node, "data", None) == x:
            return either(f"{call}'s parent is a copy of x, Value(x.data), which cuts the "
                          f"graph: backward() stops at the copy; the parent must be x itself: "
                          f"{new}",
                          f"{call}的父节点是x的副本Value(x.data)，这会切断计算图：backward()"
                          f"在副本处就停下了；父节点必须是x本身：{new}")
        return either(f"{call}'s parent must be x itself, the Value passed in: {new}",
                      f"{call}的父节点必须是x本身，即传入的那个Value：{new}")
    got = _number(local)
    if got is None:
        return either(f"{call}: the local derivative must be a number, got {_what(local)} "
                      f"(a Value? take its .data)",
                      f"{call}：局部导数必须是一个数，得到的却是{_what(local)}（是Value？请取"
                      f"它的.data）")
    if _isclose(got, slope):
        return None
    mistakes = [(Value(-x).sigmoid().data, either("that is sigmoid(-x): check the sign",
                                                  "这是sigmoid(-x)：请检查符号")),
                (want, either("that is the output log(1 + e^x), not its derivative",
                              "这是输出log(1 + e^x)，而不是它的导数")),
                (math.exp(x), either("e^x is the derivative of 1 + e^x only: apply the chain "
                                     "rule through the log too",
                                     "e^x只是1 + e^x的导数：还要对log应用链式法则"))]
    hint = next((either(f" ({h})", f"（{h}）") for value, h in mistakes if _isclose(got, value)),
                "")
    return either(f"{call}: the local derivative is {got:.10g}, expected d/dx log(1 + e^x) = "
                  f"{slope:.10g}{hint}",
                  f"{call}：局部导数为{got:.10g}，应为d/dx log(1 + e^x) = {slope:.10g}{hint}")


def _reaches(node, target, limit: int = 1000) -> bool:
    """Whether target is among the inputs of node, at any depth (a few graphs' worth)."""
    stack, seen = [node], set()
    while stack and len(seen) < limit:
        node = stack.pop()
        if node is target:
            return True
        if id(node) not in seen:
            seen.add(id(node))
            stack.extend(p[0] for p in getattr(node, "parents", ()) if isinstance(p, tuple | list)
                         and p)
    return False


@_keeps_rng
def linear_grads(your_fn: Callable) -> bool:
    """Check a linear_grads(X, W, b, dY) -> (dX, dW, db), the gradients of a loss L with
    respect to X, W and b of Y = X @ W + b, given dY = ∂L/∂Y, against torch.autograd, for
    n = 1, d_out = 1, square and non-square W."""
    gen = torch.Generator().manual_seed(0)
    shapes = [(4, 3, 2), (1, 5, 3), (6, 3, 3), (5, 4, 1)]
    shapes += [tuple(int(s) for s in torch.randint(1, 8, (3,), generator=gen)) for _ in range(3)]
    for n, d_in, d_out in shapes:
        X, W, b, dY = (torch.randn(s, generator=gen)
                       for s in [(n, d_in), (d_in, d_out), (d_out,), (n, d_out)])
        leaves = [t.clone().requires_grad_() for t in (X, W, b)]
        ((leaves[0] @ leaves[1] + leaves[2]) * dY).sum().backward()  # a loss whose ∂L/∂Y is dY
        call = either(f"linear_grads with X of shape {(n, d_in)}, W of shape {(d_in, d_out)}",
                      f"linear_grads在X的形状为{(n, d_in)}、W的形状为{(d_in, d_out)}时")
        try:
            got = your_fn(X.clone(), W.clone(), b.clone(), dY.clone())
        except Exception as error:
            hint = (either(" (check the shapes: dX = dY @ W.T is (n, d_out) @ (d_out, d_in), "
                           "dW = X.T @ dY is (d_in, n) @ (n, d_out))",
                           "（请检查形状：dX = dY @ W.T是(n, d_out) @ (d_out, d_in)，"
                           "dW = X.T @ dY是(d_in, n) @ (n, d_out)）")
                    if "shapes" in str(error) else "")
            return report(False, either(f"{call} raised {type(error).__name__}: {error}{hint}",
                                        f"{call}引发了{type(error).__name__}：{error}{hint}"))
        if not isinstance(got, tuple | list) or len(got) != 3:
            size = (either(f" of {len(got)}", f"（长度为{len(got)}）")
                    if isinstance(got, tuple | list) else "")
            return report(False, either(f"linear_grads must return three tensors (dX, dW, db), "
                                        f"got {_what(got)}{size}",
                                        f"linear_grads必须返回三个张量(dX, dW, db)，得到的却是"
                                        f"{_what(got)}{size}"))
        for name, value, want in zip(("dX", "dW", "db"), got, (t.grad for t in leaves)):
            problem = _difference(value, want, (), 1e-5)
            if problem:
                hint = _linear_grads_hint(name, value, X, W, dY)
                problem = _difference(value, want, (), 1e-5, shape_hint=hint)
                more = (either(f" ({hint})", f"（{hint}）")
                        if hint and problem.startswith(either("value", "有一个值")) else "")
                return report(False, either(f"{call}: {name}: {problem}{more}",
                                            f"{call}，{name}不对：{problem}{more}"))
    return report(True, either(f"linear_grads agrees with torch.autograd on {len(shapes)} "
                               f"layers: dX = dY @ W.T, dW = X.T @ dY, db = dY.sum(0)",
                               f"linear_grads在{len(shapes)}个层上与torch.autograd一致："
                               f"dX = dY @ W.T，dW = X.T @ dY，db = dY.sum(0)"))


def _linear_grads_hint(name: str, got, X: torch.Tensor, W: torch.Tensor,
                       dY: torch.Tensor) -> str | None:
    """The classic mistake that gives got as the gradient called name (dX, dW or db), or None."""
    if not isinstance(got, torch.Tensor):
        return None
    of, shape, fix = {"dX": ("X", X.shape, "dY @ W.T"), "dW": ("W", W.shape, "X.T @ dY"),
                      "db": ("b", W.shape[1:], either("sum dY over the examples, dY.sum(0)",
                                                      "对dY按样本求和，即dY.sum(0)"))}[name]
    if got.shape != shape:
        return either(f"{name} has {of}'s shape {tuple(shape)}: {fix}",
                      f"{name}应与{of}的形状{tuple(shape)}相同：{fix}")
    square = W.shape[0] == W.shape[1]  # then dY @ W and dY.T @ X have the right shapes
    if name == "dX":
        mistakes = [(dY @ W, either("W is transposed: dX = dY @ W.T",
                                    "W少了转置：dX = dY @ W.T"))] if square else []
    elif name == "dW":
        mistakes = [((dY.T @ X).reshape(W.shape), either("transposed: dW = X.T @ dY, not "
                                                         "dY.T @ X",
                                                         "结果被转置了：dW = X.T @ dY，而不是"
                                                         "dY.T @ X")
                     if square else either("reshape does not transpose: dW = X.T @ dY",
                                           "reshape并不是转置：dW = X.T @ dY")),
                    (X.T @ dY / len(X), either("do not divide by n: dY = ∂L/∂Y already holds "
                                               "any 1/n of a mean loss",
                                               "不要除以n：平均损失中的1/n已经包含在"
                                               "dY = ∂L/∂Y中了"))]
    else:
        mistakes = [(dY.mean(0), either("sum over the examples, not mean: each example adds its "
                                        "own",
                                        "要对样本求和，而不是求平均：每个样本都贡献自己的一份"))]
    return next((hint for value, hint in mistakes if _close(got, value)), None)


@_keeps_rng
def xavier_std(your_fn: Callable) -> bool:
    """Check an xavier_std(fan_in, fan_out) that returns sqrt(2 / (fan_in + fan_out)), the
    standard deviation of Xavier (Glorot) normal initialization, for many pairs of fans."""
    gen = torch.Generator().manual_seed(0)
    pairs = [(784, 10), (10, 784), (256, 256), (1, 1), (1, 7), (3, 100), (512, 128)]
    pairs += [tuple(int(v) for v in torch.randint(1, 1000, (2,), generator=gen))
              for _ in range(5)]
    right = []  # the results so far, all right
    for fan_in, fan_out in pairs:
        want, call = math.sqrt(2 / (fan_in + fan_out)), f"xavier_std({fan_in}, {fan_out})"
        got, problem = _one_number(your_fn, call, fan_in, fan_out)
        if problem:
            return report(False, problem)
        if not math.isclose(got, want, rel_tol=1e-6):
            both = either("Xavier's variance keeps both passes, averaging fan_in and fan_out",
                          "Xavier初始化的方差兼顾前向和反向传播，对fan_in和fan_out取平均")
            mistakes = [
                (math.sqrt(1 / fan_in), either(f"that is LeCun's sqrt(1 / fan_in), which keeps "
                                               f"only the forward pass; {both}",
                                               f"这是LeCun初始化的sqrt(1 / fan_in)，只顾及前向"
                                               f"传播；{both}")),
                (math.sqrt(2 / fan_in), either(f"that is He's sqrt(2 / fan_in), for ReLU; {both}",
                                               f"这是He初始化的sqrt(2 / fan_in)，用于ReLU；"
                                               f"{both}")),
                (math.sqrt(1 / fan_out), either(f"sqrt(1 / fan_out) keeps only the backward "
                                                f"pass; {both}",
                                                f"sqrt(1 / fan_out)只顾及反向传播；{both}")),
                (2 / (fan_in + fan_out), either("that is a variance: take its square root",
                                                "这是方差：请取它的平方根")),
                (math.sqrt(6 / (fan_in + fan_out)), either("that is the bound a of the uniform "
                                                           "U(-a, a); its standard deviation is "
                                                           "a / sqrt(3)",
                                                           "这是均匀分布U(-a, a)的边界a；它的"
                                                           "标准差是a / sqrt(3)")),
                *((value, either("it gives the same number for every pair of fans: compute it "
                                 "from fan_in and fan_out",
                                 "它对每一组fan_in和fan_out都给出同一个数：请用fan_in和fan_out"
                                 "来计算")) for value in right)]
            hint = next((either(f": {h}", f"：{h}") for value, h in mistakes
                         if math.isclose(got, value, rel_tol=1e-6)), "")
            return report(False, either(f"{call} = {got:.4g}, expected {want:.4g}{hint}",
                                        f"{call} = {got:.4g}，应为{want:.4g}{hint}"))
        right.append(got)
    return report(True, either(f"xavier_std = sqrt(2 / (fan_in + fan_out)) for {len(pairs)} "
                               f"pairs",
                               f"xavier_std在{len(pairs)}组fan_in和fan_out上都等于"
                               f"sqrt(2 / (fan_in + fan_out))"))


def _numerical_grad_cases(gen: torch.Generator) -> list[tuple[Callable, torch.Tensor, float | None,
                                                              torch.Tensor, str]]:
    """(f, x, h or None for the default, expected result, what f is): f of float64 tensors."""
    def randn(*shape):
        return torch.randn(shape, generator=gen, dtype=torch.float64)

    def quadratic(d):
        M, c = randn(d, d) / d ** 0.5, randn(d)
        A = M @ M.T + torch.eye(d, dtype=torch.float64)
        def f(x):
            v = x.double().flatten()
            return 0.5 * v @ A @ v + c @ v
        return f

    def smooth(d):
        W, V, c = randn(3, d) / (2 * d ** 0.5), randn(3, d) / d ** 0.5, randn(3) / 2
        return lambda x: ((W @ x.double().flatten() + c).exp().sum()
                          + (V @ x.double().flatten()).tanh().sum())

    X, W2, y = randn(5, 3), randn(4, 1), randn(5, 1)

    def mlp_loss(W1):  # a tiny 2-layer network's loss as a function of its first weights
        return ((torch.tanh(X @ W1.double()) @ W2 - y) ** 2).mean()

    quadratic_form = either("a quadratic form", "二次型")
    exp_and_tanh = either("a sum of exp and tanh of an affine map", "仿射变换的exp与tanh之和")
    cases = [(quadratic(5), randn(5), None, quadratic_form),
             (smooth(1), randn(1), None, exp_and_tanh),
             (mlp_loss, randn(3, 4), None, either("a 2-layer network's loss as a function of W1",
                                                  "两层网络关于W1的损失函数")),
             (quadratic(12), randn(3, 4), None, quadratic_form),
             (smooth(5), randn(5), None, exp_and_tanh)]
    result = []
    for f, x, h, what in cases:
        leaf = x.clone().requires_grad_()
        result.append((f, x, h, torch.autograd.grad(f(leaf), leaf)[0], what))
    x = torch.rand(6, generator=gen, dtype=torch.float64) * 0.6 - 0.3
    # ((x + h)^3 - (x - h)^3) / 2h = 3x^2 + h^2: the central difference's own error is known
    result.append((lambda x: (x.double() ** 3).sum(), x, 1e-4, 3 * x ** 2 + 1e-8,
                   either("the sum of cubes", "立方和")))
    return result


def _finite_difference(f: Callable, x: torch.Tensor, h: float, back: float,
                       forth: float) -> torch.Tensor:
    """(f(x + forth h e_i) - f(x - back h e_i)) / ((forth + back) h) for every entry i."""
    grad, flat = torch.zeros_like(x), x.flatten()
    for i in range(len(flat)):
        e = torch.zeros_like(flat)
        e[i] = h
        grad.view(-1)[i] = ((f((flat + forth * e).reshape(x.shape))
                             - f((flat - back * e).reshape(x.shape))) / ((forth + back) * h))
    return grad


@_keeps_rng
def numerical_grad(your_fn: Callable) -> bool:
    """Check a numerical_grad(f, x, h=1e-5) that returns the central differences
    (f(x + h e_i) - f(x - h e_i)) / 2h for every entry of x, in x's shape, and leaves x
    unchanged, against torch.autograd, for several f and shapes of x, and for h=1e-4."""
    cases = _numerical_grad_cases(torch.Generator().manual_seed(0))
    for f, x, h, want, what in cases:
        step = "" if h is None else f", h={h:.0e}".replace("e-0", "e-")
        call = f"numerical_grad(f, x{step})"
        where = either(f"for {what}, x of shape {tuple(x.shape)}",
                       f"对于{what}（x的形状为{tuple(x.shape)}）")
        given = x.clone()
        try:
            got = your_fn(f, given) if h is None else your_fn(f, given, h=h)
        except Exception as error:
            hint = (either(" (give it the step as a parameter: def numerical_grad(f, x, h=1e-5))",
                           "（请把步长作为参数：def numerical_grad(f, x, h=1e-5)）")
                    if "argument" in str(error) else "")
            return report(False, either(f"{call} {where} raised {type(error).__name__}: "
                                        f"{error}{hint}",
                                        f"{where}，{call}引发了{type(error).__name__}："
                                        f"{error}{hint}"))
        problem = _difference(got, want, (), 0, shape_hint=either(
            "the gradient has x's shape: grad.reshape(x.shape)",
            "梯度的形状应与x相同：grad.reshape(x.shape)"))
        if problem and not problem.startswith(either("value", "有一个值")):
            return report(False, either(f"{call} {where} {problem}", f"{where}，{call}{problem}"))
        if not torch.equal(given, x):
            return report(False, either(f"{call} {where} changed the caller's x: work on a copy, "
                                        f"x.clone() (or put each entry back to its saved value)",
                                        f"{where}，{call}修改了调用者的x：请在副本x.clone()上"
                                        f"操作（或者把每个元素恢复为保存的值）"))
        if got.dtype != torch.float64:
            return report(False, either(f"{call} {where} returned a {got.dtype} tensor: keep "
                                        f"float64 (torch.zeros_like(x), not "
                                        f"torch.zeros(x.shape)): in float32 the rounding error "
                                        f"eps/h swamps the derivative",
                                        f"{where}，{call}返回了{got.dtype}张量：请保持float64"
                                        f"（用torch.zeros_like(x)，而不是torch.zeros(x.shape)）："
                                        f"在float32下，舍入误差eps/h会淹没导数"))
        got = got.detach()
        if not torch.allclose(got, want, rtol=1e-7, atol=1e-9):
            hint = _numerical_grad_hint(got, want, f, x, h or 1e-5)
            return report(False, either(f"{call} {where}: {hint}", f"{where}，{call}：{hint}"))
    return report(True, either(f"numerical_grad agrees with torch.autograd on {len(cases)} "
                               f"functions and shapes of x",
                               f"numerical_grad在{len(cases)}组函数和x的形状上与torch.autograd"
                               f"一致"))


def _numerical_grad_hint(got: torch.Tensor, want: torch.Tensor, f: Callable, x: torch.Tensor,
                         h: float) -> str:
    """What is wrong with got as the central differences of f at x, in words."""
    def close(a, b):
        return torch.allclose(a, b, rtol=1e-6, atol=1e-8)

    i = int((got - want).abs().argmax())
    message = either(f"entry {i} (flattened) is {got.flatten()[i]:.10g}, expected "
                     f"{want.flatten()[i]:.10g}",
                     f"展平后第{i}个元素为{got.flatten()[i]:.10g}，应为"
                     f"{want.flatten()[i]:.10g}")
    if any(close(got, _finite_difference(f, x, h, *way)) for way in [(0, 1), (1, 0)]):
        return either(f"{message} (use the central difference (f(x+h) - f(x-h)) / 2h: its error "
                      f"is of order h², not h)",
                      f"{message}（请用中心差分(f(x+h) - f(x-h)) / 2h：它的误差是h²阶的，而"
                      f"不是h阶）")
    if h != 1e-5 and close(got, _finite_difference(f, x, 1e-5, 1, 1)):
        return either(f"{message} (use the argument h, not a fixed step)",
                      f"{message}（请使用参数h，而不是固定的步长）")
    if got.numel() > 1 and close(got, got.flatten()[0].expand(got.shape)):
        return either(f"{message}: every entry is the same number, as when all of x moves at "
                      f"once: move one entry at a time, x + h e_i",
                      f"{message}：每个元素都是同一个数，就像x的所有元素一起移动了：请一次只"
                      f"移动一个元素，即x + h e_i")
    if got.dim() > 1 and got.shape[-1] > 1 and close(got, got[..., :1].expand(got.shape)):
        return either(f"{message}: each row holds one number, as when x[i] moves a whole row: "
                      f"move single entries, e.g. x.view(-1)[i] for i in range(x.numel())",
                      f"{message}：每一行都是同一个数，就像x[i]移动了一整行：请逐个移动单个"
                      f"元素，例如x.view(-1)[i] for i in range(x.numel())")
    if close(got.flatten()[0], want.flatten()[0]):
        return either(f"{message}: the first entry is right and a later one is not: put each "
                      f"entry back (x[i] = saved value) before moving the next",
                      f"{message}：第一个元素是对的，后面的却不对：移动下一个元素之前，请先把"
                      f"上一个恢复原值（x[i] = 保存的值）")
    return message
