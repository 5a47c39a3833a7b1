"""Matured outcomes at horizons: forward returns, MFE, MAE, barrier hits."""
