"""scikit-learn's own conformance checks, run on ScratchNetClassifier."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from trainer.nn.classifier import ScratchNetClassifier

# few epochs keep ~60 checks quick; lr 0.1 still learns the checks' easy blobs
CHECKED = ScratchNetClassifier(hidden_layer_sizes=(8,), learning_rate=0.1, max_iter=50)


@parametrize_with_checks([CHECKED])
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)
