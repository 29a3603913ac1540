"""Torch modules of the CNN-based detectors (imported only where torch is needed)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


def _block(cin: int, cout: int, stride: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class SmallCNN(nn.Sequential):
    """Four conv blocks, global average pool, one logit."""

    def __init__(self, cin: int = 3, width: int = 32) -> None:
        super().__init__(
            _block(cin, width, 1), _block(width, 2 * width, 2), _block(2 * width, 4 * width, 2),
            _block(4 * width, 4 * width, 1), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4 * width, 1))


def npr_residual(x: torch.Tensor) -> torch.Tensor:
    """x - up(down(x)), nearest neighbour, factor 2 (Tan et al. 2024)."""
    down = x[:, :, ::2, ::2]
    return x - F.interpolate(down, scale_factor=2.0, mode="nearest")[:, :, : x.shape[2], : x.shape[3]]


class NPRNet(nn.Module):
    """Neighbouring-pixel-relationship residual fed to a small CNN."""

    def __init__(self, width: int = 32) -> None:
        super().__init__()
        self.net = SmallCNN(3, width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(npr_residual(x) * 4.0)


def dct_matrix(n: int) -> torch.Tensor:
    """Orthonormal DCT-II matrix D: D @ x is the DCT of column vector x."""
    k = torch.arange(n, dtype=torch.float64)[:, None]
    i = torch.arange(n, dtype=torch.float64)[None, :]
    d = torch.cos(math.pi * (2 * i + 1) * k / (2 * n)) * math.sqrt(2.0 / n)
    d[0] /= math.sqrt(2.0)
    return d.float()


class DCTNet(nn.Module):
    """Log-magnitude 2-D DCT of the grayscale tile (Frank et al. 2020) fed to a small CNN."""

    def __init__(self, size: int, width: int = 32) -> None:
        super().__init__()
        self.register_buffer("d", dct_matrix(size), persistent=False)
        self.net = SmallCNN(1, width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        g = (0.299 * x[:, 0] + 0.587 * x[:, 1] + 0.114 * x[:, 2]).float()
        c = self.d @ g @ self.d.T
        logmag = torch.log(c.abs() + 1e-3)
        return self.net(((logmag - logmag.mean(dim=(1, 2), keepdim=True)) / 2.0)[:, None].to(x.dtype))


def last_conv(module: nn.Module) -> nn.Module:
    """The last Conv2d of a module (the Grad-CAM target layer)."""
    convs = [m for m in module.modules() if isinstance(m, nn.Conv2d)]
    if not convs:
        raise ValueError(f"{type(module).__name__} has no Conv2d layer")
    return convs[-1]


class ModConv(nn.Module):
    """StyleGAN2's modulated convolution: weights scaled per input channel by a style, then demodulated."""

    def __init__(self, cin: int, cout: int, k: int, style_dim: int, demodulate: bool = True) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(cout, cin, k, k) / math.sqrt(cin * k * k))
        self.affine = nn.Linear(style_dim, cin)
        nn.init.ones_(self.affine.bias)
        self.demodulate, self.pad = demodulate, k // 2

    def forward(self, x: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        n, cin, h, w = x.shape
        wgt = self.weight[None] * self.affine(style)[:, None, :, None, None]  # N x out x in x k x k
        if self.demodulate:
            wgt = wgt * torch.rsqrt(wgt.pow(2).sum(dim=(2, 3, 4), keepdim=True) + 1e-8)
        out = F.conv2d(x.reshape(1, n * cin, h, w), wgt.reshape(-1, cin, *wgt.shape[3:]), padding=self.pad, groups=n)
        return out.reshape(n, -1, h, w)


def _up_block(kind: str, cin: int, cout: int) -> nn.Module:
    """One 2x up-sampling layer of the named kind (not ``modconv-skip``, which has its own stack)."""
    if kind == "transposed":
        return nn.ConvTranspose2d(cin, cout, 4, 2, 1)
    if kind == "pixelshuffle":
        return nn.Sequential(nn.Conv2d(cin, 4 * cout, 3, 1, 1), nn.PixelShuffle(2))
    return nn.Sequential(nn.Upsample(scale_factor=2, mode=kind), nn.Conv2d(cin, cout, 3, 1, 1))


class SimulatorNet(nn.Module):
    """Encoder (``stages`` stride-2 convs) and a generator-like decoder of ``stages`` 2x up-samplers."""

    def __init__(self, kind: str, width: int = 16, stages: int = 1) -> None:
        super().__init__()
        self.kind, self.stages = kind, stages
        chans = [width] + [min(width * 2 ** (i + 1), 4 * width) for i in range(stages)]
        enc: list[nn.Module] = [nn.Conv2d(3, width, 3, 1, 1), nn.ReLU(inplace=True)]
        for a, b in zip(chans, chans[1:]):
            enc += [nn.Conv2d(a, b, 4, 2, 1), nn.ReLU(inplace=True)]
        self.encoder = nn.Sequential(*enc)
        rev = chans[::-1]
        if kind == "modconv-skip":
            style = rev[0]
            self.convs = nn.ModuleList(ModConv(a, b, 3, style) for a, b in zip(rev, rev[1:]))
            self.to_rgb = nn.ModuleList(ModConv(c, 3, 1, style, demodulate=False) for c in rev)
        else:
            dec: list[nn.Module] = []
            for a, b in zip(rev, rev[1:]):
                dec += [_up_block(kind, a, b), nn.ReLU(inplace=True)]
            self.decoder = nn.Sequential(*dec, nn.Conv2d(width, 3, 3, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.encoder(x)
        if self.kind != "modconv-skip":
            return self.decoder(h)
        style = h.mean(dim=(2, 3))
        rgb = self.to_rgb[0](h, style)
        for conv, to_rgb in zip(self.convs, self.to_rgb[1:]):
            h = F.leaky_relu(conv(F.interpolate(h, scale_factor=2.0, mode="bilinear", align_corners=False), style), 0.2)
            rgb = F.interpolate(rgb, scale_factor=2.0, mode="bilinear", align_corners=False) + to_rgb(h, style)
        return rgb


def high_pass(x: torch.Tensor, keep_low: float = 0.25) -> torch.Tensor:
    """Remove the lowest frequencies (a centred square of side ``keep_low`` x the size): FreqNet's
    high-frequency representation, back in the spatial domain."""
    f = torch.fft.fftshift(torch.fft.fft2(x.float(), norm="ortho"), dim=(-2, -1))
    h, w = x.shape[-2:]
    rh, rw = max(1, int(h * keep_low / 2)), max(1, int(w * keep_low / 2))
    mask = torch.ones(h, w, device=x.device)
    mask[h // 2 - rh:h // 2 + rh, w // 2 - rw:w // 2 + rw] = 0
    return torch.fft.ifft2(torch.fft.ifftshift(f * mask, dim=(-2, -1)), norm="ortho").real.to(x.dtype)


class FrequencyConv(nn.Module):
    """FreqNet's frequency convolution: 1x1 convolutions on the amplitude and the phase spectrum of
    the features, recombined and brought back by the inverse FFT."""

    def __init__(self, ch: int) -> None:
        super().__init__()
        self.amp = nn.Sequential(nn.Conv2d(ch, ch, 1), nn.ReLU(inplace=True), nn.Conv2d(ch, ch, 1))
        self.pha = nn.Sequential(nn.Conv2d(ch, ch, 1), nn.ReLU(inplace=True), nn.Conv2d(ch, ch, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f = torch.fft.fft2(x.float(), norm="ortho")
        amp, pha = self.amp(f.abs()), self.pha(torch.angle(f))
        return torch.fft.ifft2(torch.polar(F.relu(amp) + 1e-6, pha), norm="ortho").real.to(x.dtype)


class FreqNet(nn.Module):
    """FreqNet (Tan et al., AAAI 2024), small: high-pass input, then conv blocks each followed by a
    feature-level high-pass and a frequency convolution, global pool, one logit."""

    def __init__(self, width: int = 32) -> None:
        super().__init__()
        chans = [3, width, 2 * width, 4 * width]
        self.blocks = nn.ModuleList(_block(a, b, 2 if i else 1) for i, (a, b) in enumerate(zip(chans, chans[1:])))
        self.freq = nn.ModuleList(FrequencyConv(c) for c in chans[1:])
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(chans[-1], 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = high_pass(x) * 4.0
        for block, freq in zip(self.blocks, self.freq):
            h = block(h)
            h = h + freq(high_pass(h))
        return self.head(h)
