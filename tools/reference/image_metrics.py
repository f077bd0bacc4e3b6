#!/usr/bin/python3
"""Independent image metrics for freehead's evaluation tests: L1 on [0, 255] (NumPy),
PSNR and SSIM (scikit-image) of PNG pairs.

usage: image_metrics.py OUT.json A1.png B1.png [A2.png B2.png ...]
Writes a JSON list of {"l1", "psnr", "ssim"} per pair. SSIM is Wang et al.'s: a Gaussian
window of sigma 1.5, population moments, data range 255, channels averaged. Exits 77
(CTest: skipped) when scikit-image cannot be imported.
"""
import json
import sys

try:
    import numpy as np
    from PIL import Image
    from skimage.metrics import peak_signal_noise_ratio, structural_similarity
except ImportError as e:  # the test reports the skip with this line
    print(f"image_metrics.py: {e} (install python3-skimage and python3-pil)", file=sys.stderr)
    sys.exit(77)


def load(path):
    return np.asarray(Image.open(path).convert("RGB"), dtype=np.float64)


def main():
    out, files = sys.argv[1], sys.argv[2:]
    if len(files) % 2:
        sys.exit("image_metrics.py: PNG files come in pairs")
    results = []
    for a_path, b_path in zip(files[0::2], files[1::2]):
        a, b = load(a_path), load(b_path)
        results.append({
            "l1": float(np.mean(np.abs(a - b))),
            "psnr": float(peak_signal_noise_ratio(a, b, data_range=255)) if np.any(a != b) else None,
            "ssim": float(structural_similarity(a, b, gaussian_weights=True, sigma=1.5,
                                                use_sample_covariance=False, data_range=255,
                                                channel_axis=-1)),
        })
    with open(out, "w") as f:
        json.dump(results, f)


if __name__ == "__main__":
    main()
