"""Datasets: read, validate, convert, fix, count tokens and estimate cost of training data."""
