"""The grid of the scaling runs and the markdown tables of ``timing.py``."""

from __future__ import annotations

LABELS = {
    "gradient": ("vanilla gradient", "Captum Saliency"),
    "seg_grad_cam": ("Seg-Grad-CAM (bottleneck)", "pytorch-grad-cam GradCAM"),
    "hires_cam": ("HiRes-CAM (bottleneck)", "pytorch-grad-cam HiResCAM"),
    "xgrad_cam": ("XGrad-CAM (bottleneck)", "pytorch-grad-cam XGradCAM"),
    "smoothgrad": ("SmoothGrad", "Captum NoiseTunnel(Saliency)"),
    "integrated_gradients": ("integrated gradients", "Captum IntegratedGradients"),
    "occlusion": ("occlusion", "Captum Occlusion"),
    "seg_ablation_cam": (
        "Seg-Ablation-CAM (bottleneck)",
        "pytorch-grad-cam AblationCAM",
    ),
    "grad_cam_plus_plus": (
        "Grad-CAM++ (bottleneck)",
        "pytorch-grad-cam GradCAMPlusPlus",
    ),
    "layer_cam": ("LayerCAM (bottleneck)", "pytorch-grad-cam LayerCAM"),
    "eigen_cam": ("Eigen-CAM (bottleneck)", "pytorch-grad-cam EigenCAM"),
    "score_cam": ("Score-CAM (bottleneck)", "pytorch-grad-cam ScoreCAM"),
    "mask_ablation": ("mask ablation (4x4 grid)", "Captum FeatureAblation"),
}


def table(rows) -> str:
    lines = [
        "| batch x side | method | ours ms/batch | peer (fastest config) "
        "| peer ms/batch | ratio ours/peer | ratio of minima | our first call s "
        "| Pearson |",
        "| --- | --- | ---: | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        pearson = "" if r["pearson_mean"] is None else f"{r['pearson_mean']:.6f}"
        lines.append(
            f"| {r.get('batch', '?')} x {r.get('image_size', '?')} px "
            f"| {r['ours_label']} | {r['ours_ms']:.1f} | {r['peer_label']} "
            f"[{r['peer_best_config']}] | {r['peer_best_ms']:.1f} | {r['ratio']:.2f} "
            f"| {r['ratio_of_minima']:.2f} | {r['ours_compile_s']:.1f} | {pearson} |"
        )
    return "\n".join(lines)


SCALING = {
    "batch": [
        ({"batch": b, "size": 64}, ("gradient", "seg_grad_cam", "smoothgrad"))
        for b in (1, 8, 32)
    ],
    "image size": [
        ({"batch": 8, "size": s}, ("gradient", "seg_grad_cam")) for s in (64, 128, 256)
    ],
    "samples / steps": [
        (
            {"batch": 8, "size": 64, "options": {"samples": n, "steps": n}},
            ("smoothgrad", "integrated_gradients"),
        )
        for n in (8, 32, 128)
    ],
    "channels ablated (layer)": [
        (
            {"batch": 8, "size": 64, "options": {"layer": layer}},
            ("seg_ablation_cam",),
        )
        for layer in ("enc0", "enc1", "enc2", "bottleneck")
    ],
    "windows (16 px patch, stride)": [
        (
            {"batch": 8, "size": 64, "options": {"patch": 16, "stride": st}},
            ("occlusion",),
        )
        for st in (16, 8, 4)
    ],
}


def scaling_table(scaling_rows: dict) -> str:
    """Markdown: one line per (factor value, method), ratio ours/peer."""
    lines = [
        "| factor | setting | method | ours ms | peer ms [fastest config] "
        "| ratio | ratio of minima | our first call s |",
        "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for factor, rows in scaling_rows.items():
        for r in rows:
            setting = f"batch {r['batch']}, {r['image_size']}px"
            if r["options"]:
                setting += ", " + ", ".join(f"{k}={v}" for k, v in r["options"].items())
            label = r["ours_label"].split(" (")[0]  # the layer is in the setting
            lines.append(
                f"| {factor} | {setting} | {label} | {r['ours_ms']:.1f} "
                f"| {r['peer_best_ms']:.1f} [{r['peer_best_config']}] "
                f"| {r['ratio']:.2f} | {r['ratio_of_minima']:.2f} "
                f"| {r['ours_compile_s']:.1f} |"
            )
    return "\n".join(lines)
