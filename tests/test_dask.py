"""Model selection on a Dask cluster: GridSearchCV through joblib's Dask backend."""
import os

import numpy as np
import pytest
from sklearn.datasets import load_iris
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from chainrule.sklearn import MLPClassifier

distributed = pytest.importorskip("dask.distributed")
joblib = pytest.importorskip("joblib")


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.filterwarnings("ignore::ResourceWarning")
def test_grid_search_runs_on_a_local_cluster_of_two_worker_processes():
    X, y = load_iris(return_X_y=True)
    pipe = make_pipeline(StandardScaler(), MLPClassifier(hidden_layer_sizes=(8,), max_iter=50,
                                                         random_state=0))
    grid = {"mlpclassifier__alpha": [1e-4, 1e-2], "mlpclassifier__learning_rate_init": [1e-3, 1e-2]}
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        with distributed.get_task_stream(client) as tasks, joblib.parallel_backend("dask"):
            search = GridSearchCV(pipe, grid, cv=3).fit(X, y)
        workers = client.run(lambda: __import__("os").getpid())
    # the fits ran as tasks in the workers' processes, not here
    assert len(workers) == 2 and os.getpid() not in workers.values()
    assert len(tasks.data) >= 1 and {t["worker"] for t in tasks.data} <= set(workers)
    assert len(search.cv_results_["params"]) == 4
    assert search.best_score_ > 0.8
    local = GridSearchCV(pipe, grid, cv=3).fit(X, y)
    # same seeds, same splits: the cluster gives exactly the local results
    np.testing.assert_allclose(search.cv_results_["mean_test_score"],
                               local.cv_results_["mean_test_score"])
