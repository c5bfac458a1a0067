"""The tutorial's network, generalised: forward and backward passes, optimisers, the
training loop and the scikit-learn classifier.

`network`, `activations`, `parameters`, `backprop` and `optimizers` are numpy only (the
service imports `network`); `epochs` and `classifier` also use scikit-learn's estimator
base classes and validation helpers.
"""
