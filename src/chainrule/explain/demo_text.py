"""Every sentence the demos print, one table per language (``chainrule demo NAME --lang en|zh``).

The two tables have the same keys, and each sentence the same ``{fields}`` in both (a test
says so), so a demo tells the same numbers in either language. Names of functions,
classes and equations (``GradientMonitor``, ``Dense``, ``σ'(Z)``, ``‖W‖``) stay as they are.
"""
from __future__ import annotations

LANGUAGES = ("en", "zh")

TEXT = {
    "en": {
        # the progress bar over the epochs, and a saved figure
        "bar.training": "training",
        "bar.epoch": "epoch",
        "saved": "saved {path}",
        # xor, xor-mse
        "xor.final_loss": "final loss {loss:.4f}",
        "xor.header": "x1 x2 | target  output  predicted",
        "xor.row": " {a}  {b} |   {target}     {p:.4f}     {c}",
        "xor.accuracy": "accuracy {accuracy:.2f}",
        # sine
        "sine.final": "final MSE {mse:.4f}  (y ranges over ±20)",
        # digits
        "digits.accuracy": "held-out accuracy {accuracy:.4f} on {count} images",
        "digits.confusion": "confusion matrix (rows: true digit, columns: predicted)",
        # gradcheck
        "gradcheck.checking": "checking {count:,} derivatives of a {sizes} network by central "
                              "differences ...",
        "gradcheck.agree": "backpropagation and numerical derivatives agree",
        "gradcheck.disagree": "backpropagation and numerical derivatives DISAGREE",
        # gradient-health: GradientMonitor's findings, then each layer's gradient norm
        "health.layer": "layer {i} ({kind})",
        "health.norm": "{layer} last gradient norm {norm:.2e}",
        "health.vanishing": (
            "warning (step {step}): the gradients vanish in layer(s) {layers}: the typical gradient "
            "entry of {worst} is {ratio:.1e} times that of {top}, so it barely learns. {between} "
            "sigmoid layers lie between them, and each passes back at most a quarter of the "
            "gradient (σ'(Z) ≤ 1/4), far less when saturated, as N(0, 1) weights make them: use "
            "ReLU with He initialisation, Xavier weights, or fewer layers."),
        "health.vanishing_elsewhere": (
            "warning (step {step}): the gradients vanish in layer(s) {layers}: the typical gradient "
            "entry of {worst} is {ratio:.1e} times that of {top}, so it barely learns; no sigmoid "
            "lies between them ({between}): look for dead or saturated units, or the initialisation."),
        "health.dead": "warning (step {step}): {layer}: {share:.0%} of its units output 0 for every "
                       "sample (dead ReLUs), so they no longer learn.",
        "health.saturated": "warning (step {step}): {layer}: {share:.0%} of its outputs are "
                            "saturated, pinned near their limits, where the derivative is almost 0.",
        "health.exploding_updates": "warning (step {step}): {layer}: one step changed its weights by "
                                    "{ratio:.3g} times their own size (healthy is about 1e-3): the "
                                    "learning rate is too high.",
        "health.exploding_gradients": "warning (step {step}): {layer}: the gradient norm grew from "
                                      "{first:.3g} to {norm:.3g}: the learning rate is too high.",
        # regularization
        "reg.setting": (
            "{rows} training rows with {features} features: 2 carry the two half moons, {extra} are "
            "noise. A {sizes} ReLU network, far larger than the rows can support, trained twice for "
            "{epochs} epochs of Adam: plainly, and with an L2 penalty (λ/2)·Σ W² on every weight "
            "(weight_decay λ = {decay}: each step adds λ·W to dW). Validation: {val_rows} new rows."),
        "reg.plain": "plain",
        "reg.penalised": "L2 penalty",
        "reg.row": ("{name}: val_loss lowest {best:.3f} (epoch {epoch}), at the end {final:.3f}, "
                    "val_accuracy {accuracy:.3f}; the weights kept: ‖W‖ {norm:.1f}, largest |w| "
                    "{largest:.2f}"),
        "reg.smaller": ("The point of the penalty, the size of the weights kept: ‖W‖ {norm_kept:.1f} "
                        "against {norm_plain:.1f} without it, the largest |w| {largest_kept:.2f} "
                        "against {largest_plain:.2f}. Small weights cannot bend the boundary around "
                        "each noisy row, nor lean on the noise features."),
        "reg.not_smaller": ("Here the penalty did not keep the weights smaller: ‖W‖ {norm_kept:.1f} "
                            "against {norm_plain:.1f}, the largest |w| {largest_kept:.2f} against "
                            "{largest_plain:.2f}."),
        "reg.end_lower": ("At the end the penalised network's validation loss is the lower, "
                          "{final_kept:.3f} against {final_plain:.3f}: the plain one learned its "
                          "training rows' noise."),
        "reg.end_not_lower": ("At the end the penalised network's validation loss is not the lower: "
                              "{final_kept:.3f} against {final_plain:.3f}."),
        "reg.best_lower": ("It is lower even than the plain network's best epoch ({best_plain:.3f}, "
                           "epoch {epoch_plain}), the best that early stopping could have kept."),
        "reg.best_not_lower": ("The plain network at its best epoch did as well ({best_plain:.3f}, "
                               "epoch {epoch_plain}): early stopping alone would have matched the "
                               "penalty here."),
        # the figures' own words (the plot module's are in plot.WORDS)
        "fig.p_class1": "P(class 1)",
        "fig.mse_output": "network output A (MSE towards the labels 0, 1)",
        "fig.digits_title": "held-out digits: predicted (true)",
        "fig.digit_is": "{predicted} (is {true})",
        "fig.predicted_digit": "predicted digit",
        "fig.true_digit": "true digit",
        "fig.confusion_title": "confusion matrix (held out)",
        "fig.images": "images",
        "fig.training": "{name}: training",
        "fig.validation": "{name}: validation",
        "fig.epoch": "epoch",
        "fig.cross_entropy": "cross-entropy",
        "fig.reg_title": "{rows} noisy rows, a {sizes} network",
        # diagnose
        "diagnose.intro": (
            "A learner's first backpropagation, written by hand: the classic XOR network "
            "(2-4-1, sigmoid, binary cross-entropy), one forward and one backward pass, with one "
            "line wrong. cr.diagnose computes every array itself, compares each with the "
            "learner's in the order backpropagation computes them, and names the line and the "
            "mistake:"),
    },
    "zh": {
        "bar.training": "训练",
        "bar.epoch": "轮",
        "saved": "已保存 {path}",
        "xor.final_loss": "最终损失 {loss:.4f}",
        "xor.header": "x1 x2 | 目标  输出      预测",
        "xor.row": " {a}  {b} |  {target}    {p:.4f}     {c}",
        "xor.accuracy": "准确率 {accuracy:.2f}",
        "sine.final": "最终 MSE {mse:.4f}（y 的取值范围是 ±20）",
        "digits.accuracy": "留出集上的准确率 {accuracy:.4f}（共 {count} 张图像）",
        "digits.confusion": "混淆矩阵（行：真实的数字，列：预测的数字）",
        "gradcheck.checking": "用中心差分检查一个 {sizes} 网络的 {count:,} 个导数……",
        "gradcheck.agree": "反向传播与数值导数一致",
        "gradcheck.disagree": "反向传播与数值导数不一致",
        "health.layer": "第 {i} 层（{kind}）",
        "health.norm": "{layer} 最后一次记录的梯度范数 {norm:.2e}",
        "health.vanishing": (
            "警告（第 {step} 步）：第 {layers} 层出现梯度消失：{worst}的典型梯度元素只有{top}的 "
            "{ratio:.1e} 倍，所以它几乎学不到东西。两者之间隔着 {between} 个 sigmoid 层，每一层最多只把"
            "梯度的四分之一传回去（σ'(Z) ≤ 1/4），饱和时传回的更少，而 N(0, 1) 的权重正会让它们饱和："
            "改用 ReLU 加 He 初始化、Xavier 权重，或者减少层数。"),
        "health.vanishing_elsewhere": (
            "警告（第 {step} 步）：第 {layers} 层出现梯度消失：{worst}的典型梯度元素只有{top}的 "
            "{ratio:.1e} 倍，所以它几乎学不到东西；两者之间没有 sigmoid 层（{between} 个）："
            "检查有没有死亡或饱和的单元，或者初始化是否合适。"),
        "health.dead": "警告（第 {step} 步）：{layer}：{share:.0%} 的单元对每个样本都输出 0"
                       "（ReLU 死亡），它们不再学习。",
        "health.saturated": "警告（第 {step} 步）：{layer}：{share:.0%} 的输出已经饱和，贴近取值的上下限，"
                            "那里的导数几乎为 0。",
        "health.exploding_updates": "警告（第 {step} 步）：{layer}：一步就让权重改变了自身大小的 "
                                    "{ratio:.3g} 倍（健康的大约是 1e-3）：学习率太大了。",
        "health.exploding_gradients": "警告（第 {step} 步）：{layer}：梯度范数从 {first:.3g} 增长到 "
                                      "{norm:.3g}：学习率太大了。",
        "reg.setting": (
            "{rows} 行训练数据，每行 {features} 个特征：其中 2 个描述两个半月形，另外 {extra} 个是噪声。"
            "一个 {sizes} 的 ReLU 网络，远远超出这些数据能支撑的规模，用 Adam 训练两次，每次 {epochs} 轮："
            "一次不加惩罚，一次对每个权重加上 L2 惩罚 (λ/2)·Σ W²（weight_decay λ = {decay}：每一步在 dW "
            "上加上 λ·W）。验证集：{val_rows} 行新数据。"),
        "reg.plain": "不加惩罚",
        "reg.penalised": "L2 惩罚",
        "reg.row": ("{name}：val_loss 最低 {best:.3f}（第 {epoch} 轮），最后 {final:.3f}，"
                    "val_accuracy {accuracy:.3f}；留下的权重：‖W‖ {norm:.1f}，最大的 |w| {largest:.2f}"),
        "reg.smaller": ("惩罚的意义在于留下的权重有多大：‖W‖ 为 {norm_kept:.1f}，不加惩罚时为 "
                        "{norm_plain:.1f}；最大的 |w| 为 {largest_kept:.2f}，不加惩罚时为 "
                        "{largest_plain:.2f}。权重小，决策边界就没法绕着每一个带噪声的点弯来弯去，"
                        "也没法依赖那些噪声特征。"),
        "reg.not_smaller": ("这一次惩罚没有让权重变小：‖W‖ 为 {norm_kept:.1f}，不加惩罚时为 "
                            "{norm_plain:.1f}；最大的 |w| 为 {largest_kept:.2f}，不加惩罚时为 "
                            "{largest_plain:.2f}。"),
        "reg.end_lower": ("训练结束时，加惩罚的网络验证损失更低：{final_kept:.3f}，不加惩罚的是 "
                          "{final_plain:.3f}，后者学到了训练数据里的噪声。"),
        "reg.end_not_lower": ("训练结束时，加惩罚的网络验证损失并不更低：{final_kept:.3f}，不加惩罚的是 "
                              "{final_plain:.3f}。"),
        "reg.best_lower": ("它甚至低于不加惩罚的网络在最好那一轮的值（{best_plain:.3f}，第 "
                           "{epoch_plain} 轮），而这已是提前停止最多能保留下来的。"),
        "reg.best_not_lower": ("不加惩罚的网络在最好的那一轮同样好（{best_plain:.3f}，第 {epoch_plain} "
                               "轮）：这里单靠提前停止就能达到惩罚的效果。"),
        "fig.p_class1": "P(类别 1)",
        "fig.mse_output": "网络输出 A（用 MSE 朝标签 0、1 训练）",
        "fig.digits_title": "留出集上的数字：预测（真实）",
        "fig.digit_is": "{predicted}（实为 {true}）",
        "fig.predicted_digit": "预测的数字",
        "fig.true_digit": "真实的数字",
        "fig.confusion_title": "混淆矩阵（留出集）",
        "fig.images": "图像数",
        "fig.training": "{name}：训练",
        "fig.validation": "{name}：验证",
        "fig.epoch": "轮",
        "fig.cross_entropy": "交叉熵",
        "fig.reg_title": "{rows} 行带噪声的数据，{sizes} 网络",
        "diagnose.intro": (
            "初学者手写的第一个反向传播：经典的 XOR 网络（2-4-1，sigmoid，二元交叉熵），"
            "一次前向、一次反向，其中有一行写错了。cr.diagnose 自己算出每一个数组，"
            "按反向传播的计算顺序逐个与初学者的对照，并指出错在哪一行、是哪一种错误："),
    },
}


def check_lang(lang):
    """``lang`` if the demos speak it, else a ValueError naming the choices."""
    if lang not in TEXT:
        raise ValueError(f"lang must be one of {', '.join(LANGUAGES)}, got {lang!r}")
    return lang


def say(lang, key, **fields):
    """The sentence ``key`` in ``lang``, its ``{fields}`` filled in."""
    return TEXT[check_lang(lang)][key].format(**fields)
