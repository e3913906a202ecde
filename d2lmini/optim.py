"""Optimizers written from scratch, each a drop-in replacement for its torch.optim namesake.

Chapter 4 derives each update rule; here each class writes its rule in update(w, g, state,
...), with the formula beside each line, for every parameter w whose gradient g = w.grad is
not None (state holds w's momentum, running averages and step count t, from zero). Weight
decay is an L2 penalty added to the gradient, g + weight_decay * w, in all but AdamW, which
shrinks the weights instead ("decoupled"). Formulas, names and defaults are torch's (SGD asks
for lr). Each class subclasses torch.optim.Optimizer, so zero_grad(), param groups,
state_dict() and torch.optim.lr_scheduler work as with torch's (a scheduler changes
`group["lr"]`). Each class checks its hyperparameters in check_hyperparameters, for __init__'s
and for each param group's own; sparse gradients (nn.Embedding(sparse=True)) are refused, as
torch.optim refuses them, except by SGD, which takes them as torch's does.
"""

from collections.abc import Iterable

import torch

from .validate import check_number

__all__ = ["Optimizer", "SGD", "Adagrad", "RMSprop", "Adadelta", "Adam", "AdamW", "NAdam"]

Params = Iterable[torch.Tensor] | Iterable[dict]


# ---------------------------------------------------------------- argument checks

def _check_betas(betas) -> tuple[float, float]:
    """Return betas as two floats in [0, 1), else raise ValueError."""
    if not isinstance(betas, tuple | list) or len(betas) != 2:
        raise ValueError(f"betas must be a pair (beta1, beta2), each in [0, 1) "
                         f"(torch's default is (0.9, 0.999)), got {betas!r}")
    return (check_number(betas[0], "betas[0] (beta1)", 0, 1, hint=" (try 0.9)"),
            check_number(betas[1], "betas[1] (beta2)", 0, 1, hint=" (try 0.999)"))


def _check_lr(lr, default: float) -> float:
    return check_number(lr, "lr", 0, low_open=True, hint=f" (torch's default is {default:g})")


def _check_eps(eps, default: float) -> float:
    return check_number(eps, "eps", 0, low_open=True, hint=f" (torch's default is {default:g})")


def _check_weight_decay(weight_decay) -> float:
    return check_number(weight_decay, "weight_decay", 0, hint=" (0 means none)")


# ---------------------------------------------------------------- the common loop

class Optimizer(torch.optim.Optimizer):
    """A torch optimizer whose step() calls update(w, g, state, **hyperparameters) for each
    parameter w that has a gradient g: a subclass writes only its update rule. The
    hyperparameters are the keyword arguments given to __init__ (update takes the same names),
    read from each parameter group, where a scheduler may have changed lr."""

    sparse_gradients = False  # whether update() takes a sparse gradient (torch's SGD does)

    def __init__(self, params: Params, **defaults):
        defaults = self.check_hyperparameters(**defaults)
        super().__init__(params, defaults)
        self.hyper_names = list(defaults)  # lr, momentum, ...: what update() takes after state

    def step(self, closure=None):
        """Update every parameter that has a gradient; return closure() if one is given."""
        loss = closure() if closure is not None else None
        with torch.no_grad():  # an update is not part of the model: no graph for it
            for group in self.param_groups:
                hyper = {name: group[name] for name in self.hyper_names}
                for w in group["params"]:
                    if w.grad is not None:
                        self.check_gradient(w, hyper)
                        self.update(w, w.grad, self.state[w], **hyper)
        return loss

    @staticmethod
    def check_hyperparameters(**hyper) -> dict:
        """The hyperparameters as update() takes them; a subclass raises ValueError naming a bad
        one (this one accepts all)."""
        return hyper

    def add_param_group(self, param_group: dict) -> None:
        """torch's add_param_group (which __init__ calls for each group), after checking the
        group's hyperparameters as __init__ checks its own."""
        if isinstance(param_group, dict):  # else torch's message
            hyper = {name: param_group.get(name, value) for name, value in self.defaults.items()}
            try:
                param_group.update(self.check_hyperparameters(**hyper))
            except ValueError as error:
                raise ValueError(f"param group {len(self.param_groups)}: {error}") from None
        super().add_param_group(param_group)

    def check_gradient(self, w: torch.Tensor, hyper: dict) -> None:
        """Raise ValueError if w.grad is sparse and update() cannot take it, as torch.optim does."""
        if w.grad.layout == torch.strided:
            return
        name = type(self).__name__
        where = next(f"param_groups[{i}]['params'][{j}]"
                     for i, group in enumerate(self.param_groups)
                     for j, p in enumerate(group["params"]) if p is w)
        made = (f"the gradient of {where} (shape {tuple(w.shape)}) is sparse, as "
                f"nn.Embedding(..., sparse=True) makes it")
        if not self.sparse_gradients:
            raise ValueError(
                f"{name} does not support sparse gradients: {made}. Make the layer with "
                f"sparse=False, or use an optimizer that takes them: d2lmini.optim.SGD, "
                f"torch.optim.Adagrad or torch.optim.SparseAdam")
        if hyper.get("weight_decay"):
            raise ValueError(
                f"{name} does not support sparse gradients with weight_decay > 0 (neither does "
                f"torch.optim.{name}: g + weight_decay * w is not sparse): {made}. Use "
                f"weight_decay=0, or make the layer with sparse=False")

    def update(self, w: torch.Tensor, g: torch.Tensor, state: dict, **hyper) -> None:
        """Step parameter w, whose gradient is g; state is w's own dict (empty at first)."""
        raise NotImplementedError


# ---------------------------------------------------------------- the optimizers

class SGD(Optimizer):
    """Stochastic gradient descent, with momentum v = mu v + g and Nesterov as torch has them."""

    sparse_gradients = True  # with weight_decay=0, as torch's

    def __init__(self, params: Params, lr: float, momentum: float = 0, nesterov: bool = False,
                 weight_decay: float = 0):
        super().__init__(params, lr=lr, momentum=momentum, nesterov=nesterov,
                         weight_decay=weight_decay)

    @staticmethod
    def check_hyperparameters(lr, momentum, nesterov, weight_decay) -> dict:
        """The hyperparameters as update() takes them, or ValueError naming the bad one."""
        lr = _check_lr(lr, default=1e-3)
        momentum = check_number(momentum, "momentum", 0, hint=" (0 means none; try 0.9)")
        if nesterov and momentum == 0:
            raise ValueError("nesterov=True needs a momentum > 0 (try momentum=0.9), got "
                             "momentum=0")
        return dict(lr=lr, momentum=momentum, nesterov=bool(nesterov),
                    weight_decay=_check_weight_decay(weight_decay))

    def update(self, w, g, state, lr, momentum, nesterov, weight_decay):
        if weight_decay:
            g = g + weight_decay * w
        if momentum:
            if "v" not in state:
                state["v"] = g.clone()                   # first step: v = g
            else:
                state["v"].mul_(momentum).add_(g)        # v = mu v + g
            v = state["v"]
            g = g + momentum * v if nesterov else v
        w -= lr * g


class Adagrad(Optimizer):
    """Adagrad: each coordinate's step is divided by the root of its summed squared gradients."""

    def __init__(self, params: Params, lr: float = 0.01, eps: float = 1e-10,
                 weight_decay: float = 0):
        super().__init__(params, lr=lr, eps=eps, weight_decay=weight_decay)

    @staticmethod
    def check_hyperparameters(lr, eps, weight_decay) -> dict:
        """The hyperparameters as update() takes them, or ValueError naming the bad one."""
        return dict(lr=_check_lr(lr, default=0.01), eps=_check_eps(eps, 1e-10),
                    weight_decay=_check_weight_decay(weight_decay))

    def update(self, w, g, state, lr, eps, weight_decay):
        if weight_decay:
            g = g + weight_decay * w
        if not state:
            state["s"] = torch.zeros_like(w)
        s = state["s"]
        s += g * g                                       # s = s + g^2
        w -= lr * g / (s.sqrt() + eps)


class RMSprop(Optimizer):
    """RMSprop: Adagrad with a running average of squared gradients instead of their sum."""

    def __init__(self, params: Params, lr: float = 0.01, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0):
        super().__init__(params, lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay)

    @staticmethod
    def check_hyperparameters(lr, alpha, eps, weight_decay) -> dict:
        """The hyperparameters as update() takes them, or ValueError naming the bad one."""
        lr = _check_lr(lr, default=0.01)
        alpha = check_number(alpha, "alpha", 0, 1, high_open=False, hint=" (try 0.99)")
        return dict(lr=lr, alpha=alpha, eps=_check_eps(eps, 1e-8),
                    weight_decay=_check_weight_decay(weight_decay))

    def update(self, w, g, state, lr, alpha, eps, weight_decay):
        if weight_decay:
            g = g + weight_decay * w
        if not state:
            state["s"] = torch.zeros_like(w)
        s = state["s"]
        s.mul_(alpha).addcmul_(g, g, value=1 - alpha)   # s = alpha s + (1 - alpha) g^2
        w -= lr * g / (s.sqrt() + eps)                   # eps outside the root


class Adadelta(Optimizer):
    """Adadelta: RMSprop whose step size is a running average of its own past steps."""

    def __init__(self, params: Params, lr: float = 1.0, rho: float = 0.9, eps: float = 1e-6,
                 weight_decay: float = 0):
        super().__init__(params, lr=lr, rho=rho, eps=eps, weight_decay=weight_decay)

    @staticmethod
    def check_hyperparameters(lr, rho, eps, weight_decay) -> dict:
        """The hyperparameters as update() takes them, or ValueError naming the bad one."""
        lr = _check_lr(lr, default=1.0)
        rho = check_number(rho, "rho", 0, 1, high_open=False, hint=" (try 0.9)")
        return dict(lr=lr, rho=rho, eps=_check_eps(eps, 1e-6),
                    weight_decay=_check_weight_decay(weight_decay))

    def update(self, w, g, state, lr, rho, eps, weight_decay):
        if weight_decay:
            g = g + weight_decay * w
        if not state:
            state["s"], state["d"] = torch.zeros_like(w), torch.zeros_like(w)
        s, d = state["s"], state["d"]
        s.mul_(rho).addcmul_(g, g, value=1 - rho)       # s = rho s + (1 - rho) g^2
        delta = g * (d + eps).sqrt() / (s + eps).sqrt()
        d.mul_(rho).addcmul_(delta, delta, value=1 - rho)  # d = rho d + (1 - rho) delta^2
        w -= lr * delta


class Adam(Optimizer):
    """Adam: RMSprop plus momentum, both averages corrected for starting at zero."""

    def __init__(self, params: Params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)

    @staticmethod
    def check_hyperparameters(lr, betas, eps, weight_decay) -> dict:
        """The hyperparameters as update() takes them, or ValueError naming the bad one."""
        return dict(lr=_check_lr(lr, default=1e-3), betas=_check_betas(betas),
                    eps=_check_eps(eps, 1e-8), weight_decay=_check_weight_decay(weight_decay))

    def update(self, w, g, state, lr, betas, eps, weight_decay):
        beta1, beta2 = betas
        if weight_decay:
            g = g + weight_decay * w                     # L2 in the gradient (AdamW differs)
        if not state:
            state.update(t=0, m=torch.zeros_like(w), v=torch.zeros_like(w))
        state["t"] += 1
        t, m, v = state["t"], state["m"], state["v"]
        m.lerp_(g, 1 - beta1)                            # m = beta1 m + (1 - beta1) g
        v.mul_(beta2).addcmul_(g, g, value=1 - beta2)    # v = beta2 v + (1 - beta2) g^2
        m_hat = m / (1 - beta1 ** t)
        v_hat = v / (1 - beta2 ** t)
        w -= lr * m_hat / (v_hat.sqrt() + eps)


class AdamW(Adam):
    """Adam with decoupled weight decay: the weights shrink by lr * weight_decay each step."""

    def __init__(self, params: Params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.01):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)

    def update(self, w, g, state, lr, betas, eps, weight_decay):
        w *= 1 - lr * weight_decay                       # decay the weights, not the gradient
        super().update(w, g, state, lr, betas, eps, weight_decay=0)


class NAdam(Optimizer):
    """NAdam: Adam with Nesterov momentum, whose momentum mu_t warms up towards beta1."""

    def __init__(self, params: Params, lr: float = 2e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, momentum_decay: float = 4e-3):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                         momentum_decay=momentum_decay)

    @staticmethod
    def check_hyperparameters(lr, betas, eps, weight_decay, momentum_decay) -> dict:
        """The hyperparameters as update() takes them, or ValueError naming the bad one."""
        return dict(lr=_check_lr(lr, default=2e-3), betas=_check_betas(betas),
                    eps=_check_eps(eps, 1e-8), weight_decay=_check_weight_decay(weight_decay),
                    momentum_decay=check_number(momentum_decay, "momentum_decay", 0,
                                                hint=" (try 4e-3)"))

    def update(self, w, g, state, lr, betas, eps, weight_decay, momentum_decay):
        beta1, beta2 = betas
        if weight_decay:
            g = g + weight_decay * w
        if not state:
            state.update(t=0, mu_product=1.0, m=torch.zeros_like(w), v=torch.zeros_like(w))
        state["t"] += 1
        t, m, v = state["t"], state["m"], state["v"]
        mu = beta1 * (1 - 0.5 * 0.96 ** (t * momentum_decay))
        mu_next = beta1 * (1 - 0.5 * 0.96 ** ((t + 1) * momentum_decay))
        state["mu_product"] *= mu                        # mu_1 mu_2 ... mu_t
        mu_product = state["mu_product"]
        m.lerp_(g, 1 - beta1)                            # m = beta1 m + (1 - beta1) g
        v.mul_(beta2).addcmul_(g, g, value=1 - beta2)    # v = beta2 v + (1 - beta2) g^2
        denom = (v / (1 - beta2 ** t)).sqrt() + eps
        w -= lr * (1 - mu) / (1 - mu_product) * g / denom
        w -= lr * mu_next / (1 - mu_product * mu_next) * m / denom
