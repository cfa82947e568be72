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
        # what xor, xor-mse and sine show, printed before they train
        "xor.intro": (
            "XOR: the target is 1 when exactly one of the two inputs x1, x2 is 1. No straight line "
            "parts the two 1s from the two 0s, so a network needs a hidden layer to learn it. This "
            "one is 2-4-1: two inputs, four sigmoid hidden units and one sigmoid output A, the "
            "probability that the target is 1; from N(0, 1) weights it is trained on the four rows "
            "by full-batch gradient descent (lr {lr}, {epochs:,} epochs) on binary cross-entropy. "
            "What to look at: the final loss, near 0 once XOR is learned; the output column, near 0 "
            "on the rows whose target is 0 and near 1 on the others; and the predicted column (1 "
            "where the output is above 0.5), which then equals the target on every row: accuracy 1.00."),
        "xor_mse.intro": (
            "The XOR network of chainrule demo xor (2-4-1, sigmoid, N(0, 1) weights, lr {lr}, "
            "{epochs:,} epochs), trained on squared error, L = (1/m) Σ (A − Y)², instead of "
            "cross-entropy. The output's gradient then carries the sigmoid's derivative: "
            "dZ = 2(A − Y)·A(1 − A)/m, and A(1 − A) ≤ 1/4 is nearly 0 wherever the output is near 0 "
            "or 1, right or wrong; cross-entropy cancels that factor (dZ = (A − Y)/m). So it learns "
            "more slowly. What to look at: the outputs, farther from 0 and 1 than those of the xor "
            "demo after as many epochs (run both). The final loss here is a squared error, not a "
            "cross-entropy: compare the outputs, not the two losses."),
        "sine.intro": (
            "A 1-25-1 network fits y = 20 sin(2πx) at the 100 points x = 0, 0.01, ..., 0.99, one "
            "period of the sine: 25 sigmoid hidden units, each a smooth step, and a linear output "
            "that adds the steps up into the curve. From U[0, 1) weights it is trained by "
            "full-batch gradient descent (lr {lr}, {epochs:,} epochs) on mean squared error. What "
            "to look at: the final MSE against the spread of y. A network that always said 0 would "
            "have MSE 200 (the variance of 20 sin over a period); √MSE is the curve's typical "
            "distance from the points, so an MSE of 0.1 is about 0.3 on a scale of ±20. The step "
            "is close to the largest that stays stable, so the loss jumps up a few times early on, "
            "while the hidden units spread out."),
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
        # the command: chainrule demo --help (demo_command.py), what each demo shows
        "help.usage": "usage: chainrule demo NAME [--seed SEED] [--plot FILE.png] [--lang en|zh]",
        "help.description": ("Run one of the classic examples: it trains, prints what it learned, "
                             "and with --plot saves a figure."),
        "help.demos": "NAME, one of the demos:",
        "help.options": "options:",
        "help.seed_option": "--seed SEED",
        "help.plot_option": "--plot FILE.png",
        "help.seed": "random seed, a whole number from 0 to {largest:,} (default 0)",
        "help.plot": "save a figure of the result; its extension says the kind (.png, .svg, .pdf, ...)",
        "help.lang": "the language the demo prints and draws in: zh (简体中文) or en (English, the default)",
        "help.help": "show this help and exit",
        "help.needs": "[needs chainrule[{extra}]]",
        "help.extras": "--plot needs chainrule[plot] (matplotlib). All the demos, with their figures:",
        "about.xor": "a 2-4-1 sigmoid network learns XOR with binary cross-entropy; prints its four outputs",
        "about.xor-mse": ("the same network on squared error: it learns more slowly, because σ'(Z) ≤ 1/4 "
                          "scales every output gradient"),
        "about.sine": "a 1-25-1 network fits y = 20 sin(2πx) by full-batch gradient descent",
        "about.digits": ("64-128-10 ReLU network on 8×8 handwritten digits: held-out accuracy, confusion "
                         "matrix, sample digits"),
        "about.gradcheck": ("backpropagation against central differences on a 784-50-10 network, every "
                            "derivative"),
        "about.gradient-health": ("a 10-layer sigmoid stack with N(0, 1) weights: GradientMonitor warns "
                                  "that the gradients vanish; the figure shows each layer's gradient norm"),
        "about.regularization": ("40 rows, 2 features that matter and 4 of noise, a 6-64-64-2 network, "
                                 "with and without an L2 penalty: the size of the weights kept (‖W‖, "
                                 "largest |w|) and the validation loss of both, printed"),
        "about.diagnose": ("a hand-written XOR backpropagation with one line wrong: cr.diagnose names "
                           "the line and the mistake"),
        # the command's errors: a mistake in the command line (status 2), or one found before training
        "error": "{prog}: error: {message}",
        "error.interrupted": "chainrule: interrupted",
        "warning": "chainrule: warning: {message}",
        "error.lang": "--lang must be one of {choices}, got {got}",
        "error.no_value": "{option} needs a value",
        "error.unrecognized": "unrecognized arguments: {arguments}",
        "error.no_name": "which demo? Give its name, one of: {names}",
        "error.name": "there is no demo {name}{hint}; the demos are: {names}",
        "error.did_you_mean": " (did you mean {name}?)",
        "error.seed": "--seed must be a whole number from 0 to {largest:,} (below 2**32), got {seed}",
        "error.diagnose_plot": "the diagnose demo draws no figure: run it without --plot",
        "error.engine": "CHAINRULE_ENGINE must be one of {choices}, got {got}",
        "error.matplotlib": ("--plot needs matplotlib, which is not installed: pip install "
                             "'chainrule[plot]' (or pip install matplotlib)"),
        "error.sklearn": ("the digits demo needs scikit-learn for its data set: "
                          "pip install 'chainrule[sklearn]'"),
        "error.plot_folder": "--plot {path} is a folder; give a file name such as {example}",
        "error.plot_extension": ("--plot {path} has no extension to say what kind of figure to "
                                 "write; give one, such as {example}"),
        "error.plot_format": "--plot {path}: matplotlib cannot write {extension} files; it writes {formats}",
        "error.plot_no_folder": "--plot {path}: the folder {folder} does not exist",
        "error.plot_not_writable": "--plot {path}: the folder {folder} is not writable",
    },
    "zh": {
        "bar.training": "训练",
        "bar.epoch": "轮",
        "saved": "已保存 {path}",
        "xor.intro": (
            "XOR：两个输入 x1、x2 中恰好有一个为 1 时，目标为 1。没有一条直线能把两个 1 和两个 0 分开，"
            "所以网络需要一个隐藏层才能学会它。这个网络是 2-4-1：两个输入，四个 sigmoid 隐藏单元，"
            "一个 sigmoid 输出 A，即目标为 1 的概率；权重从 N(0, 1) 开始，在这四行数据上用全批量梯度下降"
            "（学习率 {lr}，{epochs:,} 轮）最小化二元交叉熵。要看的是：最终损失，学会 XOR 后接近 0；"
            "输出一列，目标为 0 的行接近 0，其余的行接近 1；预测一列（输出大于 0.5 时为 1），"
            "学会之后每一行都等于目标：准确率 1.00。"),
        "xor_mse.intro": (
            "与 XOR 演示（交叉熵）相同的网络（2-4-1，sigmoid，N(0, 1) 权重，学习率 {lr}，{epochs:,} 轮），"
            "但最小化的是平方误差 L = (1/m) Σ (A − Y)²，而不是交叉熵。这时输出的梯度带上了 sigmoid 的导数："
            "dZ = 2(A − Y)·A(1 − A)/m，而 A(1 − A) ≤ 1/4，只要输出接近 0 或 1 就几乎为 0，不管对错；"
            "交叉熵正好消去了这个因子（dZ = (A − Y)/m）。所以它学得更慢。要看的是：训练同样多轮之后，"
            "输出离 0 和 1 比 XOR 演示的更远（两个都运行一下）。这里的最终损失是平方误差，不是交叉熵："
            "要比较的是输出，而不是两个损失。"),
        "sine.intro": (
            "一个 1-25-1 的网络拟合 y = 20 sin(2πx)，取 x = 0, 0.01, ..., 0.99 这 100 个点，正好是正弦的"
            "一个周期：25 个 sigmoid 隐藏单元，每个都是一个平滑的台阶，线性输出把这些台阶加起来拼成曲线。"
            "权重从 U[0, 1) 开始，用全批量梯度下降（学习率 {lr}，{epochs:,} 轮）最小化均方误差。"
            "要看的是：最终的 MSE 与 y 的波动相比有多小。一个永远输出 0 的网络 MSE 是 200"
            "（20 sin 在一个周期上的方差）；√MSE 是曲线与数据点的典型距离，所以 MSE 为 0.1 约相当于"
            "在 ±20 的范围里差 0.3。步长已接近保持稳定的上限，所以前期损失会跳升几次，这时隐藏单元正在散开。"),
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
        "help.usage": "用法：chainrule demo 名称 [--seed 种子] [--plot 文件.png] [--lang en|zh]",
        "help.description": "运行一个经典示例：它训练一个网络，打印学到了什么；加上 --plot 时还会保存一张图。",
        "help.demos": "名称，从这些演示中选一个：",
        "help.options": "选项：",
        "help.seed_option": "--seed 种子",
        "help.plot_option": "--plot 文件.png",
        "help.seed": "随机种子，0 到 {largest:,} 之间的整数（默认 0）",
        "help.plot": "把结果画成图保存下来；扩展名决定图的格式（.png、.svg、.pdf 等）",
        "help.lang": "演示打印和绘图所用的语言：en（英语，默认）或 zh（简体中文）",
        "help.help": "显示本帮助并退出",
        "help.needs": "[需要 chainrule[{extra}]]",
        "help.extras": "--plot 需要 chainrule[plot]（matplotlib）。要运行全部演示并画图，请安装：",
        "about.xor": "一个 2-4-1 的 sigmoid 网络用二元交叉熵学习 XOR；打印它的四个输出",
        "about.xor-mse": "同一个网络改用平方误差：它学得更慢，因为 σ'(Z) ≤ 1/4 缩小了每一个输出梯度",
        "about.sine": "一个 1-25-1 的网络用全批量梯度下降拟合 y = 20 sin(2πx)",
        "about.digits": "64-128-10 的 ReLU 网络识别 8×8 的手写数字：留出集准确率、混淆矩阵、数字样例",
        "about.gradcheck": "在一个 784-50-10 的网络上，把反向传播与中心差分逐个导数地对照",
        "about.gradient-health": ("一个 10 层、权重服从 N(0, 1) 的 sigmoid 网络：GradientMonitor 警告梯度"
                                  "消失；图中画出每一层的梯度范数"),
        "about.regularization": ("40 行数据，2 个有用的特征加 4 个噪声特征，一个 6-64-64-2 的网络，"
                                 "分别加与不加 L2 惩罚：打印两者留下的权重大小（‖W‖、最大的 |w|）和验证损失"),
        "about.diagnose": "一个手写的 XOR 反向传播，其中一行写错：cr.diagnose 指出错在哪一行、是哪一种错误",
        "error": "{prog}：错误：{message}",
        "error.interrupted": "chainrule：已中断",
        "warning": "chainrule：警告：{message}",
        "error.lang": "--lang 只能是 {choices} 之一，而不是 {got}",
        "error.no_value": "{option} 后面需要一个值",
        "error.unrecognized": "无法识别的参数：{arguments}",
        "error.no_name": "要运行哪个演示？请给出它的名称，可选：{names}",
        "error.name": "没有名为 {name} 的演示{hint}；可选的演示有：{names}",
        "error.did_you_mean": "（你是不是想用 {name}？）",
        "error.seed": "--seed 必须是 0 到 {largest:,} 之间的整数（小于 2**32），而不是 {seed}",
        "error.diagnose_plot": "diagnose 演示不画图：请去掉 --plot 再运行",
        "error.engine": "环境变量 CHAINRULE_ENGINE 只能是 {choices} 之一，而不是 {got}",
        "error.matplotlib": ("--plot 需要 matplotlib，但它没有安装：pip install 'chainrule[plot]'"
                             "（或 pip install matplotlib）"),
        "error.sklearn": "digits 演示的数据集来自 scikit-learn，需要先安装它：pip install 'chainrule[sklearn]'",
        "error.plot_folder": "--plot {path} 是一个文件夹；请给出文件名，例如 {example}",
        "error.plot_extension": "--plot {path} 没有扩展名，无法确定图的格式；请加上扩展名，例如 {example}",
        "error.plot_format": "--plot {path}：matplotlib 不能写 {extension} 文件，它能写的格式有 {formats}",
        "error.plot_no_folder": "--plot {path}：文件夹 {folder} 不存在",
        "error.plot_not_writable": "--plot {path}：文件夹 {folder} 不可写入",
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
