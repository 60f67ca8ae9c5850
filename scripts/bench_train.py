"""PyTorch baseline for scripts/bench-train.sh and scripts/gpu-bench.sh: training steps
(forward + CE loss + backward + SGD step) of the same models as nclab's
(crates/nclab-train/src/models.rs), written the way a PyTorch user writes them (eager mode,
torch.optim.SGD with its default multi-tensor implementation, torch.autocast for bf16,
torch.channels_last).

Step mode (default): a fixed random batch. Prints one line in the format of
crates/nclab-train/examples/bench_step.rs:
`pytorch MODEL WIDTH median_ms=... mean_ms=... min_ms=... cpu_ms=... steps=N ... device=D`.
Epoch mode (--epoch N): epochs over N random u8 images resident on the device, each batch
gathered by a shuffled index, normalised (x / 255 - mean) / std on the device, optionally
randomly cropped (padding 4) and flipped there; prints `epoch_s=... ms_per_step=...` (median of
the epochs after the first).
Benchmark baseline only; never part of the product."""

import argparse
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class Mlp(nn.Module):
    """Linear -> BatchNorm1d -> ReLU blocks, then the linear classifier."""

    def __init__(self, in_dim, widths, num_classes):
        super().__init__()
        blocks, dim = [], in_dim
        for w in widths:
            blocks += [nn.Linear(dim, w), nn.BatchNorm1d(w), nn.ReLU()]
            dim = w
        self.hidden = nn.Sequential(*blocks)
        self.classifier = nn.Linear(dim, num_classes)

    def forward(self, x):
        h = self.hidden(x.flatten(1))
        return h, self.classifier(h)


class BasicBlock(nn.Module):
    def __init__(self, in_c, out_c, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(in_c, out_c, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_c)
        self.conv2 = nn.Conv2d(out_c, out_c, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_c)
        self.shortcut = None
        if stride != 1 or in_c != out_c:
            self.shortcut = nn.Sequential(nn.Conv2d(in_c, out_c, 1, stride, 0, bias=False), nn.BatchNorm2d(out_c))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + (x if self.shortcut is None else self.shortcut(x)))


class Resnet18(nn.Module):
    """CIFAR ResNet-18: 3x3 stride-1 stem, no max-pool, stages w-2w-4w-8w, global average pool."""

    def __init__(self, in_channels, width, num_classes):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, width, 3, 1, 1, bias=False)
        self.bn = nn.BatchNorm2d(width)
        blocks, in_c = [], width
        for mult, stride in [(1, 1), (2, 2), (4, 2), (8, 2)]:
            blocks += [BasicBlock(in_c, mult * width, stride), BasicBlock(mult * width, mult * width, 1)]
            in_c = mult * width
        self.blocks = nn.Sequential(*blocks)
        self.classifier = nn.Linear(8 * width, num_classes)

    def forward(self, x):
        h = F.relu(self.bn(self.conv(x)))
        h = F.adaptive_avg_pool2d(self.blocks(h), (1, 1)).flatten(1)
        return h, self.classifier(h)


def cpu_seconds():
    """User + system CPU time of this process, from /proc/self/stat (clock ticks of 1/100 s),
    read the same way as crates/nclab-train/examples/bench_step.rs does."""
    with open("/proc/self/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / 100.0


def crop_flip(x):
    """Random crop of the 4-padded batch and random horizontal flip, per image, on its device."""
    b, c, h, w = x.shape
    dev = x.device
    padded = F.pad(x, (4, 4, 4, 4))
    dy = torch.randint(9, (b,), device=dev)
    dx = torch.randint(9, (b,), device=dev)
    flip = torch.randint(2, (b,), device=dev)
    ys = torch.arange(h, device=dev)
    xs = torch.arange(w, device=dev)
    rows = (ys[None, :] + dy[:, None]).view(b, 1, h, 1).expand(b, c, h, w + 8)
    cols = torch.where(flip[:, None] == 1, w - 1 - xs[None, :], xs[None, :]) + dx[:, None]
    cols = cols.view(b, 1, 1, w).expand(b, c, h, w)
    return padded.gather(2, rows).gather(3, cols)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model", choices=["mlp", "resnet18"])
    ap.add_argument("--width", type=int, default=64)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    ap.add_argument("--precision", choices=["f32", "bf16"], default="f32")
    ap.add_argument("--channels-last", action="store_true")
    ap.add_argument("--epoch", type=int, default=0, help="images per epoch (epoch mode)")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--augment", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    dev = torch.device(a.device)
    torch.backends.cudnn.benchmark = True
    if a.model == "mlp":
        net, shape = Mlp(784, [1024, 1024, 1024], 10), (1, 28, 28)
    else:
        net, shape = Resnet18(3, a.width, 10), (3, 32, 32)
    fmt = torch.channels_last if a.channels_last and a.model == "resnet18" else torch.contiguous_format
    net = net.to(dev, memory_format=fmt).train()
    opt = torch.optim.SGD(net.parameters(), lr=0.0679, momentum=0.9, weight_decay=5e-4)
    amp = torch.autocast(dev.type, dtype=torch.bfloat16, enabled=a.precision == "bf16")

    def step(xs, ys):
        with amp:
            _, logits = net(xs)
        loss = F.cross_entropy(logits.float(), ys)
        opt.zero_grad()
        loss.backward()
        opt.step()

    def sync():
        if dev.type == "cuda":
            torch.cuda.synchronize()

    tail = (f"threads={a.threads} device={a.device} precision={a.precision} "
            f"channels_last={str(a.channels_last).lower()}")
    if a.epoch:
        images = torch.randint(256, (a.epoch,) + shape, dtype=torch.uint8, device=dev)
        labels = torch.randint(10, (a.epoch,), device=dev)
        mean = images.float().mean(dim=(0, 2, 3)).view(1, -1, 1, 1) / 255
        std = (images.float() / 255).std(dim=(0, 2, 3)).view(1, -1, 1, 1)
        steps = a.epoch // a.batch
        times = []
        for e in range(max(a.epochs, 2)):
            sync()
            start = time.perf_counter()
            order = torch.randperm(a.epoch, device=dev)
            for s in range(steps):
                idx = order[s * a.batch:(s + 1) * a.batch]
                x = images[idx]
                if a.augment:
                    x = crop_flip(x)
                x = ((x.float() / 255 - mean) / std).contiguous(memory_format=fmt)
                step(x, labels[idx])
            sync()
            if e > 0:
                times.append(time.perf_counter() - start)
        epoch_s = statistics.median(times)
        print(f"pytorch {a.model} {a.width} epoch_s={epoch_s:.3f} ms_per_step={1e3 * epoch_s / steps:.3f} "
              f"steps={steps} images={a.epoch} augment={str(a.augment).lower()} {tail}")
        return

    xs = torch.randn((a.batch,) + shape, device=dev).contiguous(memory_format=fmt)
    ys = torch.randint(10, (a.batch,), device=dev)
    times = []
    cpu_start = 0.0
    for i in range(a.warmup + a.steps):
        if i == a.warmup:
            cpu_start = cpu_seconds()
        start = time.perf_counter()
        step(xs, ys)
        sync()
        if i >= a.warmup:
            times.append((time.perf_counter() - start) * 1e3)
    cpu_ms = (cpu_seconds() - cpu_start) * 1e3 / a.steps
    print(
        f"pytorch {a.model} {a.width} median_ms={statistics.median(times):.3f} "
        f"mean_ms={statistics.fmean(times):.3f} min_ms={min(times):.3f} cpu_ms={cpu_ms:.3f} steps={a.steps} "
        f"{tail}"
    )


if __name__ == "__main__":
    main()
