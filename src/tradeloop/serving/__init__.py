"""Scoring with ONNX Runtime; shadow scoring and the prediction log come later."""
