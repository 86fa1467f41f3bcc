"""Exercise checks for notebook 11 (scaling up and out).

Each check runs the learner's function on a small model of its own, on the CPU, and compares
what it did to the model with what the correct recipe does; where the result matches a known
mistake (a loss not divided, a step taken too often, a scaler skipped, shards cut in blocks),
the message names that mistake.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.utils.data import DistributedSampler

from utils.checks import Mismatch, as_number, call, exercise, expect, expect_close

NOTEBOOK = "11_scaling_up_and_out"

LEARNING_RATE = 0.5


def _small_model() -> nn.Sequential:
    """A tiny network without batch norm, so that micro-batches add up exactly to the large batch."""
    torch.manual_seed(11)
    return nn.Sequential(nn.Linear(6, 8), nn.Tanh(), nn.Linear(8, 3))


def _batch(size: int = 12) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(5)
    return torch.randn(size, 6, generator=generator), torch.randint(0, 3, (size,), generator=generator)


def _parameters(model: nn.Module) -> torch.Tensor:
    return torch.cat([p.detach().flatten() for p in model.parameters()])


def _close(a: torch.Tensor, b: torch.Tensor, rtol: float = 1e-4, atol: float = 1e-6) -> bool:
    return a.shape == b.shape and bool(torch.allclose(a.double(), b.double(), rtol=rtol, atol=atol))


# --------------------------------------------------------------------------- gradient accumulation


def _accumulate(images, labels, micro_batches: int, calls: int, mistake: str | None = None) -> torch.Tensor:
    """The parameters after ``calls`` accumulation steps, done right or with one known ``mistake``."""
    model = _small_model()
    optimizer = torch.optim.SGD(model.parameters(), lr=LEARNING_RATE)
    loss_fn = nn.CrossEntropyLoss()
    for _ in range(calls):
        if mistake != "no zero_grad":
            optimizer.zero_grad()
        for chunk_images, chunk_labels in zip(images.chunk(micro_batches), labels.chunk(micro_batches)):
            if mistake == "zero_grad inside the loop":
                optimizer.zero_grad()
            loss = loss_fn(model(chunk_images), chunk_labels)
            (loss if mistake == "not divided" else loss / micro_batches).backward()
        optimizer.step()
    return _parameters(model)


@exercise(
    NOTEBOOK,
    hints=[
        (
            "Cut the batch into equal pieces and let each piece add its share to the .grad of every parameter: "
            "backward() adds to what is already there. The optimiser steps once, when all pieces are in. Each "
            "piece's mean loss must count for its share of the batch, not for the whole batch."
        ),
        (
            "Start with optimizer.zero_grad(). Loop over zip(images.chunk(micro_batches), labels.chunk(micro_batches)): "
            "compute the piece's loss with loss_fn, divide it by micro_batches, call backward() on that. After "
            "the loop, optimizer.step() once. Return the sum of the divided losses as a float (.item())."
        ),
    ],
)
def accumulation_step(accumulation_step) -> str:
    images, labels = _batch()
    full_loss = nn.CrossEntropyLoss()(_small_model()(images), labels).item()
    for micro_batches in (3, 4):
        size = len(images) // micro_batches
        model = _small_model()
        optimizer = torch.optim.SGD(model.parameters(), lr=LEARNING_RATE)
        seen, steps = [], []
        model.register_forward_pre_hook(lambda module, args, seen=seen: seen.append(len(args[0])))
        optimizer.register_step_post_hook(lambda *args, steps=steps: steps.append(1))
        returned = call(accumulation_step, model, nn.CrossEntropyLoss(), optimizer, images, labels, micro_batches)
        first_call_sizes, first_call_steps = list(seen), len(steps)
        call(accumulation_step, model, nn.CrossEntropyLoss(), optimizer, images, labels, micro_batches)

        if first_call_sizes == [len(images)]:
            raise Mismatch(
                f"the model saw the whole batch of {len(images)} at once: split it into micro_batches pieces "
                "(tensor.chunk) and run the model on one piece at a time"
            )
        expect(
            first_call_sizes == [size] * micro_batches,
            f"with micro_batches={micro_batches}, the model saw batches of sizes {first_call_sizes}; expected "
            f"{micro_batches} pieces of {size}",
        )
        if first_call_steps == micro_batches:
            raise Mismatch(
                f"the optimiser took {micro_batches} steps for one batch: call optimizer.step() once, after "
                "the loop, when every micro-batch has added its gradient"
            )
        expect(first_call_steps == 1, f"the optimiser took {first_call_steps} steps for one batch; expected 1")

        got = _parameters(model)
        if not _close(got, _accumulate(images, labels, micro_batches, calls=2)):
            if _close(got, _accumulate(images, labels, micro_batches, 2, "not divided")):
                raise Mismatch(
                    f"the step was {micro_batches} times too large: each micro-batch's loss is a mean over its "
                    f"own images, so divide it by micro_batches ({micro_batches}) before backward()"
                )
            if _close(got, _accumulate(images, labels, micro_batches, 2, "zero_grad inside the loop")):
                raise Mismatch(
                    "only the last micro-batch's gradient reached the step: zero the gradients once, before "
                    "the loop, not inside it"
                )
            if _close(got, _accumulate(images, labels, micro_batches, 2, "no zero_grad")):
                raise Mismatch(
                    "the second call still held the gradients of the first: call optimizer.zero_grad() at the "
                    "start, before the micro-batches add theirs"
                )
            expect_close(got, _accumulate(images, labels, micro_batches, 2), name="the parameters after two steps")

        loss = as_number(returned, name=f"the loss returned with micro_batches={micro_batches}")
        if math.isclose(loss, micro_batches * full_loss, rel_tol=1e-4):
            raise Mismatch(
                f"the returned loss is {micro_batches} times the batch's mean loss: add up the divided losses, "
                "not the undivided ones"
            )
        expect(
            math.isclose(loss, full_loss, rel_tol=1e-4),
            f"the returned loss is {loss:.6g}; the mean loss of the whole batch is {full_loss:.6g}: return the sum "
            "of the divided micro-batch losses",
        )
    return "The same step as one large batch, with a fraction of the activations in memory at a time."


# --------------------------------------------------------------------------- mixed precision


def _amp_reference(images, labels, amp_dtype, use_scaler: bool, mistake: str | None = None) -> torch.Tensor:
    """The parameters after two mixed-precision steps, done right or with one known ``mistake``."""
    model = _small_model()
    optimizer = torch.optim.SGD(model.parameters(), lr=LEARNING_RATE)
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0**10, enabled=use_scaler)
    loss_fn = nn.CrossEntropyLoss()
    for p in model.parameters():
        p.grad = torch.full_like(p, 0.5)
    for _ in range(2):
        if mistake != "no zero_grad":
            optimizer.zero_grad()
        with torch.autocast("cpu", dtype=amp_dtype):
            loss = loss_fn(model(images), labels)
        scaler.scale(loss).backward()
        if mistake == "optimizer.step":
            optimizer.step()  # and no scaler.update(), which would complain
        else:
            scaler.step(optimizer)
            scaler.update()
    return _parameters(model)


def _run_amp_step(amp_step, *args):
    """Call the learner's step, turning GradScaler's own complaints into what to change."""
    try:
        return call(amp_step, *args)
    except Mismatch as error:
        text = str(error)
        if "No inf checks were recorded" in text:
            raise Mismatch(
                "scaler.update() found no scaler.step(optimizer) before it: take the step through the scaler, "
                "which first divides the gradients by the scale"
            ) from None
        if "_scale is None" in text:
            raise Mismatch(
                "scaler.step(optimizer) found gradients that were never multiplied by the scale: call "
                "scaler.scale(loss).backward() instead of loss.backward()"
            ) from None
        if "has already been called since the last update" in text:
            raise Mismatch(
                "the second step failed because scaler.update() was not called after scaler.step(optimizer): "
                "the scaler must adjust its scale after every step"
            ) from None
        raise


@exercise(
    NOTEBOOK,
    hints=[
        (
            "Only the forward pass and the loss belong inside the autocast block; the gradients flow back outside it. "
            "With float16, the loss must be multiplied by the scaler's factor before the backward pass, and the "
            "optimiser must step through the scaler, which divides the gradients again and skips the step if any "
            "is infinite. The parameters themselves stay in float32."
        ),
        (
            "Zero the gradients; inside `with torch.autocast(images.device.type, dtype=amp_dtype):` compute "
            "loss = loss_fn(model(images), labels); then, outside the block, scaler.scale(loss).backward(), "
            "scaler.step(optimizer) and scaler.update(). Return loss.item()."
        ),
    ],
)
def amp_step(amp_step) -> str:
    images, labels = _batch()
    for amp_dtype, use_scaler in ((torch.bfloat16, False), (torch.float16, True)):
        dtype_name = str(amp_dtype).removeprefix("torch.")
        model = _small_model()
        optimizer = torch.optim.SGD(model.parameters(), lr=LEARNING_RATE)
        scaler = torch.amp.GradScaler("cpu", init_scale=2.0**10, enabled=use_scaler)
        for p in model.parameters():
            p.grad = torch.full_like(p, 0.5)  # left over from an earlier step: the function must clear them
        output_dtypes = []
        model[0].register_forward_hook(lambda module, args, output, dtypes=output_dtypes: dtypes.append(output.dtype))
        returned = _run_amp_step(amp_step, model, nn.CrossEntropyLoss(), optimizer, scaler, images, labels, amp_dtype)
        _run_amp_step(amp_step, model, nn.CrossEntropyLoss(), optimizer, scaler, images, labels, amp_dtype)

        changed = sorted({str(p.dtype) for p in model.parameters() if p.dtype != torch.float32})
        if changed:
            raise Mismatch(
                f"the model's parameters became {', '.join(changed)}: autocast leaves them in float32 and casts "
                "per operation, so do not convert the model itself"
            )
        if output_dtypes and output_dtypes[0] == torch.float32:
            raise Mismatch(
                "the model's first layer computed in float32: run the forward pass inside "
                "torch.autocast(images.device.type, dtype=amp_dtype)"
            )
        expect(
            output_dtypes[0] == amp_dtype,
            f"with amp_dtype={dtype_name} the first layer computed in {output_dtypes[0]}: pass dtype=amp_dtype "
            "to torch.autocast",
        )

        got = _parameters(model)
        expected = _amp_reference(images, labels, amp_dtype, use_scaler)
        if not _close(got, expected, rtol=1e-3, atol=1e-3):
            if use_scaler and _close(got, _amp_reference(images, labels, amp_dtype, True, "optimizer.step")):
                raise Mismatch(
                    "the optimiser stepped with gradients still multiplied by the scale (1024 here): call "
                    "scaler.step(optimizer) instead of optimizer.step()"
                )
            if _close(got, _amp_reference(images, labels, amp_dtype, use_scaler, "no zero_grad"), 1e-3, 1e-3):
                raise Mismatch("the gradients left from an earlier step were added to the new ones: zero them first")
            expect_close(got, expected, name=f"the parameters after two {dtype_name} steps", rtol=1e-3, atol=1e-3)

        loss = as_number(returned, name=f"the loss returned with {dtype_name}")
        with torch.autocast("cpu", dtype=amp_dtype):
            reference_loss = nn.CrossEntropyLoss()(_small_model()(images), labels).item()
        expect(
            math.isclose(loss, reference_loss, rel_tol=2e-2),
            f"the returned loss with {dtype_name} is {loss:.4g}; expected about {reference_loss:.4g}: return the "
            "loss of this batch as a number",
        )
    return "The step works with bfloat16 (no scaler needed) and with float16 and a GradScaler."


# --------------------------------------------------------------------------- sharding by rank


def _distributed_sampler_shards(n_samples: int, world_size: int, epoch: int, seed: int) -> list[list[int]]:
    shards = []
    for rank in range(world_size):
        sampler = DistributedSampler(range(n_samples), num_replicas=world_size, rank=rank, shuffle=True, seed=seed)
        sampler.set_epoch(epoch)
        shards.append(list(sampler))
    return shards


def _as_indices(value, name: str) -> list[int]:
    if isinstance(value, torch.Tensor):
        expect(value.dim() == 1 and not value.is_floating_point(), f"{name} should be a 1-D tensor of whole numbers")
        return value.tolist()
    expect(isinstance(value, (list, tuple, range)), f"{name} should be a list of indices, not {type(value).__name__}")
    expect(all(isinstance(i, int) for i in value), f"{name} should hold whole numbers (ints)")
    return list(value)


@exercise(
    NOTEBOOK,
    hints=[
        (
            "Every rank must draw the same shuffled order (a generator seeded with seed + epoch), make it long enough "
            "to split evenly by repeating indices from its start, then deal it out like cards: each rank takes "
            "every world_size-th position, starting at its own rank."
        ),
        (
            "order = epoch_order(n_samples, epoch, seed).tolist(); per_rank = math.ceil(n_samples / world_size); "
            "total = per_rank * world_size. Extend order with its own first total - n_samples entries (repeat the "
            "whole list when that is not enough), then return order[rank:total:world_size]."
        ),
    ],
)
def shard_indices(shard_indices) -> str:
    settings = [(10, 3, 0, 0), (10, 3, 1, 0), (8, 2, 4, 7), (5, 4, 2, 0), (2, 5, 0, 0)]
    for n_samples, world_size, epoch, seed in settings:
        expected = _distributed_sampler_shards(n_samples, world_size, epoch, seed)
        got = [
            _as_indices(
                call(shard_indices, n_samples, rank, world_size, epoch, seed=seed), f"shard_indices(rank={rank})"
            )
            for rank in range(world_size)
        ]
        where = f"with {n_samples} samples on {world_size} ranks (epoch {epoch}, seed {seed})"
        per_rank = len(expected[0])
        sizes = [len(shard) for shard in got]
        if sizes == [n_samples // world_size] * world_size and per_rank != n_samples // world_size:
            raise Mismatch(
                f"{where}, each rank got {n_samples // world_size} indices and {n_samples % world_size} of the "
                f"samples were dropped: every rank must get ceil(n_samples / world_size) = {per_rank}, padding with "
                "indices repeated from the start of the shuffled order, as DistributedSampler does"
            )
        expect(
            sizes == [per_rank] * world_size,
            f"{where}, the shards have sizes {sizes}: every rank must get the same number, "
            f"ceil(n_samples / world_size) = {per_rank}, so that all ranks take the same number of steps",
        )
        covered = set().union(*map(set, got))
        expect(covered <= set(range(n_samples)), f"{where}, some indices are outside 0..{n_samples - 1}")
        if n_samples >= world_size and sum(sizes) - len(covered) > per_rank * world_size - n_samples:
            raise Mismatch(
                f"{where}, the shards overlap more than the padding explains: every rank must shuffle with the "
                "same seed (seed + epoch), so that all ranks agree on one order before each takes its part"
            )
        missing = sorted(set(range(n_samples)) - covered)
        expect(not missing, f"{where}, samples {missing} are on no rank: together the shards must cover every sample")
        if got == expected:
            continue
        unshuffled = [
            list(DistributedSampler(range(n_samples), num_replicas=world_size, rank=r, shuffle=False))
            for r in range(world_size)
        ]
        if got == unshuffled:
            raise Mismatch(f"{where}, the indices are not shuffled: draw the order with torch.randperm first")
        if epoch > 0 and got == _distributed_sampler_shards(n_samples, world_size, 0, seed):
            raise Mismatch(
                f"{where}, the order is that of epoch 0: seed the generator with seed + epoch, so that every "
                "epoch is shuffled differently"
            )
        total = per_rank * world_size
        order = torch.randperm(n_samples, generator=torch.Generator().manual_seed(seed + epoch)).tolist()
        padded = (order * math.ceil(total / n_samples))[:total]
        if got == [padded[r * per_rank : (r + 1) * per_rank] for r in range(world_size)]:
            raise Mismatch(
                f"{where}, each rank took a contiguous block of the order: DistributedSampler deals the indices "
                "out like cards, rank r taking positions r, r + world_size, r + 2 * world_size and so on"
            )
        if sorted(index for shard in got for index in shard) != sorted(padded):
            raise Mismatch(
                f"{where}, the padding differs from DistributedSampler's: it repeats the first "
                f"{total - n_samples} indices of the shuffled order (the whole order again, if that is too short)"
            )
        rank = next(r for r in range(world_size) if got[r] != expected[r])
        raise Mismatch(f"{where}, rank {rank} got {got[rank]}; DistributedSampler gives it {expected[rank]}")
    return "Identical to DistributedSampler's shards, padding included, for the five settings tried."
