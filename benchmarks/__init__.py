"""chainrule's benchmark suite: ``python benchmarks/run.py [--quick]``.

One module per measurement, each a function that returns plain data (dicts of
seconds and ratios), so the tests can run them on tiny sizes:

    common.py     timing (interleaved rounds, medians), BLAS and machine info
    reference.py  the hand-written NumPy loops and the GEMM floor: the yardsticks
    contenders.py the same networks trained in chainrule, PyTorch and scikit-learn
    epoch.py      1. one epoch of a 784-256-128-10 MLP, every contender side by side
    xor.py        2. 10 000 full-batch steps of the 2-4-1 XOR network
    predict.py    3. predict throughput (10 000 rows) and single-row latency
    memory.py     4. peak memory of fit, as a multiple of the training set's size
    scaling.py    5. epoch time against N and against width; warm-up batches
    datasets.py   6. chainrule.sklearn against scikit-learn on its own data sets
    firstepoch.py 7. the compiled engine's one-time costs: a fresh process's first epoch
    tabular.py    chainrule train against scikit-learn pipelines and gradient boosting
    report.py     the targets (issues 4 and 13), PASS/MISS, and the Markdown table
    run.py        the command line
"""
