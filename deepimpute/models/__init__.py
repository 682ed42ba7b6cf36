"""Pure torch cores, one per method (no scikit-learn, no NumPy)."""
