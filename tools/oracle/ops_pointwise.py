"""PyTorch reference of freehead's pointwise family: activations, clamps, softmax, losses."""
import torch
import torch.nn.functional as F

# op name -> f(list of input tensors, args dict) -> output tensor
OPS = {
    "leaky_relu": lambda x, a: F.leaky_relu(x[0], a["slope"]),
    "tanh": lambda x, a: torch.tanh(x[0]),
    "sigmoid": lambda x, a: torch.sigmoid(x[0]),
    "sqrt": lambda x, a: torch.sqrt(x[0]),
    "sin": lambda x, a: torch.sin(x[0]),
    "cos": lambda x, a: torch.cos(x[0]),
    "acos": lambda x, a: torch.acos(x[0]),
    "clamp": lambda x, a: torch.clamp(x[0], a["lo"], a["hi"]),
    # The gaze loss' composition, whose gradient freehead's fused op must reproduce.
    "acos_clamped": lambda x, a: torch.acos(torch.clamp(x[0], -1 + a["eps"], 1 - a["eps"])),
    "softmax": lambda x, a: torch.softmax(x[0], a["dim"]),
    "l1_loss": lambda x, a: F.l1_loss(x[0], x[1]),
    "mse_loss": lambda x, a: F.mse_loss(x[0], x[1]),
    "hinge_real": lambda x, a: torch.relu(1 - x[0]).mean(),
    "hinge_fake": lambda x, a: torch.relu(1 + x[0]).mean(),
    "hinge_generator": lambda x, a: -x[0].mean(),
}
