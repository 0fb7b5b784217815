"""The order of pushes: images that share layers must not upload them side by side.

Pushed at once, two images built on the same base would both upload it, since neither push
knows about the other; on a shared machine that costs more than pushing one after the other.
So images go in waves: first "seed" images that together hold every layer shared by two or
more images (one wave holds seeds with no layer in common), then everything else side by side.
By then each shared layer is in the registry, and the engine mounts it instead of uploading it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence


def push_waves(layers: Mapping[str, frozenset[str]]) -> list[list[str]]:
    """Groups image names (in their given order) into waves pushed one after the other."""
    counts = Counter(layer for image_layers in layers.values() for layer in image_layers)
    uncovered = {layer for layer, count in counts.items() if count > 1}
    seeds: list[str] = []
    while uncovered:
        best = max(
            (name for name in layers if name not in seeds),
            key=lambda name: len(layers[name] & uncovered),
        )
        seeds.append(best)
        uncovered -= layers[best]
    waves: list[list[str]] = []
    for seed in seeds:
        # After the last wave holding a seed it overlaps, so a layer is uploaded once.
        after = max(
            (index for index, wave in enumerate(waves) if _overlaps(seed, wave, layers)),
            default=-1,
        )
        if after + 1 == len(waves):
            waves.append([])
        waves[after + 1].append(seed)
    rest = [name for name in layers if name not in seeds]
    if rest:
        waves.append(rest)
    order = list(layers)
    return [sorted(wave, key=order.index) for wave in waves]


def _overlaps(name: str, wave: Sequence[str], layers: Mapping[str, frozenset[str]]) -> bool:
    return any(layers[name] & layers[other] for other in wave)
