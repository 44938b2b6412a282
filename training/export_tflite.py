"""PyTorch module -> .tflite with litert-torch: float, or full int8 calibrated on real images.

Full int8 = PT2E static post-training quantization (litert_torch.quantize.pt2e_quantizer, the
path litert-torch's own tests and docs use, with residual adds and conv + ReLU6 annotated too):
int8 weights (symmetric, per channel) and int8 activations whose ranges come from histogram
observers run on `calibration_batches`. The input and output tensors stay float32
(quantize/dequantize ops at the edges), so callers feed the same arrays to the float and the int8
model; lookmatch.runtime.TFLiteModel handles both.
Random calibration data ruins the activation ranges: pass real images, never noise.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from pathlib import Path

import litert_torch
import torch
from litert_torch.quantize import pt2e_quantizer
from litert_torch.quantize.pt2e_quantizer_utils import get_input_act_qspec, get_output_act_qspec
from litert_torch.quantize.quant_config import QuantConfig
from torch.fx import Node
from torchao.quantization.pt2e import MinMaxObserver, quantize_pt2e
from torchao.quantization.pt2e.quantizer import QuantizationAnnotation

HARDTANH = (torch.ops.aten.hardtanh.default, torch.ops.aten.hardtanh_.default)  # ReLU6 in the graph
# How each activation's int8 range is read from the calibration images: "histogram" (litert-torch's
# default and the shipped export: the range that minimises the rounding + clipping error over the
# histogram, so rare large values are clipped), "minmax" (the full range seen) or "minmax-relu6"
# (histogram, but the full range, at most 0..6, on the conv + ReLU6 outputs). Why the others exist:
# layers/models/garments_experiments.md, "Runs 27-28 and the int8 observer".
OBSERVERS = ("histogram", "minmax", "minmax-relu6")


def with_minmax(spec):
    """An activation QuantizationSpec observed by MinMaxObserver instead."""
    return dataclasses.replace(spec, observer_or_fake_quant_ctr=MinMaxObserver.with_args(eps=2 ** -12))


class Int8Quantizer(pt2e_quantizer.PT2EQuantizer):
    """litert-torch's static int8 quantizer, plus every tensor add (the residual connections) and
    conv + ReLU6 observed after the ReLU6 (`_annotate_conv_relu6`).

    The stock annotator finds adds through `source_fn_stack` metadata, which torch.export's
    non-strict mode leaves out for most of them: the residual adds then stayed float, wrapped in
    dequantize/quantize ops. Annotated here exactly as the stock `add` annotator does.
    """

    def __init__(self, observer: str = "histogram"):
        super().__init__()
        if observer not in OBSERVERS:
            raise ValueError(f"unknown observer {observer!r}: one of {OBSERVERS}")
        self.observer = observer

    def set_global(self, config):
        if self.observer == "minmax":
            config = dataclasses.replace(config, input_activation=with_minmax(config.input_activation),
                                         output_activation=with_minmax(config.output_activation))
        return super().set_global(config)

    def annotate(self, model):
        model = super().annotate(model)
        config = self.global_config
        for node in model.graph.nodes:
            if node.op == "call_function" and node.target in HARDTANH:
                self._annotate_conv_relu6(node, config, minmax=self.observer == "minmax-relu6")
            if (node.op == "call_function" and node.target == torch.ops.aten.add.Tensor
                    and "quantization_annotation" not in node.meta
                    and all(isinstance(a, Node) for a in node.args[:2])):
                node.meta["quantization_annotation"] = QuantizationAnnotation(
                    input_qspec_map={a: get_input_act_qspec(config) for a in node.args[:2]},
                    output_qspec=get_output_act_qspec(config),
                    _annotated=True,
                )
        return model

    @staticmethod
    def _annotate_conv_relu6(relu6: Node, config, minmax: bool = False) -> None:
        """conv (-> batch norm) -> ReLU6: one observer, on the ReLU6 output.

        The stock annotator knows conv + ReLU but not ReLU6 (hardtanh): it observed the conv's
        output before the activation and the converter fused ReLU6 into that range, so every
        activation above the pre-activation range's top (often ~2.5, not 6) was clipped.
        """
        conv = relu6.args[0]
        if conv.target == torch.ops.aten.batch_norm.default:
            conv = conv.args[0]
        annotation = conv.meta.get("quantization_annotation")
        if conv.target != torch.ops.aten.conv2d.default or annotation is None or len(conv.users) != 1:
            return
        annotation.output_qspec = None
        qspec = get_output_act_qspec(config)
        relu6.meta["quantization_annotation"] = QuantizationAnnotation(
            output_qspec=with_minmax(qspec) if minmax else qspec, _annotated=True)


def export_tflite(module: torch.nn.Module, example_input: torch.Tensor, out_path: str | Path,
                  calibration_batches: Iterable[torch.Tensor] | None = None, observer: str = "histogram") -> Path:
    """Write `module` as .tflite at out_path; full int8 when calibration batches are given, each
    activation's range read by `observer` (OBSERVERS).

    example_input fixes the input shape (batch 1). Calibration batches may have any batch size:
    they are fed one sample at a time, as the exported graph has a static batch of 1.
    """
    module = module.eval()
    args = (example_input,)
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    if calibration_batches is None:
        edge = litert_torch.convert(module, args)
    else:
        quantizer = Int8Quantizer(observer).set_global(
            pt2e_quantizer.get_symmetric_quantization_config(is_per_channel=True, is_dynamic=False)
        )
        graph = torch.export.export(module, args).module()
        graph = quantize_pt2e.prepare_pt2e(graph, quantizer)
        seen = 0
        with torch.no_grad():
            for batch in calibration_batches:
                for sample in batch:
                    graph(sample[None].to(example_input.dtype))
                    seen += 1
        if seen == 0:
            raise ValueError("calibration_batches is empty: full-int8 export needs real calibration images")
        graph = quantize_pt2e.convert_pt2e(graph, fold_quantize=False)
        edge = litert_torch.convert(graph, args, quant_config=QuantConfig(pt2e_quantizer=quantizer))
    edge.export(str(out_path))
    return out_path
