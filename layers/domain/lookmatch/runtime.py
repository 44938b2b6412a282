"""The TFLite interpreter: LiteRT (ai-edge-litert) first, tflite-runtime where only that exists."""
from __future__ import annotations

import threading
from pathlib import Path

import numpy as np

try:
    from ai_edge_litert.interpreter import Interpreter
except ImportError:  # pragma: no cover - exercised only where LiteRT is not installed
    from tflite_runtime.interpreter import Interpreter

from .config import model_dir


class ModelMissing(RuntimeError):
    pass


class TFLiteModel:
    """One loaded .tflite model with named outputs; quantization handled on the way in and out."""

    def __init__(self, filename: str | Path, num_threads: int = 1):
        path = Path(filename)
        if not path.is_absolute():
            path = model_dir() / path
        if not path.is_file():
            raise ModelMissing(
                f"model file {path} is missing: run `python scripts/fetch_models.py` "
                "(third-party models) or see training/README.md (LookMatch's own)"
            )
        self.path = path
        self.interpreter = Interpreter(model_path=str(path), num_threads=num_threads)
        self.interpreter.allocate_tensors()
        self.input = self.interpreter.get_input_details()[0]
        self.outputs = self.interpreter.get_output_details()
        # An interpreter must not run in two threads at once (the local server is threaded).
        self._lock = threading.Lock()

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(int(d) for d in self.input["shape"])

    def __call__(self, x: np.ndarray) -> list[np.ndarray]:
        """Run on a float batch; int8/uint8 inputs are quantized here, outputs dequantized."""
        dtype = self.input["dtype"]
        if dtype != np.float32:
            scale, zero = self.input["quantization"]
            info = np.iinfo(dtype)
            x = np.clip(np.round(x / scale + zero), info.min, info.max).astype(dtype)
        with self._lock:
            self.interpreter.set_tensor(self.input["index"], x)
            self.interpreter.invoke()
            raw = [self.interpreter.get_tensor(out["index"]) for out in self.outputs]  # copies
        results = []
        for out, y in zip(self.outputs, raw):
            if out["dtype"] != np.float32:
                scale, zero = out["quantization"]
                y = (y.astype(np.float32) - zero) * scale
            results.append(y)
        return results
