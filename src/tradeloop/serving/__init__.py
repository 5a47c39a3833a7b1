"""Scoring: model sets served by ONNX Runtime (or compiled trees), shadow scoring, the
prediction log writer, and the HTTP scorer with its guard."""
