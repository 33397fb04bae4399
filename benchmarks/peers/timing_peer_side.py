"""The PyTorch side of the timing benchmark (see ``timing_workers.py``).

Captum and pytorch-grad-cam on the PyTorch twin of our U-Net, with the weights,
images and targets the JAX side wrote to ``spec.npz``; every peer
configuration of a method as a zero-argument callable.
"""

from __future__ import annotations

import numpy as np
from timing_common import (
    CAM_METHODS,
    DEFAULT_OPTIONS,
    SEGMENT_CELLS,
    config_from_dict,
    unflatten,
)


class PeerSide:
    """Captum / pytorch-grad-cam on the PyTorch twin with the spec's weights."""

    def __init__(
        self, spec_path: str, config_fields: dict, *, threads: int, device: str = "cpu"
    ):
        import torch
        from torch_unet import TorchUNet, load_flax_params

        if device == "cuda" and not torch.cuda.is_available():
            raise SystemExit(
                f"--device cuda: torch {torch.__version__} has no usable CUDA "
                "device, so the peer side would run on the CPU; not a GPU comparison"
            )
        self.device = torch.device(device)
        torch.set_num_threads(threads)
        self.config = config_from_dict(config_fields)
        arrays = np.load(spec_path)
        self.x = arrays["x"]
        self.classes, self.masks = arrays["classes"], arrays["masks"]
        twin = load_flax_params(TorchUNet(self.config), unflatten(arrays)).eval()
        twin = twin.to(self.device)
        nchw = torch.from_numpy(np.ascontiguousarray(self.x.transpose(0, 3, 1, 2)))
        nchw = nchw.to(self.device)
        import copy

        self.twins = {
            "channels_last": copy.deepcopy(twin).to(memory_format=torch.channels_last),
            "nchw": twin,
        }
        self.inputs = {
            "channels_last": nchw.contiguous(memory_format=torch.channels_last),
            "nchw": nchw,
        }
        self.cls_t = torch.from_numpy(self.classes.astype(np.int64)).to(self.device)
        self.mask_t = torch.from_numpy(self.masks).to(self.device)
        self.sigma = float(self.x.max() - self.x.min())

    def device_name(self) -> str:
        import platform

        import torch

        if self.device.type == "cuda":
            return f"cuda: {torch.cuda.get_device_name(self.device)}"
        return f"cpu: {platform.processor() or platform.machine()}"

    def score_fn(self, layout: str):
        """Captum forward: ``[N] = sum over the ROI of the class logits``.

        Class ids and masks come as additional forward args, so Captum expands
        them with the inputs (noise samples, integration steps, windows).
        """
        import torch

        twin = self.twins[layout]

        def score(inp, cls, mask):
            logits = twin(inp)
            chosen = logits[torch.arange(inp.shape[0]), cls]
            return (chosen * mask).sum(dim=(1, 2))

        return score

    def cam_targets(self):
        from pytorch_grad_cam.utils.model_targets import SemanticSegmentationTarget

        return [
            SemanticSegmentationTarget(int(c), m)
            for c, m in zip(self.classes, self.masks, strict=True)
        ]

    def build(self, method: str, options: dict, *, quick: bool = False) -> dict:
        """``{config name: zero-argument callable}``, every peer configuration.

        On CUDA each callable ends with ``torch.cuda.synchronize()``, so a timed
        call includes the kernels it launched.
        """
        fns = self._build(method, options, quick=quick)
        if self.device.type != "cuda":
            return fns
        import torch

        def synchronized(fn):
            def run():
                out = fn()
                torch.cuda.synchronize()
                return out

            return run

        return {name: synchronized(fn) for name, fn in fns.items()}

    def _build(self, method: str, options: dict, *, quick: bool) -> dict:
        import torch
        from captum.attr import (
            FeatureAblation,
            IntegratedGradients,
            NoiseTunnel,
            Occlusion,
            Saliency,
        )
        from pytorch_grad_cam import (
            AblationCAM,
            EigenCAM,
            GradCAM,
            GradCAMPlusPlus,
            HiResCAM,
            LayerCAM,
            ScoreCAM,
            XGradCAM,
        )

        o = {**DEFAULT_OPTIONS, **options}
        fns = {}
        one_pass = ("gradient", "seg_grad_cam", "hires_cam", "xgrad_cam")
        layouts = ("channels_last",) + (("nchw",) if method in one_pass else ())
        args = (self.cls_t, self.mask_t)  # expanded by Captum with the inputs
        c, batch = self.config.in_channels, self.x.shape[0]
        for layout in layouts:
            x = self.inputs[layout]
            score = self.score_fn(layout)
            twin = self.twins[layout]
            if method == "gradient":
                sal = Saliency(score)
                fns[layout] = lambda sal=sal, x=x: sal.attribute(
                    x, abs=False, additional_forward_args=args
                )
            elif method in CAM_METHODS:
                cls = {
                    "seg_grad_cam": GradCAM,
                    "hires_cam": HiResCAM,
                    "xgrad_cam": XGradCAM,
                    "seg_ablation_cam": AblationCAM,
                    "grad_cam_plus_plus": GradCAMPlusPlus,
                    "layer_cam": LayerCAM,
                    "eigen_cam": EigenCAM,
                    "score_cam": ScoreCAM,
                }[method]
                cam = cls(model=twin, target_layers=[twin.stages[o["layer"]]])
                targets = self.cam_targets()

                def run_cam(cam=cam, x=x, targets=targets):
                    return cam(input_tensor=x, targets=targets)

                if method == "seg_ablation_cam":
                    for bs in (32,) if quick else (16, 32, 64):
                        fns[f"{layout}, batch_size={bs}"] = (
                            lambda cam=cam, bs=bs, run_cam=run_cam: (
                                setattr(cam, "batch_size", bs),
                                run_cam(),
                            )[-1]
                        )
                else:
                    fns[layout] = run_cam
            elif method == "smoothgrad":
                nt = NoiseTunnel(Saliency(score))
                for bs in (None, 4, 8, 16):
                    fns[f"{layout}, nt_samples_batch_size={bs or 'all'}"] = (
                        lambda nt=nt, x=x, bs=bs: nt.attribute(
                            x,
                            nt_type="smoothgrad",
                            nt_samples=o["samples"],
                            nt_samples_batch_size=bs,
                            stdevs=o["noise_level"] * self.sigma,
                            abs=False,
                            additional_forward_args=args,
                        )
                    )
            elif method == "integrated_gradients":
                ig = IntegratedGradients(score)
                n = batch * o["steps"]
                for ibs in (None,) if quick else (None, n // 4, n // 2):
                    fns[f"{layout}, internal_batch_size={ibs or 'all'}"] = (
                        lambda ig=ig, x=x, ibs=ibs: ig.attribute(
                            x,
                            n_steps=o["steps"],
                            method="gausslegendre",
                            internal_batch_size=ibs,
                            additional_forward_args=args,
                        )
                    )
            elif method == "occlusion":
                occ = Occlusion(score)
                window = (c, o["patch"], o["patch"])
                strides = (c, o["stride"], o["stride"])
                for ppe in (4,) if quick else (1, 4, 8, 16):

                    def run_occ(occ=occ, x=x, ppe=ppe, window=window, strides=strides):
                        with torch.no_grad():
                            return occ.attribute(
                                x,
                                sliding_window_shapes=window,
                                strides=strides,
                                baselines=0.5,
                                perturbations_per_eval=ppe,
                                additional_forward_args=args,
                            )

                    fns[f"{layout}, perturbations_per_eval={ppe}"] = run_occ
            elif method == "mask_ablation":
                ablation = FeatureAblation(score)
                size = self.x.shape[1]
                rows = np.arange(size) * SEGMENT_CELLS // size
                segments = rows[:, None] * SEGMENT_CELLS + rows[None, :]
                feature_mask = torch.from_numpy(segments)[None, None].to(self.device)
                for ppe in (4,) if quick else (1, 4, 16):

                    def run_ablation(
                        ablation=ablation, x=x, ppe=ppe, feature_mask=feature_mask
                    ):
                        with torch.no_grad():
                            return ablation.attribute(
                                x,
                                baselines=0.0,
                                feature_mask=feature_mask,
                                perturbations_per_eval=ppe,
                                additional_forward_args=args,
                            )

                    fns[f"{layout}, perturbations_per_eval={ppe}"] = run_ablation
            else:
                raise ValueError(f"method: unknown {method!r}")
        return fns
