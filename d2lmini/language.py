"""The language d2lmini speaks to you in: English, or Chinese in the Chinese chapters.

A chapter's setup cell sets it: `d2lmini.set_language("zh")` in notebooks/zh/. Then what
d2lmini says to you is Chinese: a run's message, a live panel's status line, an exercise
checker's verdict. Figures, code and argument errors stay English, as PyTorch's do (and a
figure then needs no Chinese font).
"""

LANGUAGES = ("en", "zh")
_language = "en"

# The messages, each in both languages; {name} is filled in by say(key, name=...).
MESSAGES = {
    "solved": ("✓ solved", "✓ 已解决"),
    "not solved": ("✗ not solved yet", "✗ 尚未解决"),
    "verdict": ("{verdict}: {message}", "{verdict}：{message}"),
    "fix": ("{message} — fix {fix} and run this cell again",
            "{message}。请修改{fix}，然后再次运行本单元格"),
    "the function above": ("the function above", "上面的函数"),
    "interrupted": ("interrupted at step {step} (Ctrl-C): the History holds the steps done, "
                    "the model their result",
                    "在第{step}步被中断（Ctrl-C）：History保存了已完成的各步，模型是它们的结果"),
    "diverged": ("diverged at step {step}: {why}", "在第{step}步发散：{why}"),
    "lr too large": ("the learning rate is too large", "学习率过大"),
    "bad data": ("its minibatch holds NaN or inf, look for them in the data",
                 "这一步的小批量含有NaN或inf，请检查数据"),
    "not finite at start": ("the loss was not finite from the first step: look for NaN or inf "
                            "in the data or the initial weights",
                            "损失从第1步起就不是有限值：请检查数据或初始权重中的NaN或inf"),
    "weights broke": ("{names}{more} held NaN or inf after step {step}, whose loss was finite "
                      "({loss}): its gradient was not finite, {why} (sqrt or log at 0, a "
                      "division by 0)",
                      "{names}{more}在第{step}步之后含有NaN或inf，而那一步的损失是有限的（{loss}）："
                      "它的梯度不是有限值，{why}（例如在0处取sqrt或log，或除以0）"),
    "and more": (" and {n} more", "等另外{n}个权重"),
    "broke at start": ("at the initial weights, so not the learning rate: look for an operation "
                       "in the model with an infinite slope there",
                       "问题出在初始权重处，与学习率无关：请在模型中找出在该处斜率为无穷大的运算"),
    "broke later": ("the learning rate is too large (the weights grew until their gradient "
                    "overflowed), or an operation in the model has an infinite slope there",
                    "原因是学习率过大（权重不断增大，直到梯度溢出），或模型中某个运算在该处的斜率为"
                    "无穷大"),
    "loss hides NaN": ("{name} holds NaN or inf after it although every loss was finite: does "
                       "the loss hide NaN (e.g. torch.nansum)? Look for NaN in the data and the "
                       "model",
                       "虽然每一步的损失都是有限的，训练后{name}却含有NaN或inf：损失是否掩盖了NaN"
                       "（例如torch.nansum）？请检查数据和模型中的NaN"),
    "no steps": ("no steps were run", "没有运行任何一步"),
    "final loss": ("final loss {loss}", "最终损失{loss}"),
    "stopped": ("stopped", "已停止"),
    "training": ("training…", "训练中…"),
    "training epoch": ("training: epoch {epoch} of {epochs}…",
                       "训练中：第{epoch}个迭代周期，共{epochs}个…"),
    "finished": ("{end} ({steps} step{s}, {seconds} s)", "{end}（{steps}步，{seconds}秒）"),
    "epochs": ("{n} epoch{s}", "{n}个迭代周期"),
    "on": ("on", "开"),
    "off": ("off", "关"),
    "race": ("loss after {steps} steps: {parts}", "{steps}步后的损失：{parts}"),
    "racer diverged": ("{name} diverged at step {step}", "{name}在第{step}步发散"),
    "error": ("error", "出错"),
    "stale": (" The figure below is still the earlier run's ({settings}).",
              "下面的图仍是之前那次运行的（{settings}）。"),
    "what next": ("<b>{kind}:</b> {what}.{stale} print({name}.traceback) shows where; move a "
                  "control to run again.",
                  "<b>{kind}：</b>{what}。{stale}运行print({name}.traceback)可查看出错位置；"
                  "移动任一控件即可重新运行。"),
}

# the panels' settings in Chinese, for the status line (figures and legends keep plot.NAMES)
SETTINGS_ZH = {"lr": "学习率", "batch_size": "批量大小", "epochs": "迭代周期", "momentum": "动量",
               "lambd": "λ", "weight_decay": "权重衰减", "dropout": "暂退概率",
               "num_hiddens": "隐藏单元数", "n_train": "训练样本数", "shape": "数据",
               "noise": "噪声", "hidden_layers": "隐藏层数", "width": "宽度",
               "activation": "激活函数", "optimizer": "优化器", "full_set": "全部数据"}


def set_language(language: str) -> None:
    """Say d2lmini's messages in `language`: "en" (English) or "zh" (中文)."""
    global _language
    if language not in LANGUAGES:
        raise ValueError(f"language must be one of {LANGUAGES}, got {language!r}")
    _language = language


def get_language() -> str:
    """The language set: "en" or "zh"."""
    return _language


def either(english: str, chinese: str, language: str | None = None) -> str:
    """english or chinese, by the language set (or the one given): for a message said in one
    place only (an exercise checker's hint), written beside its English instead of in MESSAGES."""
    return chinese if (language or _language) == "zh" else english


def say(key: str, language: str | None = None, **values) -> str:
    """MESSAGES[key] in the language set (or the one given), with its {names} filled in."""
    return either(*MESSAGES[key], language).format(**values)
