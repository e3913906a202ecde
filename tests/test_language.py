"""The language d2lmini speaks (d2lmini/language.py): English, or Chinese once a Chinese
chapter's setup cell has called set_language("zh"); figures stay English either way."""

import re
import string

import pytest
import torch
from test_widgets import make_panel, set_and_wait, status

import d2lmini
from d2lmini import language, plot

CJK = re.compile(r"[\u3400-\u9fff]")


@pytest.fixture
def chinese():
    """d2lmini speaks Chinese during the test, and English again after it."""
    language.set_language("zh")
    try:
        yield
    finally:
        language.set_language("en")


def test_the_switch_takes_en_or_zh_and_nothing_else():
    assert language.get_language() == "en"
    with pytest.raises(ValueError, match=r"language must be one of \('en', 'zh'\), got 'cn'"):
        d2lmini.set_language("cn")
    assert language.get_language() == "en"


def fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


@pytest.mark.parametrize("key", sorted(language.MESSAGES))
def test_each_message_is_chinese_with_the_english_values(key):
    english, chinese = language.MESSAGES[key]
    assert CJK.search(chinese) or key in ("solved", "not solved", "verdict"), chinese
    assert CJK.search(english) is None
    assert fields(chinese) == fields(english) - {"s"}  # {s}: an English plural


def test_say_fills_in_the_message_in_the_language_set_or_given(chinese):
    assert language.say("diverged", step=3, why=language.say("lr too large")) == \
        "在第3步发散：学习率过大"
    assert language.say("final loss", "en", loss="0.01") == "final loss 0.01"
    assert language.either("too slow", "太慢") == "太慢"


def diverged_history() -> d2lmini.History:
    w = torch.zeros(1, requires_grad=True)
    X, y = torch.ones(8, 1) * 100, torch.ones(8)
    return d2lmini.train(lambda X: X[:, 0] * w, lambda y_hat, y: (y_hat - y) ** 2,
                         lambda n: d2lmini.sgd([w], 1e3, n), d2lmini.Batches(X, y, 4), 5,
                         progress=False)


def test_a_runs_message_is_chinese_and_its_english_stays_for_figures(chinese):
    history = diverged_history()
    assert history.diverged
    assert history.message() == f"在第{history.diverged_at}步发散：学习率过大"
    assert history.message("en") == (f"diverged at step {history.diverged_at}: the learning "
                                     "rate is too large")


def test_settings_in_words_are_chinese_in_the_status_line_and_english_in_legends(chinese):
    settings = {"lr": 0.03, "batch_size": 10, "epochs": 3, "full_set": True}
    assert plot.describe(settings) == "学习率0.03 · 批量大小10 · 3个迭代周期 · 全部数据开"
    old, new = d2lmini.History(settings={"lr": 0.3}), d2lmini.History(settings={"lr": 0.03})
    assert plot.difference(old, new) == "lr 0.3"
    language.set_language("en")
    assert plot.describe(settings) == "learning rate 0.03 · batch size 10 · 3 epochs · full set on"


def test_a_panels_status_line_is_chinese_and_its_figure_english(chinese):
    panel = make_panel()
    assert status(panel).startswith("学习率0.03 · 批量大小10 · 2个迭代周期 — 最终损失")
    assert re.search(r"（\d+步，[\d.]+秒）$", status(panel))
    set_and_wait(panel, "lr", 10.0)
    assert "在第" in status(panel) and "步发散：学习率过大" in status(panel)
    texts = [t.get_text() for ax in panel._figure.axes for t in ax.texts]
    assert len(texts) == 1 and "diverged at step" in texts[0] and not CJK.search(texts[0])
    panel.close()


def test_a_checkers_verdict_is_chinese(chinese, capsys):
    assert d2lmini.check.squared_loss(lambda y_hat, y: (y_hat - y.reshape(y_hat.shape)) ** 2 / 2)
    assert capsys.readouterr().out.startswith("✓ 已解决：")
    assert not d2lmini.check.squared_loss(lambda y_hat, y: None)
    line = capsys.readouterr().out
    assert line.startswith("✗ 尚未解决：")
    assert line.endswith("。请修改上面的函数，然后再次运行本单元格\n")


def test_a_weight_that_broke_is_named_in_chinese(chinese):
    w = torch.ones(2, 1, requires_grad=True)
    s = torch.zeros(1, requires_grad=True)  # sqrt(s) at 0: a finite loss, an infinite slope
    X, y = torch.ones(8, 2), torch.ones(8, 1)
    history = d2lmini.train(lambda X: X @ w * torch.sqrt(s), d2lmini.squared_loss,
                            lambda n: d2lmini.sgd([w, s], 1e-4, n), d2lmini.Batches(X, y, 4), 1,
                            progress=False)
    assert history.diverged_at == 2
    assert history.message().startswith("在第2步发散：the weight of shape (1,)在第1步之后含有NaN")
    assert "与学习率无关" in history.message() and "held NaN" in history.message("en")
