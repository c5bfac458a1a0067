"""Datasets (moons, circles, blobs, CSV) and the tutorial's logistic-regression
baseline. scikit-learn generates the data and fits the baseline, so the service never
imports this package.
"""
