"""Push waves: shared layers go up once, before the images that reuse them."""

from __future__ import annotations

from tamma_ops.publish.order import push_waves


def test_images_without_shared_layers_go_in_one_wave():
    layers = {"a": frozenset({"1"}), "b": frozenset({"2"}), "c": frozenset({"3"})}
    assert push_waves(layers) == [["a", "b", "c"]]


def test_the_image_holding_the_shared_base_goes_first():
    base = {"debian", "python"}
    layers = {
        "api": frozenset({*base, "api"}),
        "engine": frozenset({*base, "engine"}),
        "dashboard": frozenset({"nginx", "dash"}),
    }
    assert push_waves(layers) == [["api"], ["engine", "dashboard"]]


def test_seeds_with_disjoint_layers_share_a_wave_and_overlapping_ones_wait():
    layers = {
        "api": frozenset({"node", "deps", "api"}),
        "engine": frozenset({"node", "deps", "engine"}),
        "elsa": frozenset({"dotnet", "elsa"}),
        "dotnet-api": frozenset({"dotnet", "x"}),
        "dashboard": frozenset({"node", "dash"}),
    }
    waves = push_waves(layers)
    assert waves == [["api", "elsa"], ["engine", "dotnet-api", "dashboard"]]


def test_a_layer_shared_by_seeds_is_pushed_in_order():
    layers = {
        "a": frozenset({"base", "x", "y"}),
        "b": frozenset({"base", "z"}),
        "c": frozenset({"x", "y"}),
        "d": frozenset({"z"}),
    }
    waves = push_waves(layers)
    assert waves[0] == ["a"]
    assert waves[1] == ["b"]
    assert waves[2] == ["c", "d"]
