"""Write the PyTorch fixtures of the state-dict import test (tests/data/torch/).

The published score networks (docs/science.md §3) are written here again in PyTorch, at a
small size, with the parameter names of the published code (`fc0`, `fc0_w`, `fc0_sparse`,
`embed.0.W`, `embed.1`, `conv{k}_{x,w,sparse}.weights{1,2}` as complex64,
`w{k}_{x,w,sparse}` 1×1 convolutions, `dense0.dense`, `transformation_net.{0,2,4}`,
`fc1`, `fc2`). For each variant (`fno2d`: ω + sensor field; `fno2d_nosparse`: ω only)
the script saves a seeded random state dict with `torch.save` and, beside it, a JSON file
holding fixed inputs and the score PyTorch computes for them. Two damaged copies of the
ω-only dict (a renamed key, a wrong shape) test the importer's errors.

Needs PyTorch (any 2.x; the CPU wheel is enough). Run from the repository root:
    python3 scripts/torch_fixture.py
"""
import json
import math
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

OUT = os.path.join("tests", "data", "torch")
WIDTH, MODES, LAYERS, EMBED, PROJ, N, SIGMA = 6, 3, 4, 16, 128, 16, 26.0


class FourierTime(nn.Module):
    """Fixed Gaussian frequencies W (stored, not trained); features [sin 2πtW, cos 2πtW]."""

    def __init__(self, embed, scale=30.0):
        super().__init__()
        self.W = nn.Parameter(torch.randn(embed // 2) * scale, requires_grad=False)

    def forward(self, t):
        arg = t[:, None] * self.W[None, :] * 2 * math.pi
        return torch.cat([torch.sin(arg), torch.cos(arg)], dim=-1)


class TimeToChannels(nn.Module):
    def __init__(self, embed, width):
        super().__init__()
        self.dense = nn.Linear(embed, width)

    def forward(self, e):
        return self.dense(e)[:, :, None, None]


class Spectral(nn.Module):
    """Truncated rFFT2, complex channel mix on the kept corner modes, inverse rFFT2."""

    def __init__(self, width, modes):
        super().__init__()
        s = 1.0 / (width * width)
        self.m = modes
        self.weights1 = nn.Parameter(s * torch.rand(width, width, modes, modes, dtype=torch.cfloat))
        self.weights2 = nn.Parameter(s * torch.rand(width, width, modes, modes, dtype=torch.cfloat))

    def forward(self, v):
        b, c, h, w = v.shape
        m = self.m
        vf = torch.fft.rfft2(v)
        out = torch.zeros(b, self.weights1.shape[1], h, w // 2 + 1, dtype=torch.cfloat)
        out[:, :, :m, :m] = torch.einsum("bixy,ioxy->boxy", vf[:, :, :m, :m], self.weights1)
        out[:, :, -m:, :m] = torch.einsum("bixy,ioxy->boxy", vf[:, :, -m:, :m], self.weights2)
        return torch.fft.irfft2(out, s=(h, w))


class ScoreFno(nn.Module):
    def __init__(self, sparse):
        super().__init__()
        self.sparse = sparse
        self.branches = ["x", "w"] + (["sparse"] if sparse else [])
        self.fc0 = nn.Linear(3, WIDTH)
        if sparse:
            self.fc0_sparse = nn.Linear(3, WIDTH)
        self.fc0_w = nn.Linear(3, WIDTH)
        self.embed = nn.Sequential(FourierTime(EMBED), nn.Linear(EMBED, EMBED))
        for br in self.branches:
            for k in range(LAYERS):
                setattr(self, f"conv{k}_{br}", Spectral(WIDTH, MODES))
                setattr(self, f"w{k}_{br}", nn.Conv2d(WIDTH, WIDTH, 1))
        self.dense0 = TimeToChannels(EMBED, WIDTH)
        cat = WIDTH * len(self.branches)
        self.transformation_net = nn.Sequential(
            nn.Conv2d(cat, 2 * WIDTH, 1), nn.GELU(),
            nn.Conv2d(2 * WIDTH, WIDTH, 1), nn.GELU(),
            nn.Conv2d(WIDTH, WIDTH, 1), nn.GELU())
        self.fc1 = nn.Linear(WIDTH, PROJ)
        self.fc2 = nn.Linear(PROJ, 1)

    @staticmethod
    def coords(b, n):
        # numpy.linspace(0, 1, n) along each axis, as the published code's grid
        g = torch.linspace(0, 1, n)
        gx = g.reshape(1, n, 1, 1).repeat(b, 1, n, 1)
        gy = g.reshape(1, 1, n, 1).repeat(b, n, 1, 1)
        return torch.cat([gx, gy], dim=-1)

    def pipeline(self, name, lift, field, temb):
        b, n = field.shape[0], field.shape[1]
        v = lift(torch.cat([field[..., None], self.coords(b, n)], dim=-1)).permute(0, 3, 1, 2)
        for k in range(LAYERS):
            v = getattr(self, f"conv{k}_{name}")(v) + getattr(self, f"w{k}_{name}")(v)
            if temb is not None:
                v = v + temb
            if k < LAYERS - 1:
                v = F.gelu(v)
        return v

    def forward(self, t, x, w, obs=None):
        e = self.embed(t)
        temb = self.dense0(e * torch.sigmoid(e))
        parts = [self.pipeline("x", self.fc0, x, temb), self.pipeline("w", self.fc0_w, w, None)]
        if self.sparse:
            parts.append(self.pipeline("sparse", self.fc0_sparse, obs, None))
        v = self.transformation_net(torch.cat(parts, dim=1)).permute(0, 2, 3, 1)
        out = self.fc2(F.gelu(self.fc1(v)))[..., 0]
        std = torch.sqrt((SIGMA ** (2 * t) - 1.0) / 2.0 / math.log(SIGMA))
        return out / std[:, None, None]


def flat(t):
    return [float(v) for v in t.detach().reshape(-1)]


def main():
    os.makedirs(OUT, exist_ok=True)
    for seed, (name, sparse) in enumerate([("fno2d_nosparse", False), ("fno2d", True)]):
        torch.manual_seed(100 + seed)
        net = ScoreFno(sparse).eval()
        t = torch.tensor([0.05, 0.4])
        x = torch.randn(2, N, N) * 3.0
        w = torch.randn(2, N, N)
        obs = torch.randn(2, N, N) if sparse else None
        with torch.no_grad():
            score = net(t, x, w, obs)
        path = os.path.join(OUT, f"{name}.pth")
        torch.save(net.state_dict(), path)
        case = {"variant": name, "n": N, "t": flat(t), "x": flat(x), "omega": flat(w),
                "obs": flat(obs) if sparse else None, "score": flat(score),
                "max_abs_score": float(score.abs().max())}
        with open(os.path.join(OUT, f"{name}.json"), "w") as f:
            json.dump(case, f)
        print(f"{path}: {sum(p.numel() for p in net.state_dict().values())} numbers, "
              f"max |score| {case['max_abs_score']:.4g}")
        if not sparse:
            sd = net.state_dict()
            bad_key = dict(sd)
            bad_key["conv2_x.weightz1"] = bad_key.pop("conv2_x.weights1")
            torch.save(bad_key, os.path.join(OUT, "bad_key.pth"))
            bad_shape = dict(sd)
            bad_shape["fc1.weight"] = torch.zeros(PROJ, WIDTH + 1)
            torch.save(bad_shape, os.path.join(OUT, "bad_shape.pth"))


if __name__ == "__main__":
    main()
