#!/usr/bin/python3
"""Converts a torchvision ImageNet state dict to a freehead weights file.

  convert_torchvision.py resnet34 IN.pth OUT.safetensors   ->  gaze.backbone.*
  convert_torchvision.py vgg19 IN.pth OUT.safetensors      ->  vgg.features.*

resnet34: every tensor except fc.* and num_batches_tracked, renamed gaze.backbone.<name>.
vgg19: features.{0..28}.* (the convolutions up to relu5_1) renamed vgg.features.<i>.*;
features.30/32/34 and the classifier are dropped. Names and shapes are checked against the
reference model (`paper` widths, which torchvision's ImageNet networks have); any missing,
unexpected or mis-shaped tensor is an error. A resnet34 file holds only the backbone: the
gaze network's neck and head are trained from scratch and come from elsewhere.
"""
import argparse
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "oracle"))

import torch  # noqa: E402

import model as M  # noqa: E402
from safetensors_io import save  # noqa: E402


def read_state_dict(path):
    kwargs = {"map_location": "cpu"}
    try:
        state = torch.load(path, weights_only=True, **kwargs)  # torch >= 1.13: no pickled code
    except TypeError:
        state = torch.load(path, **kwargs)
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(torch.is_tensor(v) for v in state.values()):
        raise ValueError(f"{path}: not a state dict of tensors")
    return {k[len("module."):] if k.startswith("module.") else k: v for k, v in state.items()}


def convert(kind, state, source):
    """Returns ({file name: float32 tensor}, [dropped names])."""
    if kind == "resnet34":
        with M.skipped_init():  # only names and shapes are needed
            target = M.ResNet34Backbone(1.0)
        prefix = "gaze.backbone."
        keep = {k: v for k, v in state.items() if not k.startswith("fc.") and not k.endswith("num_batches_tracked")}
    elif kind == "vgg19":
        with M.skipped_init():
            target = M.VGG19Features()
        prefix = "vgg."
        expected = set(target.state_dict())
        keep = {k: v for k, v in state.items() if k in expected}
        extra = [k for k in state if k not in expected and k.startswith("features.")
                 and int(k.split(".")[1]) < len(target.features)]
        if extra:
            raise ValueError(f"{source}: unexpected tensors {extra} among features.0-{len(target.features) - 1}")
    else:
        raise ValueError(f"unknown kind '{kind}' (resnet34 or vgg19)")
    expected = {k: list(v.shape) for k, v in target.state_dict().items() if not k.endswith("num_batches_tracked")}
    missing = sorted(k for k in expected if k not in keep)
    unexpected = sorted(k for k in keep if k not in expected)
    mismatched = [f"{k}: {list(v.shape)} vs {expected[k]}" for k, v in keep.items()
                  if k in expected and list(v.shape) != expected[k]]
    if missing or unexpected or mismatched:
        raise ValueError(f"{source}: not a torchvision {kind} state dict; missing {missing}, "
                         f"unexpected {unexpected}, mis-shaped {mismatched}")
    dropped = sorted(k for k in state if k not in keep)
    return {prefix + k: v.detach().to(torch.float32).contiguous() for k, v in keep.items()}, dropped


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("kind", choices=["resnet34", "vgg19"])
    p.add_argument("input", help="torchvision state dict (.pth)")
    p.add_argument("output", help="safetensors file to write")
    args = p.parse_args(argv)
    try:
        tensors, dropped = convert(args.kind, read_state_dict(args.input), args.input)
        save(args.output, tensors, metadata={"source": os.path.basename(args.input), "kind": args.kind})
    except (ValueError, OSError, RuntimeError) as e:
        print(f"convert_torchvision.py: error: {e}", file=sys.stderr)
        return 2
    print(f"wrote {len(tensors)} tensors to {args.output}; dropped {len(dropped)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
