"""Quantization-aware distillation of a trained garment model: an int8 export that follows the
float model more closely than post-training calibration alone.

Why: post-training int8 (train_garments.export) rounds every activation to 256 levels; on
run 14 the body gender logit moves by ~0.19 (sd) and flips the many PETA pedestrians the head is
unsure of (the int8 target: within a point of float). Quantization-aware training lets the weights
adapt to that rounding. The fourth session's QAT on the labels lost val accuracy (another epoch on
the train crops); here the only target is the float model's own outputs, so nothing new is
learnt about the labels.

Steps:
1. training/cache/NAME.pt with every BatchNorm folded into its convolution (the QAT annotators
   for conv + BatchNorm do not run under this torch), exported by torch.export.
2. Fake quantization as in the shipped export (int8, weights per channel, activations per
   tensor), activation ranges calibrated by the same histogram observers on the same train crops
   of people, then frozen; weight ranges follow the weights.
3. Distillation: on augmented train crops of people, the fake-quantized student is fitted to the
   float teacher's outputs: KL divergence of each head's softmax, plus 1 - cosine of the
   embeddings. Labels are not read.
4. Export as full int8: training/cache/NAME_qat_int8.tflite.
Test crops are never read here. Compare on val with
`.venv/bin/python training/compare_on_val.py cache/NAME_float.tflite cache/NAME_int8.tflite cache/NAME_qat_int8.tflite`.
Run: .venv-train/bin/python training/qat_garments.py [--name NAME] [--steps N]
Tried on run 14 (400 and 800 steps), not shipped: layers/models/garments_experiments.md, "Runs 27-28 and the int8 observer".
"""
from __future__ import annotations

import argparse
import copy
import dataclasses
import sys
import time
from pathlib import Path

import litert_torch
import numpy as np
import torch
from litert_torch.quantize import pt2e_quantizer
from litert_torch.quantize.quant_config import QuantConfig
from torch import nn
from torch.nn import functional as F
from torchao.quantization.pt2e import (FakeQuantize, HistogramObserver, disable_observer,
                                       move_exported_model_to_eval, move_exported_model_to_train)
from torchao.quantization.pt2e import quantize_pt2e

sys.path.insert(0, str(Path(__file__).parent))
from export_tflite import Int8Quantizer  # noqa: E402
from train_garments import (CACHE, CALIBRATION, SEED, SHIPPED_NAME, GarmentNet,  # noqa: E402
                            calibration_crops, load_cache, views)

STEPS, BATCH, LR = 400, 32, 2e-5
TEMPERATURE = 1.0  # of the softmax the KL compares; 1 = the probabilities the runtime reads


class QATInt8Quantizer(Int8Quantizer):
    """Int8Quantizer for QAT without the conv + BatchNorm annotators (they fail under this torch;
    BatchNorm is folded before export, so they would find nothing)."""
    STATIC_QAT_ONLY_OPS: list[str] = []


def qat_config():
    """The shipped export's int8 scheme for QAT: weights as litert-torch's per-channel QAT config;
    activations through a FakeQuantize over the same HistogramObserver the PTQ export calibrates
    with, so that after calibration the student starts where the shipped int8 model is."""
    config = pt2e_quantizer.get_symmetric_quantization_config(is_per_channel=True, is_qat=True)
    act = config.input_activation
    act = dataclasses.replace(act, observer_or_fake_quant_ctr=FakeQuantize.with_args(
        observer=HistogramObserver, quant_min=act.quant_min, quant_max=act.quant_max, dtype=act.dtype,
        qscheme=act.qscheme, eps=2 ** -12))
    return dataclasses.replace(config, input_activation=act, output_activation=act)


@torch.no_grad()
def fold_batch_norms(module: nn.Module) -> nn.Module:
    """Every Conv2d followed by a BatchNorm2d in a Sequential -> one Conv2d with a bias (eval
    statistics), the BatchNorm replaced by Identity. Same outputs in eval mode."""
    for seq in [m for m in module.modules() if isinstance(m, nn.Sequential)]:
        for i in range(len(seq) - 1):
            conv, bn = seq[i], seq[i + 1]
            if not (isinstance(conv, nn.Conv2d) and isinstance(bn, nn.BatchNorm2d)):
                continue
            scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
            fused = nn.Conv2d(conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride,
                              conv.padding, conv.dilation, conv.groups, bias=True)
            fused.weight.copy_(conv.weight * scale.view(-1, 1, 1, 1))
            bias = conv.bias if conv.bias is not None else torch.zeros_like(bn.running_mean)
            fused.bias.copy_((bias - bn.running_mean) * scale + bn.bias)
            seq[i], seq[i + 1] = fused, nn.Identity()
    return module


def distillation_loss(student_out, teacher_out):
    """Sum over the heads of KL(teacher || student) on the softmax, plus 1 - cosine of the
    embeddings (means over the batch)."""
    *s_logits, s_emb = student_out
    *t_logits, t_emb = teacher_out
    loss = sum(F.kl_div(F.log_softmax(s / TEMPERATURE, 1), F.log_softmax(t / TEMPERATURE, 1),
                        log_target=True, reduction="batchmean") for s, t in zip(s_logits, t_logits))
    return loss + (1 - F.cosine_similarity(s_emb, t_emb, dim=1)).mean()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--name", default=SHIPPED_NAME, help="training/cache/NAME.pt to distil")
    parser.add_argument("--steps", type=int, default=STEPS)
    parser.add_argument("--lr", type=float, default=LR)
    parser.add_argument("--calibration", type=int, default=CALIBRATION)
    args = parser.parse_args()
    torch.manual_seed(SEED)
    gen = torch.Generator().manual_seed(SEED)
    torch.set_num_threads(2)
    t0 = time.time()
    data = load_cache()
    train = data["split"] == "train"
    x_tr, in_tr = torch.from_numpy(data["x"][train]), torch.from_numpy(data["inner"][train])
    people = (data["dataset"][train] != "clothing") & (data["source"][train] == "pose")
    print(f"train crops of people: {people.sum()}", flush=True)

    teacher = GarmentNet("mobilenet_v2")
    teacher.load_state_dict(torch.load(CACHE / f"{args.name}.pt"))
    teacher = fold_batch_norms(teacher.eval())
    calib = calibration_crops(x_tr, in_tr, people, args.calibration)  # those of train_garments.export
    example = calib[:BATCH]
    batch = torch.export.Dim("batch", min=1, max=256)
    graph = torch.export.export(copy.deepcopy(teacher), (example,), dynamic_shapes=({0: batch},)).module()
    quantizer = QATInt8Quantizer().set_global(qat_config())
    student = quantize_pt2e.prepare_qat_pt2e(graph, quantizer)

    move_exported_model_to_eval(student)
    with torch.no_grad():
        for i in range(0, len(calib), BATCH):
            student(calib[i:i + BATCH])
    # activation ranges stay those of calibration; the weights' per-channel ranges keep tracking
    for m in student.modules():
        if isinstance(m, FakeQuantize) and isinstance(m.activation_post_process, HistogramObserver):
            disable_observer(m)
    print(f"calibrated on {len(calib)} crops ({time.time() - t0:.0f} s)", flush=True)

    params = [p for p in student.parameters() if p.is_floating_point()]
    opt = torch.optim.AdamW(params, lr=args.lr, weight_decay=0.0)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, max(args.steps, 1))
    move_exported_model_to_train(student)
    people_rows = np.flatnonzero(people)
    total, agree = 0.0, 0.0
    for step in range(args.steps):
        idx = torch.from_numpy(people_rows[torch.randint(len(people_rows), (BATCH,), generator=gen).numpy()])
        images = views(x_tr[idx], in_tr[idx], augment=True, gen=gen)
        with torch.no_grad():
            target = teacher(images)
        out = student(images)
        loss = distillation_loss(out, target)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        total += float(loss.detach())
        agree += float(np.mean([(s.argmax(1) == t.argmax(1)).float().mean() for s, t in zip(out[:-1], target[:-1])]))
        if (step + 1) % 20 == 0:
            print(f"  step {step + 1}/{args.steps} loss {total / 20:.4f} argmax agreement {agree / 20:.4f} "
                  f"({time.time() - t0:.0f} s)", flush=True)
            total, agree = 0.0, 0.0

    move_exported_model_to_eval(student)
    converted = quantize_pt2e.convert_pt2e(student, fold_quantize=False)
    out_path = CACHE / f"{args.name}_qat_int8.tflite"
    edge = litert_torch.convert(converted, (calib[:1],), quant_config=QuantConfig(pt2e_quantizer=quantizer))
    edge.export(str(out_path))
    print(f"wrote {out_path} ({out_path.stat().st_size / 1e6:.2f} MB); done in {time.time() - t0:.0f} s",
          flush=True)


if __name__ == "__main__":
    main()
