"""explain/text.py: terminal text in English or 简体中文, a wide character two columns."""
from chainrule.explain.text import pad, width, wrap


def test_width_and_pad_count_wide_characters_twice():
    assert width("dW (layer 0)") == 12 and width("dW（第 0 层）") == 13
    assert width(pad("第 0 层", 10)) == 10 and pad("ab", 1) == "ab"


def test_wrap_keeps_lines_within_their_columns_in_both_languages():
    english = "the point of the penalty is the size of the weights kept " * 4
    chinese = "惩罚的意义在于留下的权重有多大：‖W‖ 为 2.3，不加惩罚时为 17.2；最大的 |w| 为 0.53。" * 3
    for text in (english, chinese):
        lines = wrap(text, 40, indent="  ")
        assert all(width(line) <= 40 and line.startswith("  ") for line in lines)
        assert "".join(line.strip() for line in lines).replace(" ", "") == text.replace(" ", "")
    # Chinese breaks between characters, and a closing mark never starts a line, after a number too
    assert all(not line.strip().startswith(("，", "。", "；", "：")) for line in wrap(chinese, 40))
    assert wrap("甲" * 18 + "1.77。乙", 40) == ["甲" * 18, "1.77。乙"]


def test_wrap_keeps_an_opening_mark_and_a_bracketed_chinese_name_with_what_follows():
    assert wrap("甲" * 19 + "（乙丙）", 40) == ["甲" * 19, "（乙丙）"]
    assert wrap("a" * 30 + " zh (简体中文)", 40) == ["a" * 30 + " zh", "(简体中文)"]
