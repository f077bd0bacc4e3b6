"""PyTorch peers of the CUDA conv benchmarks (bench_cuda_conv.cpp) on the same GPU.

PyTorch runs the same convolutions channels-last (NHWC activations and [out, kh, kw, in]
weights in memory, like freehead) through cuDNN; the gradients go through aten's
convolution_backward with an output mask, so each peer computes exactly what its benchmark
computes. The benchmark's last argument is the freehead backend (0 own, 1 own-tc, 2 cudnn,
3 cudnn-tc); the TF32 ones are compared with PyTorch running with TF32 allowed (the peer's
`tf32` attribute, which torch_compare.py applies), the others with TF32 off.
"""
import torch
import torch.nn.functional as F

TF32_BACKENDS = (1, 3)


def cuda_randn(*shape, channels_last=False):
    t = torch.randn(*shape, device="cuda")
    return t.contiguous(memory_format=torch.channels_last) if channels_last else t


def with_precision(fn, tf32):
    fn.tf32 = tf32
    return fn


def conv_inputs(n, h, cin, cout, k, stride, pad):
    x = cuda_randn(n, cin, h, h, channels_last=True)
    w = cuda_randn(cout, cin, k, k, channels_last=True)
    b = cuda_randn(cout)
    ho = (h + 2 * pad - k) // stride + 1
    grad = cuda_randn(n, cout, ho, ho, channels_last=True)
    return x, w, b, grad


def conv_forward_peer(n, h, cin, cout, k, stride, pad, backend):
    x, w, b, _ = conv_inputs(n, h, cin, cout, k, stride, pad)
    return with_precision(lambda: F.conv2d(x, w, b, stride=stride, padding=pad), backend in TF32_BACKENDS)


def conv_backward_peer(mask):
    def peer(n, h, cin, cout, k, stride, pad, backend):
        x, w, _, grad = conv_inputs(n, h, cin, cout, k, stride, pad)
        return with_precision(
            lambda: torch.ops.aten.convolution_backward(grad, x, w, None, [stride, stride], [pad, pad], [1, 1], False,
                                                        [0, 0], 1, mask),
            backend in TF32_BACKENDS)
    return peer


def copy_peer(mib):
    src = torch.rand((mib << 20) // 4, device="cuda")
    dst = torch.empty_like(src)
    return lambda: dst.copy_(src)


def gemm_peer(precision, n):
    dtype = torch.bfloat16 if precision == 2 else torch.float32
    a = torch.randn(n, n, device="cuda", dtype=dtype)
    b = torch.randn(n, n, device="cuda", dtype=dtype)
    return with_precision(lambda: torch.mm(a, b), precision == 1)


# benchmark family -> function(*int args) -> zero-argument callable doing the same work
PEERS = {
    "BM_cuda_conv2d_forward": conv_forward_peer,
    "BM_cuda_conv2d_backward_input": conv_backward_peer([True, False, False]),
    "BM_cuda_conv2d_backward_weight": conv_backward_peer([False, True, False]),
    "BM_cuda_ceiling_copy": copy_peer,
    "BM_cuda_ceiling_gemm": gemm_peer,
}
