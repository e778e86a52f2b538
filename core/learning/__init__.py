"""Representation learning for severity: losses, encoders, methods, training, evaluation."""
