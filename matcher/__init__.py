"""LightGBM learning-to-rank job recommendations for the treatment arm."""
