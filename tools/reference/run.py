#!/usr/bin/python3
"""Driver of the PyTorch reference model (model.py) for freehead's network parity tests and
speed comparisons. Commands:

  init     --net NET --config CFG --seed N --out FILE [--inference]
  forward  --net NET --config CFG --weights FILE --inputs FILE --output FILE
           [--train] [--backward] [--device cpu|cuda] [--threads N] [--dtype float32|float64]
           [--seed N]
  bench    --net NET --config CFG [--batch B] [--threads N] [--device cpu|cuda] [--sources M]
           [--compile] [--train] [--repeats R] [--warmup W] [--tf32]
  cost     --net NET --config CFG [--batch B] [--sources M]

NET: kp, gaze, gen, gen-nshot, disc_image, disc_mouth, vgg. CFG: paper, small, tiny.
Files are safetensors, tensors NCHW float32, names as in docs/reference-model.md.
Errors go to stderr with exit status 2.
"""
import argparse
import json
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "oracle"))

import torch  # noqa: E402

import model as M  # noqa: E402
from safetensors_io import load, save  # noqa: E402


class CliError(ValueError):
    pass


DTYPES = {"float32": torch.float32, "float64": torch.float64}


def setup_device(args, allow_tf32=False):
    torch.set_num_threads(max(1, args.threads))
    if args.device == "cuda":
        if not torch.cuda.is_available():
            raise CliError("--device cuda: torch reports no usable CUDA device")
        # TF32 would round conv and matmul inputs to 10 mantissa bits: not a float32 reference.
        torch.backends.cuda.matmul.allow_tf32 = allow_tf32
        torch.backends.cudnn.allow_tf32 = allow_tf32
    return torch.device(args.device)


def default_sources(args):
    if args.sources is not None:
        if args.sources < 1:
            raise CliError(f"--sources must be at least 1, got {args.sources}")
        return args.sources
    return 2 if args.net == "gen-nshot" else 1


# ---- init -------------------------------------------------------------------------------------

def cmd_init(args):
    torch.manual_seed(args.seed)
    net = M.build(args.net, args.config)
    state = M.file_state(net, M.PREFIXES[args.net], spectral_state=not args.inference)
    save(args.out, state, metadata={"net": args.net, "config": args.config, "seed": args.seed,
                                    "init": "pytorch-default", "torch": torch.__version__})
    print(json.dumps({"net": args.net, "config": args.config, "tensors": len(state),
                      "parameters": sum(p.numel() for p in net.parameters())}))


# ---- forward ----------------------------------------------------------------------------------

def check_inputs(net_name, tensors, path):
    names = M.input_names(net_name)
    missing = [n for n in names if n not in tensors]
    unknown = [n for n in tensors if n not in names and not n.startswith("cotangent.")]
    if missing or unknown:
        raise CliError(f"{path}: {net_name} takes inputs {names}; missing {missing}, unknown {unknown}")
    for name, (rank, axis, channels) in M.input_channels(net_name).items():
        t = tensors[name]
        if t.dim() != rank or t.shape[axis] != channels or not t.is_floating_point():
            raise CliError(f"{path}: input '{name}' is {list(t.shape)} {t.dtype}; {net_name} expects a float "
                           f"tensor of rank {rank} with {channels} channels on axis {axis}")
    if net_name in ("gen", "gen-nshot"):
        s, k, tgt = tensors["sources"], tensors["source_sketches"], tensors["target_sketch"]
        if s.shape != k.shape or tgt.shape[0] != s.shape[0] or tgt.shape[2:] != s.shape[3:]:
            raise CliError(f"{path}: sources {list(s.shape)}, source_sketches {list(k.shape)} and target_sketch "
                           f"{list(tgt.shape)} disagree (expected [B,M,3,H,W], [B,M,3,H,W], [B,3,H,W])")


def cmd_forward(args):
    device = setup_device(args)
    dtype = DTYPES[args.dtype]
    torch.manual_seed(args.seed)  # only draws: u of spectral convs loaded without weight_orig
    net = M.build(args.net, args.config, init=False)  # every value comes from the file
    prefix = M.PREFIXES[args.net]
    weights, _ = load(args.weights)
    M.load_file_state(net, weights, prefix, source=args.weights)
    tensors, _ = load(args.inputs)
    check_inputs(args.net, tensors, args.inputs)

    net = net.to(device=device, dtype=dtype)
    net.train(args.train)
    if isinstance(net, M.Generator):
        net.exact_warp = True
    leaves = M.leaf_tensors(net, prefix, args.train)
    for t in leaves.values():
        t.requires_grad_(args.backward)
    xs = {n: tensors[n].to(device=device, dtype=dtype).requires_grad_(args.backward) for n in M.input_names(args.net)}

    with torch.set_grad_enabled(args.backward):
        outs = net(**xs)
    result = {name: t.detach().float().cpu() for name, t in outs.items()}

    if args.backward:
        cotangents = {k[len("cotangent."):]: v for k, v in tensors.items() if k.startswith("cotangent.")}
        if not cotangents:
            raise CliError(f"{args.inputs}: --backward needs at least one 'cotangent.<output>' tensor "
                           f"(outputs: {sorted(outs)})")
        loss = 0
        for name, cot in cotangents.items():
            if name not in outs:
                raise CliError(f"{args.inputs}: 'cotangent.{name}' names no output (outputs: {sorted(outs)})")
            if list(cot.shape) != list(outs[name].shape):
                raise CliError(f"{args.inputs}: 'cotangent.{name}' is {list(cot.shape)}, "
                               f"output '{name}' is {list(outs[name].shape)}")
            loss = loss + (outs[name] * cot.to(device=device, dtype=dtype)).sum()
        if torch.is_tensor(loss) and loss.requires_grad:
            loss.backward()
        for name, t in leaves.items():
            result["grad." + name] = (t.grad if t.grad is not None else torch.zeros_like(t)).detach().float().cpu()
        for name, t in xs.items():
            result["grad.input." + name] = (t.grad if t.grad is not None else torch.zeros_like(t)).detach().float().cpu()
    if args.train:
        for name, t in M.state_buffers(net, prefix).items():
            result["state." + name] = t.detach().float().cpu()
    save(args.output, result, metadata={"net": args.net, "config": args.config, "train": int(args.train),
                                         "backward": int(args.backward), "dtype": args.dtype,
                                         "device": args.device, "torch": torch.__version__})


# ---- bench ------------------------------------------------------------------------------------

def cmd_bench(args):
    device = setup_device(args, allow_tf32=args.tf32)
    sources = default_sources(args)
    torch.manual_seed(0)
    net = M.build(args.net, args.config)
    if args.weights:  # the same weights as the run it is compared with
        weights, _ = load(args.weights)
        M.load_file_state(net, weights, M.PREFIXES[args.net], source=args.weights)
    net = net.to(device)
    net.train(args.train)
    gen = torch.Generator().manual_seed(1)
    if args.inputs:
        tensors, _ = load(args.inputs)
        check_inputs(args.net, tensors, args.inputs)
        xs = {n: tensors[n].to(device) for n in M.input_names(args.net)}
    else:
        xs = M.random_inputs(args.net, args.config, args.batch, sources, generator=gen, device=device)
    fn = net
    if args.compile:
        if not hasattr(torch, "compile"):
            raise CliError(f"--compile needs torch 2 (this is torch {torch.__version__})")
        fn = torch.compile(net)

    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize()

    def timed(step):
        for _ in range(args.warmup):
            step()
        sync()
        times = []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            step()
            sync()
            times.append((time.perf_counter() - t0) * 1e3)
        return statistics.median(times)

    def forward():
        with torch.no_grad():
            fn(**xs)

    with torch.no_grad():
        shapes = {k: v.shape for k, v in net(**xs).items()}
    cot = {k: torch.randn(s, generator=gen).to(device) for k, s in shapes.items()}
    xs_grad = {k: v.clone().requires_grad_(True) for k, v in xs.items()}

    def forward_backward():
        for p in net.parameters():
            p.grad = None
        for x in xs_grad.values():
            x.grad = None
        outs = fn(**xs_grad)
        sum((outs[k] * cot[k]).sum() for k in outs).backward()

    forward_ms = timed(forward)
    forward_backward_ms = timed(forward_backward)
    print(json.dumps({"net": args.net, "config": args.config, "batch": args.batch, "sources": sources,
                      "threads": torch.get_num_threads(), "device": args.device,
                      "mode": "train" if args.train else "eval", "compile": bool(args.compile),
                      "tf32": bool(args.tf32), "torch": torch.__version__,
                      "forward_ms": round(forward_ms, 4), "forward_backward_ms": round(forward_backward_ms, 4),
                      "repeats": args.repeats, "warmup": args.warmup}))


# ---- cost -------------------------------------------------------------------------------------

def cmd_cost(args):
    sources = default_sources(args)
    torch.manual_seed(0)
    net = M.build(args.net, args.config).eval()
    macs = {"conv": 0, "linear": 0}

    def conv_hook(module, inputs, output):
        kh, kw = module.kernel_size
        macs["conv"] += output.numel() * module.in_channels * kh * kw // getattr(module, "groups", 1)

    def linear_hook(module, inputs, output):
        macs["linear"] += output.numel() * module.in_features

    for m in net.modules():
        if isinstance(m, (torch.nn.Conv2d, M.SpectralConv2d)):
            m.register_forward_hook(conv_hook)
        elif isinstance(m, torch.nn.Linear):
            m.register_forward_hook(linear_hook)
    xs = M.random_inputs(args.net, args.config, args.batch, sources)
    with torch.no_grad():
        net(**xs)
    state = M.file_state(net, M.PREFIXES[args.net])
    total = macs["conv"] + macs["linear"]
    print(json.dumps({"net": args.net, "config": args.config, "batch": args.batch, "sources": sources,
                      "inputs": {k: list(v.shape) for k, v in xs.items()},
                      "parameters": sum(p.numel() for p in net.parameters()),
                      "file_tensors": len(state), "file_values": sum(t.numel() for t in state.values()),
                      "forward_macs": total, "forward_gflops": round(2 * total / 1e9, 6),
                      "conv_gflops": round(2 * macs["conv"] / 1e9, 6),
                      "linear_gflops": round(2 * macs["linear"] / 1e9, 6)}))


# ---- command line -----------------------------------------------------------------------------

def parser():
    p = argparse.ArgumentParser(prog="run.py", description="PyTorch reference of freehead's networks")
    sub = p.add_subparsers(dest="command", required=True)

    def common(sp):
        sp.add_argument("--net", required=True, choices=M.NETS)
        sp.add_argument("--config", required=True, choices=list(M.CONFIGS))

    sp = sub.add_parser("init", help="write PyTorch-initialised weights")
    common(sp)
    sp.add_argument("--seed", type=int, required=True)
    sp.add_argument("--out", required=True)
    sp.add_argument("--inference", action="store_true",
                    help="leave out spectral-norm weight_orig/weight_u (effective weight only)")

    sp = sub.add_parser("forward", help="run the network on named inputs")
    common(sp)
    sp.add_argument("--weights", required=True)
    sp.add_argument("--inputs", required=True)
    sp.add_argument("--output", required=True)
    sp.add_argument("--train", action="store_true", help="train mode: batch statistics, power iteration")
    sp.add_argument("--backward", action="store_true", help="gradients of sum(output * cotangent)")
    sp.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    sp.add_argument("--threads", type=int, default=1)
    sp.add_argument("--dtype", default="float32", choices=list(DTYPES))
    sp.add_argument("--seed", type=int, default=0, help="draws u of spectral convs loaded without weight_orig")

    sp = sub.add_parser("bench", help="median ms per forward and per forward+backward")
    common(sp)
    sp.add_argument("--batch", type=int, default=1)
    sp.add_argument("--threads", type=int, default=1)
    sp.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    sp.add_argument("--sources", type=int, default=None, help="generator sources M (default 1; gen-nshot 2)")
    sp.add_argument("--compile", action="store_true", help="torch.compile (torch 2 only)")
    sp.add_argument("--train", action="store_true", help="time in train mode (default eval)")
    sp.add_argument("--repeats", type=int, default=7)
    sp.add_argument("--warmup", type=int, default=2)
    sp.add_argument("--tf32", action="store_true", help="allow TF32 on CUDA (off by default)")
    sp.add_argument("--weights", default=None, help="weights file (default: fresh initialisation)")
    sp.add_argument("--inputs", default=None, help="inputs file (default: random inputs)")

    sp = sub.add_parser("cost", help="parameter count and forward GFLOPs (conv and linear MACs x 2)")
    common(sp)
    sp.add_argument("--batch", type=int, default=1)
    sp.add_argument("--sources", type=int, default=None, help="generator sources M (default 1; gen-nshot 2)")
    return p


COMMANDS = {"init": cmd_init, "forward": cmd_forward, "bench": cmd_bench, "cost": cmd_cost}


def main(argv=None):
    args = parser().parse_args(argv)
    try:
        COMMANDS[args.command](args)
    except (CliError, M.WeightsError, ValueError, OSError, RuntimeError) as e:
        print(f"run.py {args.command}: error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
