import math

import torch

from tests.exercise_cases import Case, not_implemented

# --------------------------------------------------------------------------- accumulation_step


def _accumulate_right(model, loss_fn, optimizer, images, labels, micro_batches):
    optimizer.zero_grad()
    total = 0.0
    for x, y in zip(images.chunk(micro_batches), labels.chunk(micro_batches)):
        loss = loss_fn(model(x), y) / micro_batches
        loss.backward()
        total += loss.item()
    optimizer.step()
    return total


def _accumulate_weighted(model, loss_fn, optimizer, images, labels, micro_batches):
    # Weights each piece by its share of the batch: right for uneven pieces too.
    model.zero_grad(set_to_none=True)
    total = torch.zeros(())
    for x, y in zip(images.split(len(images) // micro_batches), labels.split(len(images) // micro_batches)):
        loss = loss_fn(model(x), y) * len(x) / len(images)
        loss.backward()
        total += loss.detach()
    optimizer.step()
    return total


def _accumulate_not_divided(model, loss_fn, optimizer, images, labels, micro_batches):
    optimizer.zero_grad()
    total = 0.0
    for x, y in zip(images.chunk(micro_batches), labels.chunk(micro_batches)):
        loss = loss_fn(model(x), y)
        loss.backward()
        total += loss.item() / micro_batches
    optimizer.step()
    return total


def _accumulate_step_inside(model, loss_fn, optimizer, images, labels, micro_batches):
    total = 0.0
    for x, y in zip(images.chunk(micro_batches), labels.chunk(micro_batches)):
        optimizer.zero_grad()
        loss = loss_fn(model(x), y) / micro_batches
        loss.backward()
        optimizer.step()
        total += loss.item()
    return total


def _accumulate_zero_inside(model, loss_fn, optimizer, images, labels, micro_batches):
    total = 0.0
    for x, y in zip(images.chunk(micro_batches), labels.chunk(micro_batches)):
        optimizer.zero_grad()
        loss = loss_fn(model(x), y) / micro_batches
        loss.backward()
        total += loss.item()
    optimizer.step()
    return total


def _accumulate_no_zero(model, loss_fn, optimizer, images, labels, micro_batches):
    total = 0.0
    for x, y in zip(images.chunk(micro_batches), labels.chunk(micro_batches)):
        loss = loss_fn(model(x), y) / micro_batches
        loss.backward()
        total += loss.item()
    optimizer.step()
    return total


def _whole_batch(model, loss_fn, optimizer, images, labels, micro_batches):
    optimizer.zero_grad()
    loss = loss_fn(model(images), labels)
    loss.backward()
    optimizer.step()
    return loss.item()


def _returns_undivided_sum(model, loss_fn, optimizer, images, labels, micro_batches):
    optimizer.zero_grad()
    total = 0.0
    for x, y in zip(images.chunk(micro_batches), labels.chunk(micro_batches)):
        loss = loss_fn(model(x), y)
        (loss / micro_batches).backward()
        total += loss.item()
    optimizer.step()
    return total


def _returns_nothing(model, loss_fn, optimizer, images, labels, micro_batches):
    _accumulate_right(model, loss_fn, optimizer, images, labels, micro_batches)


# --------------------------------------------------------------------------- amp_step


def _amp_right(model, loss_fn, optimizer, scaler, images, labels, amp_dtype):
    optimizer.zero_grad()
    with torch.autocast(images.device.type, dtype=amp_dtype):
        loss = loss_fn(model(images), labels)
    scaler.scale(loss).backward()
    scaler.step(optimizer)
    scaler.update()
    return loss.item()


def _amp_loss_outside(model, loss_fn, optimizer, scaler, images, labels, amp_dtype):
    # The loss computed outside the block, from the low-precision logits: acceptable.
    optimizer.zero_grad(set_to_none=True)
    with torch.autocast(images.device.type, dtype=amp_dtype):
        logits = model(images)
    loss = loss_fn(logits.float(), labels)
    scaler.scale(loss).backward()
    scaler.step(optimizer)
    scaler.update()
    return loss


def _amp_backward_inside(model, loss_fn, optimizer, scaler, images, labels, amp_dtype):
    # Backward inside the block is not recommended, but gives the same gradients.
    optimizer.zero_grad()
    with torch.autocast(images.device.type, dtype=amp_dtype):
        loss = loss_fn(model(images), labels)
        scaler.scale(loss).backward()
    scaler.step(optimizer)
    scaler.update()
    return loss.item()


def _amp_no_autocast(model, loss_fn, optimizer, scaler, images, labels, amp_dtype):
    optimizer.zero_grad()
    loss = loss_fn(model(images), labels)
    scaler.scale(loss).backward()
    scaler.step(optimizer)
    scaler.update()
    return loss.item()


def _amp_fixed_dtype(model, loss_fn, optimizer, scaler, images, labels, amp_dtype):
    optimizer.zero_grad()
    with torch.autocast(images.device.type, dtype=torch.bfloat16):
        loss = loss_fn(model(images), labels)
    scaler.scale(loss).backward()
    scaler.step(optimizer)
    scaler.update()
    return loss.item()


def _amp_model_converted(model, loss_fn, optimizer, scaler, images, labels, amp_dtype):
    model.to(amp_dtype)
    optimizer.zero_grad()
    loss = loss_fn(model(images.to(amp_dtype)), labels)
    loss.backward()
    optimizer.step()
    return loss.item()


def _amp_plain_step(model, loss_fn, optimizer, scaler, images, labels, amp_dtype):
    optimizer.zero_grad()
    with torch.autocast(images.device.type, dtype=amp_dtype):
        loss = loss_fn(model(images), labels)
    scaler.scale(loss).backward()
    optimizer.step()
    return loss.item()


def _amp_plain_step_then_update(model, loss_fn, optimizer, scaler, images, labels, amp_dtype):
    optimizer.zero_grad()
    with torch.autocast(images.device.type, dtype=amp_dtype):
        loss = loss_fn(model(images), labels)
    scaler.scale(loss).backward()
    optimizer.step()
    scaler.update()
    return loss.item()


def _amp_not_scaled(model, loss_fn, optimizer, scaler, images, labels, amp_dtype):
    optimizer.zero_grad()
    with torch.autocast(images.device.type, dtype=amp_dtype):
        loss = loss_fn(model(images), labels)
    loss.backward()
    scaler.step(optimizer)
    scaler.update()
    return loss.item()


def _amp_no_update(model, loss_fn, optimizer, scaler, images, labels, amp_dtype):
    optimizer.zero_grad()
    with torch.autocast(images.device.type, dtype=amp_dtype):
        loss = loss_fn(model(images), labels)
    scaler.scale(loss).backward()
    scaler.step(optimizer)
    return loss.item()


def _amp_no_zero_grad(model, loss_fn, optimizer, scaler, images, labels, amp_dtype):
    with torch.autocast(images.device.type, dtype=amp_dtype):
        loss = loss_fn(model(images), labels)
    scaler.scale(loss).backward()
    scaler.step(optimizer)
    scaler.update()
    return loss.item()


def _amp_returns_scaled(model, loss_fn, optimizer, scaler, images, labels, amp_dtype):
    optimizer.zero_grad()
    with torch.autocast(images.device.type, dtype=amp_dtype):
        loss = loss_fn(model(images), labels)
    scaled = scaler.scale(loss)
    scaled.backward()
    scaler.step(optimizer)
    scaler.update()
    return scaled.item()


# --------------------------------------------------------------------------- shard_indices


def _order(n_samples, epoch, seed):
    return torch.randperm(n_samples, generator=torch.Generator().manual_seed(seed + epoch)).tolist()


def _shard_right(n_samples, rank, world_size, epoch, seed=0):
    order = _order(n_samples, epoch, seed)
    total = math.ceil(n_samples / world_size) * world_size
    order = (order * math.ceil(total / n_samples))[:total]
    return order[rank:total:world_size]


def _shard_right_tensor(n_samples, rank, world_size, epoch, seed=0):
    # Draws from the global generator after seeding it: the same permutation, returned as a tensor.
    torch.manual_seed(seed + epoch)
    order = torch.randperm(n_samples)
    per_rank = -(-n_samples // world_size)
    while len(order) < per_rank * world_size:
        order = torch.cat([order, order[: per_rank * world_size - len(order)]])
    return order[rank::world_size]


def _shard_blocks(n_samples, rank, world_size, epoch, seed=0):
    order = _order(n_samples, epoch, seed)
    per_rank = math.ceil(n_samples / world_size)
    order = (order * 2)[: per_rank * world_size]
    return order[rank * per_rank : (rank + 1) * per_rank]


def _shard_drop_remainder(n_samples, rank, world_size, epoch, seed=0):
    order = _order(n_samples, epoch, seed)
    per_rank = n_samples // world_size
    return order[: per_rank * world_size][rank::world_size]


def _shard_uneven(n_samples, rank, world_size, epoch, seed=0):
    return _order(n_samples, epoch, seed)[rank::world_size]


def _shard_pad_last(n_samples, rank, world_size, epoch, seed=0):
    order = _order(n_samples, epoch, seed)
    total = math.ceil(n_samples / world_size) * world_size
    order = order + [order[-1]] * (total - n_samples)
    return order[rank:total:world_size]


def _shard_seed_by_rank(n_samples, rank, world_size, epoch, seed=0):
    order = _order(n_samples, epoch, seed + rank)
    total = math.ceil(n_samples / world_size) * world_size
    order = (order * math.ceil(total / n_samples))[:total]
    return order[rank:total:world_size]


def _shard_no_epoch(n_samples, rank, world_size, epoch, seed=0):
    return _shard_right(n_samples, rank, world_size, 0, seed)


def _shard_no_shuffle(n_samples, rank, world_size, epoch, seed=0):
    total = math.ceil(n_samples / world_size) * world_size
    order = (list(range(n_samples)) * math.ceil(total / n_samples))[:total]
    return order[rank:total:world_size]


def _shard_floats(n_samples, rank, world_size, epoch, seed=0):
    return [float(i) for i in _shard_right(n_samples, rank, world_size, epoch, seed)]


CASES = {
    "accumulation_step": Case(
        correct=[_accumulate_right, _accumulate_weighted],
        wrong=[
            (_accumulate_not_divided, "times too large"),
            (_accumulate_step_inside, "steps for one batch"),
            (_accumulate_zero_inside, "only the last micro-batch"),
            (_accumulate_no_zero, "still held the gradients"),
            (_whole_batch, "whole batch of 12 at once"),
            (_returns_undivided_sum, "times the batch's mean loss"),
            (_returns_nothing, "is None"),
        ],
        stub=not_implemented,
    ),
    "amp_step": Case(
        correct=[_amp_right, _amp_loss_outside, _amp_backward_inside],
        wrong=[
            (_amp_no_autocast, "computed in float32"),
            (_amp_fixed_dtype, "pass dtype=amp_dtype"),
            (_amp_model_converted, "parameters became torch.bfloat16"),
            (_amp_plain_step, "still multiplied by the scale"),
            (_amp_plain_step_then_update, "found no scaler.step"),
            (_amp_not_scaled, "never multiplied by the scale"),
            (_amp_no_update, "scaler.update() was not called"),
            (_amp_no_zero_grad, "left from an earlier step"),
            (_amp_returns_scaled, "the returned loss"),
        ],
        stub=not_implemented,
    ),
    "shard_indices": Case(
        correct=[_shard_right, _shard_right_tensor],
        wrong=[
            (_shard_blocks, "contiguous block"),
            (_shard_drop_remainder, "samples were dropped"),
            (_shard_uneven, "the shards have sizes"),
            (_shard_pad_last, "the padding differs"),
            (_shard_seed_by_rank, "overlap"),
            (_shard_no_epoch, "the order is that of epoch 0"),
            (_shard_no_shuffle, "not shuffled"),
            (_shard_floats, "whole numbers"),
        ],
        stub=not_implemented,
    ),
}
