"""A plain PyTorch loop: an MLP on MNIST trained with hierarchical cross-entropy, its collapse
tracked by nclab into a run directory, and an nclab report at the end.

    python examples/pytorch_loop.py --epochs 10 --out runs/pytorch-mnist-hxe
    python examples/pytorch_loop.py --epochs 2 --per-class 50      # a try in seconds
"""

import argparse, os, shutil, subprocess

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import nclab
from nclab.torch import HXELoss, Tracker

p = argparse.ArgumentParser()
p.add_argument("--epochs", type=int, default=10)
p.add_argument("--per-class", type=int, default=0, help="images per class (0: all)")
p.add_argument("--out", default="runs/pytorch-mnist-hxe")
args = p.parse_args()
torch.manual_seed(0)

def loader(split, shuffle):
    x, y, _ = nclab.load_dataset("mnist", split)              # uint8 N x 1 x 28 x 28, int64
    if args.per_class:
        keep = torch.cat([torch.nonzero(torch.from_numpy(y) == c)[: args.per_class, 0] for c in range(10)])
        x, y = x[keep.numpy()], y[keep.numpy()]
    x = (torch.from_numpy(x).float().flatten(1) / 255 - 0.1307) / 0.3081
    return DataLoader(TensorDataset(x, torch.from_numpy(y)), batch_size=128, shuffle=shuffle)

train, test = loader("train", True), loader("test", False)
# Digits grouped by shape: round, straight, curved.
digits = nclab.Hierarchy.from_edges(
    [("digit", "round"), ("digit", "straight"), ("digit", "curved")]
    + [("round", d) for d in "0689"] + [("straight", d) for d in "147"] + [("curved", d) for d in "235"],
    classes=[str(d) for d in range(10)])
model = nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 10))
loss = HXELoss(digits, alpha=0.5)
opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=args.epochs)
tracker = Tracker(args.out, digits, f"log:{min(args.epochs, 10)}", num_epochs=args.epochs, loss=loss,
                  config={"data": {"name": "mnist"}, "model": {"kind": "mlp"}})

for epoch in range(1, args.epochs + 1):
    correct = seen = 0  # the running training accuracy, which dates the terminal phase
    for x, y in train:
        opt.zero_grad()
        out = model(x)
        loss(out, y).backward()
        opt.step()
        correct, seen = correct + (out.argmax(1) == y).sum().item(), seen + len(y)
    row = tracker.epoch(epoch, model, train, test, lr=sched.get_last_lr()[0], running_acc=correct / seen)
    sched.step()
    if row:
        print(f"epoch {epoch}: train acc {row['train_acc']:.4f}  test acc {row['test_acc']:.4f}  "
              f"NC1 {row['nc1']:.4f}  mistake severity {row['mistake_severity']}")

repo = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
nclab_cli = shutil.which("nclab") or os.path.join(repo, "target", "release", "nclab")
subprocess.run([nclab_cli, "report", args.out, "--out", args.out + "-report"], check=True)
