"""A trained agent's deterministic policy as ONNX, served without torch.

Both agents end in per-branch scores: PPO's action logits, the branching DQN's advantages
(its Q of a branch is the state value plus the advantage minus their mean, so the best
action of a branch is the best advantage). The policy is the network up to those scores
(linear layers and their activations), written as an ONNX graph straight from the
weights; acting is an argmax per branch (direction, then size).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from tradeloop.core.errors import DataError

ACTIVATIONS = ("relu", "tanh", "none")
ONNX_OPSET = 15


@dataclass(frozen=True)
class DenseLayer:
    weight: np.ndarray  # [out, in], as torch stores it
    bias: np.ndarray  # [out]
    activation: str

    def __post_init__(self) -> None:
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"activation {self.activation!r}: one of {ACTIVATIONS}")
        if self.weight.ndim != 2 or self.bias.shape != (self.weight.shape[0],):
            raise ValueError("weight [out, in] and bias [out]")


def policy_onnx(layers: Sequence[DenseLayer]) -> bytes:
    """The ONNX model ``state [n, in] -> scores [n, out]`` of ``layers`` in order."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    nodes, inits, current = [], [], "state"
    for i, layer in enumerate(layers):
        w, b = f"w{i}", f"b{i}"
        inits += [numpy_helper.from_array(layer.weight.astype(np.float32), w),
                  numpy_helper.from_array(layer.bias.astype(np.float32), b)]  # fmt: skip
        out = f"z{i}" if layer.activation != "none" or i < len(layers) - 1 else "scores"
        nodes.append(helper.make_node("Gemm", [current, w, b], [out], transB=1))
        if layer.activation != "none":
            last = i == len(layers) - 1
            activated = "scores" if last else f"a{i}"
            kind = "Relu" if layer.activation == "relu" else "Tanh"
            nodes.append(helper.make_node(kind, [out], [activated]))
            out = activated
        current = out
    n_in, n_out = layers[0].weight.shape[1], layers[-1].weight.shape[0]
    graph = helper.make_graph(
        nodes, "tradeloop_policy",
        [helper.make_tensor_value_info("state", TensorProto.FLOAT, [None, n_in])],
        [helper.make_tensor_value_info("scores", TensorProto.FLOAT, [None, n_out])],
        inits,
    )  # fmt: skip
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", ONNX_OPSET)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return bytes(model.SerializeToString(deterministic=True))


def numpy_scores(layers: Sequence[DenseLayer], state: np.ndarray) -> np.ndarray:
    """The same scores computed with NumPy (the parity reference)."""
    x = np.asarray(state, dtype=np.float64)
    for layer in layers:
        x = x @ layer.weight.T.astype(np.float64) + layer.bias.astype(np.float64)
        if layer.activation == "relu":
            x = np.maximum(x, 0.0)
        elif layer.activation == "tanh":
            x = np.tanh(x)
    return x


class AgentPolicy:
    """Acts from a state: ``(direction index, size index)`` by argmax per branch."""

    def __init__(self, onnx_bytes: bytes, branches: Sequence[int]) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        try:
            self.session = ort.InferenceSession(onnx_bytes, options,
                                                providers=["CPUExecutionProvider"])  # fmt: skip
        except Exception as exc:  # onnxruntime raises its own, unexported types
            raise DataError(f"agent policy is not a valid ONNX model ({exc})") from None
        self.branches = tuple(int(b) for b in branches)
        self.edges = np.cumsum((0, *self.branches))

    def scores(self, states: np.ndarray) -> np.ndarray:
        x = np.ascontiguousarray(states, dtype=np.float32).reshape(-1, states.shape[-1])
        scores: np.ndarray = np.asarray(self.session.run(None, {"state": x})[0])
        return scores

    def act_batch(self, states: np.ndarray) -> np.ndarray:
        """``[n, branches]`` action indices."""
        scores = self.scores(states)
        return np.column_stack([
            scores[:, self.edges[i] : self.edges[i + 1]].argmax(axis=1)
            for i in range(len(self.branches))
        ])  # fmt: skip

    def act(self, state: np.ndarray) -> np.ndarray:
        chosen: np.ndarray = self.act_batch(state.reshape(1, -1))[0]
        return chosen
