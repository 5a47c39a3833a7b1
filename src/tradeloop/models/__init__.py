"""Training, walk-forward evaluation and ONNX export of models."""
