"""`python -m trainer`: options, one training run, sweeps, figures and the commands that
drive the registry. The application layer: nothing below it imports from here.
"""
